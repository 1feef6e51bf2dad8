"""`issues.layout: single`: the whole checklist in one issue, a heading per section, switchable
both ways without losing item states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from memory_world import CONFIG, boxes, issues_by_key, push, router_world, tick_as

from bot.core.plan_sync import IN_ONE_ISSUE
from bot.core.state import Status
from bot.store import tracking
from bot.store.db import session_scope

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SINGLE = CONFIG + "issues:\n  layout: single\n"
FILES = {"Dockerfile": "FROM python"}


@pytest.fixture
def world(engine):
    return router_world(engine, NOW)


def state_of(engine, item: str) -> Status:
    with session_scope(engine) as s:
        return tracking.load_states(s, repository_id=1)["svc"][item].status


def open_issues(platform) -> dict:
    return {k: i for k, i in issues_by_key(platform).items() if i.state == "open"}


async def test_single_layout_onboards_with_one_issue_holding_every_item(world):
    platform, handler = world
    platform.set_commit("c1", {".readiness.yml": SINGLE, **FILES})
    [result] = await handler(push("c1"))
    assert result.outcome == "synced"
    assert set(issues_by_key(platform)) == {"epic"}
    epic = issues_by_key(platform)["epic"]
    assert boxes(epic) == {"container": True, "ci-tests": False, "runbook": False, "oncall": False}
    assert "### Service basics · Build" in epic.body and "### Service basics · Operations" in epic.body
    assert [w[0] for w in platform.writes if w[0] in ("create_issue", "link_child")] == ["create_issue"]


async def test_a_tick_in_the_single_issue_is_a_persons_decision(world, engine):
    platform, handler = world
    platform.set_commit("c1", {".readiness.yml": SINGLE, **FILES})
    await handler(push("c1"))
    epic = issues_by_key(platform)["epic"]
    await handler(tick_as(platform, "maria", epic, "svc/oncall"))
    assert state_of(engine, "oncall") is Status.DONE
    assert boxes(issues_by_key(platform)["epic"])["oncall"] is True


async def test_switching_to_single_closes_the_sections_and_keeps_every_state(world, engine):
    platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, **FILES})
    await handler(push("c1"))
    ops = issues_by_key(platform)["section:svc:ops"]
    await handler(tick_as(platform, "maria", ops, "svc/oncall"))

    platform.set_commit("c2", {".readiness.yml": SINGLE, **FILES})
    await handler(push("c2"))

    assert set(open_issues(platform)) == {"epic"}
    epic = issues_by_key(platform)["epic"]
    assert boxes(epic) == {"container": True, "ci-tests": False, "runbook": False, "oncall": True}
    assert any(c.body == IN_ONE_ISSUE for c in platform.comments[ops.number])
    assert state_of(engine, "oncall") is Status.DONE


async def test_switching_back_reopens_the_same_section_issues_with_the_states_kept(world, engine):
    platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, **FILES})
    await handler(push("c1"))
    numbers = {k: i.number for k, i in issues_by_key(platform).items()}
    platform.set_commit("c2", {".readiness.yml": SINGLE, **FILES})
    await handler(push("c2"))
    await handler(tick_as(platform, "maria", issues_by_key(platform)["epic"], "svc/oncall"))

    platform.set_commit("c3", {".readiness.yml": CONFIG, **FILES})
    await handler(push("c3"))

    now_open = open_issues(platform)
    assert set(now_open) == {"epic", "section:svc:build", "section:svc:ops"}
    assert {k: i.number for k, i in now_open.items()} == numbers  # no duplicate was opened
    assert boxes(now_open["section:svc:ops"]) == {"runbook": False, "oncall": True}
    assert "| Operations |" in now_open["epic"].body and "<!-- readiness:item" not in now_open["epic"].body
    assert state_of(engine, "oncall") is Status.DONE
