"""`readiness summary`: the scheduler's weekly job in the foreground, and `--preview`."""

from __future__ import annotations

from datetime import timedelta

import pytest
import respx
from platforms.contract import SPEC
from platforms.fake_github import INSTALLATION_ID, FakeGitHub
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner, Result

import bot.cli
from bot.store.db import session_scope
from bot.store.models import ItemEvent, WriteSlot

REPO = SPEC.full_name


@pytest.fixture
def fake(cli_github: FakeGitHub, db_url: str, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("READINESS_DATABASE_URL", db_url)
    return cli_github


def run(fake: FakeGitHub, *args: str) -> Result:
    bot.cli._register()
    with respx.mock(base_url=fake.host, assert_all_called=False) as router:
        router.route().mock(side_effect=fake)
        return CliRunner().invoke(bot.cli.app, list(args))


def comments_on_epic(fake: FakeGitHub) -> list[str]:
    epic = next(i for i in fake.issues.values() if i["title"] == f"Production readiness: {REPO}")
    return [c["body"] for c in fake.comments.get(epic["number"], [])]


def test_summary_previews_then_posts_once_when_due(fake: FakeGitHub, engine: Engine) -> None:
    synced = run(fake, "sync", REPO, "--installation", str(INSTALLATION_ID))
    assert synced.exit_code == 0, synced.output

    preview = run(fake, "summary", REPO, "--preview")
    assert preview.exit_code == 0, preview.output
    assert "## Weekly readiness summary" in preview.output and "done (" in preview.output
    assert comments_on_epic(fake) == []  # a preview posts nothing

    # Onboarded just now: this week's moment came before the repository was tracked.
    assert run(fake, "summary").stdout.strip() == f"{REPO}: not-due (not due yet this week)"
    with session_scope(engine) as s:  # ...as if the first sync had been a week ago
        for row in s.exec(select(ItemEvent)).all():
            row.at -= timedelta(days=8)
            s.add(row)
    posted = run(fake, "summary", REPO)
    assert (posted.exit_code, posted.stdout.strip()) == (0, f"{REPO}: posted (posted on the epic)")
    assert len(comments_on_epic(fake)) == 1 and "## Weekly readiness summary" in comments_on_epic(fake)[0]
    again = run(fake, "summary").stdout.strip()
    assert again == f"{REPO}: claimed (this week's summary is already posted)"
    assert len(comments_on_epic(fake)) == 1


def test_summary_usage_errors_and_unknown_repositories(fake: FakeGitHub) -> None:
    missing = run(fake, "summary", "--preview")
    assert missing.exit_code == 2 and "--preview needs a repository" in missing.output
    unknown = run(fake, "summary", "octo-org/elsewhere")
    assert unknown.exit_code == 1 and "not tracked" in unknown.output


def test_sync_and_summary_draw_on_the_write_budget_the_workers_share(
    fake: FakeGitHub, engine: Engine
) -> None:
    """The CLI's writes are claimed in the database like a worker's (`bot.store.pacing`), so a
    `readiness sync` or `summary` beside running workers cannot push the installation past
    GitHub's limits."""

    def claimed() -> int:
        with session_scope(engine) as s:
            return len(s.exec(select(WriteSlot).where(WriteSlot.installation_id == INSTALLATION_ID)).all())

    def writes() -> int:
        return len(
            [
                m
                for m, p, _ in fake.log
                if m in ("POST", "PATCH") and "access_tokens" not in p and p != "/graphql"
            ]
        )

    synced = run(fake, "sync", REPO, "--installation", str(INSTALLATION_ID))
    assert synced.exit_code == 0, synced.output
    assert writes() > 0 and claimed() >= writes()
    with session_scope(engine) as s:  # due: as if the first sync had been a week ago
        for row in s.exec(select(ItemEvent)).all():
            row.at -= timedelta(days=8)
            s.add(row)
    before = claimed()
    assert run(fake, "summary", REPO).stdout.strip() == f"{REPO}: posted (posted on the epic)"
    assert claimed() == before + 1
