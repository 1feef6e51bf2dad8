"""Owners on GitLab end to end, from templates, `.readiness.yml` and CODEOWNERS. A top-level
group written `@team-top` (GitLab cannot tell a group from a user by the name, so the bot asks
`GET /groups/:id`) is assigned through its members; its people are mentioned for their own items
only: in the weekly summary (which reads no CODEOWNERS: owners are stored at sync) and when
their item regresses. And the summary over weeks on a moved clock: its chart and a skip ending."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import requests
from platforms.conftest import FakeClock
from platforms.gitlab_fake import FakeGitLab
from sqlalchemy import Engine

from bot.config import Settings
from bot.jobs.router import Router
from bot.jobs.summaries import post_due_summaries
from bot.platforms.gitlab.client import GitLabClient
from bot.resources import load_shipped
from e2e.conftest import CONFIG, TEMPLATE, TEMPLATE_PATH, Bot, Clock, base_files, running_bot
from e2e.test_commands_github_e2e import T0, Now
from e2e.test_commands_gitlab_e2e import say
from e2e.test_gitlab_e2e import HEAD1, HEAD2, REPO, deliver, fake, ours, push_payload, settings

__all__ = ["fake", "settings"]  # fixtures shared with the GitLab e2e tests

CODEOWNERS = "* @alice\n/docs/runbooks/ @team-top\n"  # alice: a user; team-top: a top-level group


@pytest.fixture
async def world(
    settings: Settings, engine: Engine, fake: FakeGitLab
) -> AsyncIterator[tuple[Bot, GitLabClient, Now]]:
    fake.groups["team-top"] = ["erin", "frank"]
    for login in ("alice", "erin", "frank"):
        fake.user(login)
    clock, now = FakeClock(), Now()
    client = GitLabClient(settings, session=requests.Session(), clock=clock, sleep=clock.sleep)
    handler = Router(engine, {"gitlab": client}, load_shipped(), clock=now)
    async with running_bot(settings, engine, handler, Clock()) as b:
        yield b, client, now
    await client.aclose()


async def test_a_top_level_group_owner_is_assigned_and_mentioned_for_its_own_items_only(
    world: tuple[Bot, GitLabClient, Now], engine: Engine, fake: FakeGitLab
) -> None:
    bot, client, now = world
    files = base_files(Dockerfile="FROM python:3.11\n", CODEOWNERS=CODEOWNERS)
    fake.push(HEAD1, files)
    assert (await deliver(bot, "Push Hook", push_payload(HEAD1))).status_code == 202
    await bot.drain()
    issues = ours(fake)
    assert [a["username"] for a in issues["section:service:operations"]["assignees"]] == ["erin", "frank"]
    assert [a["username"] for a in issues["section:service:build"]["assignees"]] == ["alice"]
    assert ("GET", "/groups/team-top") in fake.requests  # asked, and found a group
    assert ("GET", "/groups/alice") in fake.requests  # asked, 404: a user

    # the weekly summary: team-top's open runbook; alice's container is done, so not her
    epic = issues["epic"]["iid"]
    fake.requests.clear()
    shipped = load_shipped()
    assert await post_due_summaries(engine, {"gitlab": client}, shipped, T0 + timedelta(minutes=5)) == {
        REPO: "posted"
    }
    summary = fake.notes[epic][-1]["body"]
    assert "### Owners to act\n- @team-top: **Runbook** `service/runbook`\n" in summary
    assert "@alice" not in summary
    # the summary read owners from the store: of files, only the config and template it renders
    read = {p.split("/files/")[1] for m, p in fake.requests if m == "GET" and "/repository/files/" in p}
    assert read == {".readiness.yml/raw", ".github/readiness/service.yml/raw"}

    # the container regresses: alice is cc'd on her item, team-top is not
    now.now = T0 + timedelta(days=1)
    fake.push(HEAD2, {k: v for k, v in files.items() if k != "Dockerfile"})
    assert (await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))).status_code == 202
    await bot.drain()
    build = issues["section:service:build"]["iid"]
    [regressed] = [n["body"] for n in fake.notes[build] if n["author"]["username"] == "readiness-bot"]
    assert "cc @alice" in regressed
    assert "@team-top" not in regressed
    ops = issues["section:service:operations"]["iid"]
    assert [n for n in fake.notes[ops] if n["author"]["username"] == "readiness-bot"] == []


async def test_owners_from_the_template_and_the_repository_file_win_over_codeowners(
    world: tuple[Bot, GitLabClient, Now], fake: FakeGitLab
) -> None:
    bot, _, _ = world
    fake.user("olga")
    template = TEMPLATE.replace(
        "    title: Build and delivery\n", '    title: Build and delivery\n    owner: "@team-top"\n'
    )
    config = CONFIG + "owners: {'service/oncall': '@olga'}\n"
    files = base_files(
        Dockerfile="x", CODEOWNERS="* @alice\n", **{TEMPLATE_PATH: template, ".readiness.yml": config}
    )
    fake.push(HEAD1, files)
    assert (await deliver(bot, "Push Hook", push_payload(HEAD1))).status_code == 202
    await bot.drain()
    issues = ours(fake)
    # build: the template's section owner (a top-level group) for both items, not CODEOWNERS' alice
    assert [a["username"] for a in issues["section:service:build"]["assignees"]] == ["erin", "frank"]
    # operations: runbook by CODEOWNERS (`*`), oncall by `owners:` in .readiness.yml
    assert [a["username"] for a in issues["section:service:operations"]["assignees"]] == ["alice", "olga"]


async def test_the_weekly_summary_on_gitlab_charts_the_weeks_and_announces_a_skip_ending(
    world: tuple[Bot, GitLabClient, Now], engine: Engine, fake: FakeGitLab
) -> None:
    """Two weeks on a moved clock: a skip by note, evidence found a week later; the summary's
    Mermaid chart ends with both weeks' progress, the skip about to end names who skipped it, and
    the group owner of the open item is mentioned for it."""
    bot, client, now = world
    files = base_files(
        Dockerfile="x", **{".readiness.yml": CONFIG + "owners: {'service/oncall': '@team-top'}\n"}
    )
    fake.push(HEAD1, files)
    assert (await deliver(bot, "Push Hook", push_payload(HEAD1))).status_code == 202
    await bot.drain()
    issues = ours(fake)
    build, epic = issues["section:service:build"]["iid"], issues["epic"]["iid"]
    [reply] = await say(bot, fake, "hubot", build, "/readiness skip ci-tests until 2026-12-03 CI moves")
    assert reply == "@hubot ⏭ Skipped `service/ci-tests` until 2026-12-03: CI moves"

    now.now = T0 + timedelta(days=7)  # a week later the runbook appears
    fake.push(HEAD2, {**files, "docs/runbooks/db.md": "steps"})
    assert (await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))).status_code == 202
    await bot.drain()
    at = now.now + timedelta(minutes=5)
    assert await post_due_summaries(engine, {"gitlab": client}, load_shipped(), at) == {REPO: "posted"}
    text = fake.notes[epic][-1]["body"]
    assert "`███████░░░` **2 / 3 done (66%)** · 1 skipped" in text
    chart = text.split("```mermaid\n")[1].split("```")[0]
    assert chart.splitlines()[0] == "xychart-beta"
    assert '"11-23", "11-30"]' in chart  # the last two weeks: onboarding, and now
    assert chart.split("    line [")[1].split("]")[0].endswith("33, 66")
    assert (
        "- ⏳ **Tests run in CI** `service/ci-tests`: the skip by @hubot ends 2026-12-03 (CI moves); "
        "from the day after it is tracked again"
    ) in text
    assert "### Owners to act\n- @team-top: **On-call rota agreed** `service/oncall`\n" in text
