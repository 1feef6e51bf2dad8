"""Governed exemptions over the in-memory platform: the organisation default marks items
mandatory and names approvers; a skip by comment is pending until an approver confirms it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from memory_world import CONFIG, REPO, TEMPLATE, Clock, boxes, ref, shown

from bot.core import tracker
from bot.core.events import Event, Kind, Platform
from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.platforms.memory import MemoryClient
from bot.store import tracking
from bot.store.db import session_scope

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ORG = """\
items:
  svc/oncall:
    mandatory: true
    approvers: "@octo-org/sre"
  svc/runbook:
    mandatory: true
"""


@pytest.fixture
async def world(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    org = client.add_repo("octo-org/.github")
    org.set_commit("o1", {".readiness.yml": ORG})
    platform.teams = {"octo-org/sre": ["carol"]}
    clock = Clock(NOW)
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    handler = Router(engine, {"github": client}, shipped, clock=clock)
    platform.set_permission("maria", "maintain")
    platform.set_permission("rita", "read")
    platform.set_permission("carol", "read")  # an approver needs no write access to the repository
    return platform, handler, clock


async def push(handler, platform, commit: str, files: dict[str, str]) -> list:
    platform.set_commit(commit, files)
    return await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit=commit)
    )


def issues(platform) -> dict:
    return {tracker.key_from_body(i.body): i for i in platform.issues.values()}


async def say(handler, platform, login: str, number: int, body: str) -> str:
    c = platform.add_comment_as(login, number, body)
    event = Event(
        Platform("github"),
        Kind.COMMENT,
        "issue_comment",
        action="created",
        repo=ref(),
        installation_id=7,
        sender=login,
        issue_number=number,
        comment_id=c.id,
        body=body,
    )
    await handler(event)
    return [shown(c.body) for c in platform.comments[number] if c.author == platform.bot_login][-1]


async def test_a_repository_file_cannot_skip_a_mandatory_item(world) -> None:
    platform, handler, _ = world
    config = CONFIG + "items:\n  runbook: {skip: we have none}\n"
    [result] = await push(handler, platform, "c1", {".readiness.yml": config})
    assert result.outcome == "config-error"
    error = issues(platform)["config-error"].body
    assert ".readiness.yml:4:19: items.runbook.skip: item 'svc/runbook' is mandatory" in error
    assert "cannot be skipped in this file" in error


async def test_a_repository_file_cannot_name_its_own_approvers_even_standing_alone(world) -> None:
    platform, handler, _ = world
    config = "extends: false\n" + CONFIG + "items:\n  oncall: {approvers: '@maria'}\n"
    [result] = await push(handler, platform, "c1", {".readiness.yml": config})
    assert result.outcome == "config-error"
    assert (
        "items.oncall.approvers: `approvers` is set by the organisation default"
        in issues(platform)["config-error"].body
    )


async def test_a_skip_by_comment_is_pending_until_an_approver_confirms(world, engine) -> None:
    platform, handler, clock = world
    await push(handler, platform, "c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    ops = issues(platform)["section:svc:ops"]
    reply = await say(
        handler, platform, "maria", ops.number, "/readiness skip oncall until 2027-01-31 vendor pages us"
    )
    assert "⏳ Skip of `svc/oncall` until 2027-01-31 requested: vendor pages us" in reply
    assert "@octo-org/sre" in reply and "/readiness approve svc/oncall" in reply
    ops = issues(platform)["section:svc:ops"]
    assert boxes(ops)["oncall"] is False  # pending counts as open
    assert "⏳ skip requested by @maria on 2026-11-22 until 2027-01-31: vendor pages us" in ops.body
    assert "1 / 4 done (25%)" in issues(platform)["epic"].body

    refused = await say(handler, platform, "rita", ops.number, "/readiness approve oncall")
    assert refused.startswith("@rita Sorry, only an approver of `svc/oncall` (@octo-org/sre)")

    clock.now = NOW + timedelta(hours=2)
    approved = await say(handler, platform, "carol", ops.number, "/readiness approve oncall")
    assert (
        approved == "@carol ✅ Approved the skip of `svc/oncall` until 2027-01-31 by @maria: vendor pages us"
    )
    ops = issues(platform)["section:svc:ops"]
    assert boxes(ops)["oncall"] is True
    assert (
        "skipped by @maria until 2027-01-31: vendor pages us · approved by @carol on 2026-11-22" in ops.body
    )
    assert "**1 / 3 done (33%)** · 1 skipped" in issues(platform)["epic"].body
    with session_scope(engine) as s:
        [exemption] = list(tracking.current_exemptions(s))
    assert (exemption.status, exemption.approved_by, exemption.skipped_by) == ("skipped", "carol", "maria")

    again = await say(handler, platform, "carol", ops.number, "/readiness approve oncall")
    assert again == "@carol `svc/oncall` is already skipped, approved by @carol."


async def test_an_approver_skips_at_once_and_the_skip_ends_on_its_day(world) -> None:
    platform, handler, clock = world
    await push(handler, platform, "c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    platform.set_permission("carol", "write")
    ops = issues(platform)["section:svc:ops"]
    reply = await say(handler, platform, "carol", ops.number, "/readiness skip oncall until 2026-12-01 pilot")
    assert reply == "@carol ⏭ Skipped `svc/oncall` until 2026-12-01: pilot (approved by you, an approver)"
    clock.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    await push(handler, platform, "c2", {".readiness.yml": CONFIG, "Dockerfile": "x", "README.md": "hi"})
    ops = issues(platform)["section:svc:ops"]
    assert boxes(ops)["oncall"] is False
    assert "open again on 2026-12-02: the skip by @carol ended after 2026-12-01: pilot" in ops.body


async def test_a_mandatory_item_without_approvers_cannot_be_skipped_by_comment(world) -> None:
    platform, handler, _ = world
    await push(handler, platform, "c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    ops = issues(platform)["section:svc:ops"]
    reply = await say(handler, platform, "maria", ops.number, "/readiness skip runbook not yet")
    assert "`svc/runbook` is mandatory in this organisation and has no approvers" in reply
    assert boxes(issues(platform)["section:svc:ops"])["runbook"] is False


async def test_unskip_withdraws_a_pending_skip(world) -> None:
    platform, handler, _ = world
    await push(handler, platform, "c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    ops = issues(platform)["section:svc:ops"]
    await say(handler, platform, "maria", ops.number, "/readiness skip oncall later")
    reply = await say(handler, platform, "maria", ops.number, "/readiness unskip oncall")
    assert reply == "@maria ↩ `svc/oncall` is tracked again; evidence can tick it."
    assert "skip requested" not in issues(platform)["section:svc:ops"].body
