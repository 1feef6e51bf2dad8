"""Owners in the weekly summary over the in-memory platform, on a controllable clock: mentioned
for their own open items, at most once a week, backing off after three weeks running; the
mentions backoff no longer needs are pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from memory_world import REPO, TEMPLATE, push

from bot.core import tracker
from bot.core.templates import parse_template
from bot.jobs import summaries
from bot.jobs.router import Router
from bot.jobs.summaries import post_due_summaries
from bot.platforms.memory import MemoryClient, MemoryPlatform
from bot.store import mentions, repos
from bot.store.db import session_scope

SHIPPED = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
ONBOARDED = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # Monday, before 09:00
MONDAY_0905 = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
CONFIG = "checklists: [svc]\nowners: {ops: '@octo-org/sre', 'svc/container': '@dave'}\n"


async def onboard(engine) -> tuple[MemoryClient, MemoryPlatform, list[datetime], Router]:
    """The repository synced once at ONBOARDED; `now[0]` is the bot's clock, moved by the test."""
    client = MemoryClient()
    platform = client.add_repo(REPO)
    now = [ONBOARDED]
    handler = Router(engine, {"github": client}, SHIPPED, clock=lambda: now[0])
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c1"))
    return client, platform, now, handler


async def test_owners_to_act_are_mentioned_weekly_then_every_four_weeks(engine) -> None:
    client, platform, _, _ = await onboard(engine)
    epic = next(n for n, i in platform.issues.items() if tracker.key_from_body(i.body) == "epic")

    mentioned = []
    for week in range(8):
        at = MONDAY_0905 + timedelta(weeks=week)
        assert await post_due_summaries(engine, {"github": client}, SHIPPED, at) == {REPO: "posted"}
        text = platform.comments[epic][-1].body
        mentioned.append("@octo-org/sre" in text)
        assert "@dave" not in text  # the container is ticked: its owner is never reminded
        if week == 0:
            assert (
                "### Owners to act\n- @octo-org/sre: **Runbook** `svc/runbook`, **On-call rota agreed** `svc/oncall`"
                in text
            )
        if week == 4:  # no item of the ops section changed for four weeks
            assert "- 💤 Service basics · Operations" in text
    assert mentioned == [True, True, True, False, False, False, True, False]


async def test_mentions_of_a_done_item_are_pruned_once_backoff_cannot_need_them(engine, monkeypatch) -> None:
    """The summary job deletes a done or skipped item's mentions older than the backoff window,
    at most PRUNE_PER_RUN a run; an open item's mentions are kept (backoff counts them)."""
    monkeypatch.setattr(summaries, "PRUNE_PER_RUN", 1)
    client, platform, now, handler = await onboard(engine)
    with session_scope(engine) as s:
        row = repos.get_repository(s, platform="github", full_name=REPO)
        assert row is not None and row.id is not None
        rid = row.id

    def kept(item: str) -> int:
        with session_scope(engine) as s:
            return len(mentions.load_mentions(s, repository_id=rid).get(("@octo-org/sre", "svc", item), []))

    runbook = []
    for week in range(8):
        if week == 3:  # the runbook appears: done, so never mentioned again
            now[0] = MONDAY_0905 + timedelta(weeks=2, days=1)
            platform.set_commit(
                "c2", {".readiness.yml": CONFIG, "Dockerfile": "x", "docs/runbooks/db.md": "x"}
            )
            await handler(push("c2"))
        at = MONDAY_0905 + timedelta(weeks=week)
        assert await post_due_summaries(engine, {"github": client}, SHIPPED, at) == {REPO: "posted"}
        runbook.append(kept("runbook"))
    # weeks 0-2 mentioned it; from week 5 one mention a run is older than four weeks and goes
    assert runbook == [1, 2, 3, 3, 3, 2, 1, 0]
    assert kept("oncall") == 4  # open: weeks 0, 1, 2, then every four weeks (week 6)
