"""Per-issue nonces through real syncs (issue 12, finding 5): issues written before nonces keep
every state and get their nonces with the next edit the bot makes anyway, never with an extra
one; a crash between create and record does not flip a nonce."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from memory_world import CONFIG, boxes, issues_by_key, push, router_world, tick_as, tick_box
from sqlmodel import select

from bot.core import tracker
from bot.core.state import Status
from bot.platforms.base import Issue, Transient
from bot.platforms.memory import MemoryPlatform
from bot.store import tracking
from bot.store.db import session_scope
from bot.store.models import OwnedIssue

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FILES = {".readiness.yml": CONFIG, "Dockerfile": "FROM python"}
BUILD, OPS = "section:svc:build", "section:svc:ops"
ITEM_LINE = re.compile(r"^- \[[ x]\] <!-- readiness:item (\S+?)(?: n=([0-9a-f]+))? -->", re.MULTILINE)


@pytest.fixture
def world(engine):
    return router_world(engine, NOW)


def legacy(body: str) -> str:
    nonce = tracker.nonce_of(body)
    return body.replace(f" n={nonce} -->", " -->") if nonce else body


def make_legacy(platform: MemoryPlatform, engine) -> None:
    """Turn every bot issue into what the bot wrote before nonces: the bodies on the platform, and
    the bodies and digests recorded as last written (the digest of the whole legacy body, as the
    bot computed it then)."""
    for number, issue in list(platform.issues.items()):
        platform.issues[number] = replace(issue, body=legacy(issue.body))
    with session_scope(engine) as s:
        for row in s.exec(select(OwnedIssue)).all():
            assert row.body is not None and row.number is not None
            i = platform.issues[row.number]
            row.body = legacy(row.body)
            row.body_hash = tracker.DesiredIssue(
                row.key, i.title, row.body, i.state, i.labels, i.assignees
            ).digest
            s.add(row)


def nonces_in(issue: Issue) -> set[str | None]:
    """The nonce of every item line and of the marker: one value when the issue is consistent."""
    return {n or None for _, n in ITEM_LINE.findall(issue.body)} | {tracker.nonce_of(issue.body)}


def status(engine, item: str) -> Status:
    with session_scope(engine) as s:
        return tracking.load_states(s, repository_id=1)["svc"][item].status


async def test_a_legacy_issue_is_not_edited_just_to_add_nonces(world, engine):
    platform, handler = world
    platform.set_commit("c1", FILES)
    await handler(push("c1"))
    make_legacy(platform, engine)
    before = len(platform.writes)
    platform.set_commit("c2", {**FILES, "README.md": "hi"})  # changes nothing the issues show
    [result] = await handler(push("c2"))
    assert result.writes == 0 and len(platform.writes) == before
    assert all(nonces_in(i) == {None} for i in issues_by_key(platform).values())


async def test_a_legacy_issue_keeps_every_state_and_gets_nonces_with_the_next_edit(world, engine):
    platform, handler = world
    platform.set_commit("c1", FILES)
    await handler(push("c1"))
    await handler(tick_as(platform, "maria", issues_by_key(platform)[OPS], "svc/oncall"))
    make_legacy(platform, engine)
    issues = issues_by_key(platform)
    assert boxes(issues[OPS]) == {"runbook": False, "oncall": True}  # legacy bodies read as before

    # a person ticks a box in a legacy body (its webhook is read with the old rules): the bot's
    # next write of that issue, which it makes anyway, carries the nonce
    await handler(tick_as(platform, "erin", issues[BUILD], "svc/ci-tests"))
    assert status(engine, "ci-tests") is Status.DONE
    issues = issues_by_key(platform)
    assert boxes(issues[BUILD]) == {"container": True, "ci-tests": True}
    assert "ticked by @erin" in issues[BUILD].body
    [build_nonce] = nonces_in(issues[BUILD])
    assert build_nonce is not None and nonces_in(issues[OPS]) == {None}  # ops not written: still legacy

    # an untick in the legacy ops issue whose webhook has not arrived, then a push that edits ops:
    # the untick is kept as a person's decision and the rewritten body carries the nonce
    platform.edit_issue_as("erin", issues[OPS].number, tick_box(issues[OPS].body, "svc/oncall", ticked=False))
    platform.set_commit("c2", {**FILES, "docs/runbooks/db.md": "steps"})
    await handler(push("c2"))
    issues = issues_by_key(platform)
    assert boxes(issues[OPS]) == {"runbook": True, "oncall": False}
    assert status(engine, "oncall") is Status.OPEN and "unticked by a person" in issues[OPS].body
    [ops_nonce] = nonces_in(issues[OPS])
    assert ops_nonce is not None and ops_nonce != build_nonce  # one per issue
    assert tracker.nonce_of(issues["epic"].body) is not None  # the epic's progress changed too
    assert nonces_in(issues[BUILD]) == {build_nonce}  # kept once written


async def test_a_crash_between_create_and_record_does_not_flip_the_nonce(world, engine):
    platform, handler = world
    platform.set_commit("c1", FILES)
    platform.fail("link_child", Transient("502"))  # the job dies after creating the issues
    with pytest.raises(Transient):
        await handler(push("c1"))
    with session_scope(engine) as s:  # and the ops issue's record was lost: only its intent is left
        row = s.exec(select(OwnedIssue).where(OwnedIssue.key == OPS)).one()
        row.number, row.platform_issue_id, row.state, row.body_hash, row.body = (
            None,
            None,
            "intent",
            None,
            None,
        )
        s.add(row)
    created = issues_by_key(platform)[OPS]
    await handler(push("c1"))  # the redelivery re-plans the create and adopts the issue
    adopted = issues_by_key(platform)[OPS]
    assert adopted.number == created.number and len(platform.issues) == 3
    assert adopted.body == created.body  # the same nonce, so nothing to rewrite
    assert not [w for w in platform.writes if w[0] == "update_issue" and w[2] == str(created.number)]
    # a tick the person then makes in the adopted issue counts
    await handler(tick_as(platform, "maria", adopted, "svc/oncall"))
    assert boxes(issues_by_key(platform)[OPS]) == {"runbook": False, "oncall": True}
    assert status(engine, "oncall") is Status.DONE
