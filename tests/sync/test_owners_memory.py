"""Owners on the in-memory platform: section issues assigned to their owners (teams through their
members), and owners mentioned when their own item regresses, never on other changes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from memory_world import REPO, TEMPLATE, issues_by_key, push, tick_as

from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.platforms.memory import MemoryClient

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CODEOWNERS = "*  @octo-org/platform\n/docs/runbooks/ @octo-org/sre\nDockerfile @dave\n"


@pytest.fixture
def world(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    platform.teams = {"octo-org/sre": ["carol", "erin"], "octo-org/platform": ["pat"]}
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    handler = Router(engine, {"github": client}, shipped, clock=lambda: NOW)
    return platform, handler


async def test_sections_are_assigned_to_owners_from_config_and_codeowners(world) -> None:
    platform, handler = world
    config = 'checklists: [svc]\nowners: {"svc/oncall": "@olga"}\n'
    platform.set_commit("c1", {".readiness.yml": config, ".github/CODEOWNERS": CODEOWNERS, "Dockerfile": "x"})
    await handler(push("c1"))
    issues = issues_by_key(platform)
    # build: container by CODEOWNERS' Dockerfile rule; ci-tests names no path, so nobody
    assert issues["section:svc:build"].assignees == ("dave",)
    # ops: runbook -> the sre team's members; oncall -> the `owners:` entry
    assert issues["section:svc:ops"].assignees == ("carol", "erin", "olga")
    assert issues["epic"].assignees == ()


async def test_an_owner_added_later_is_assigned_without_removing_anyone(world) -> None:
    platform, handler = world
    platform.set_commit("c1", {".readiness.yml": "checklists: [svc]\n"})
    await handler(push("c1"))
    ops = issues_by_key(platform)["section:svc:ops"]
    assert ops.assignees == ()
    platform.issues[ops.number] = dataclasses.replace(ops, assignees=("zed",))  # a person assigns zed
    config = "checklists: [svc]\nowners: {ops: '@olga'}\n"
    platform.set_commit("c2", {".readiness.yml": config})
    await handler(push("c2"))
    assert issues_by_key(platform)["section:svc:ops"].assignees == ("zed", "olga")


async def test_owners_are_mentioned_when_their_item_regresses_only(world) -> None:
    platform, handler = world
    files = {".readiness.yml": "checklists: [svc]\n", "CODEOWNERS": CODEOWNERS, "Dockerfile": "x"}
    platform.set_commit("c1", {**files, "docs/runbooks/db.md": "steps"})
    await handler(push("c1"))
    assert not any(c.body for cs in platform.comments.values() for c in cs)  # no mention on onboarding
    platform.set_commit("c2", files)  # the runbook goes away
    await handler(push("c2"))
    ops = issues_by_key(platform)["section:svc:ops"]
    [comment] = platform.comments[ops.number]
    assert "**Runbook**: automatic evidence disappeared" in comment.body
    assert "cc @octo-org/sre" in comment.body
    assert "@dave" not in comment.body  # the owner of another item hears nothing


async def test_a_ttl_that_runs_out_asks_the_items_owner_to_confirm(engine) -> None:
    client = MemoryClient()
    platform = client.add_repo(REPO)
    now = [NOW]
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    handler = Router(engine, {"github": client}, shipped, clock=lambda: now[0])
    config = "checklists: [svc]\nowners: {oncall: '@olga'}\nitems:\n  oncall: {ttl: 30d}\n"
    platform.set_commit("c1", {".readiness.yml": config})
    await handler(push("c1"))
    await handler(tick_as(platform, "maria", issues_by_key(platform)["section:svc:ops"], "svc/oncall"))
    now[0] = NOW + timedelta(days=30)
    platform.set_commit("c2", {".readiness.yml": config, "README.md": "later"})
    await handler(push("c2"))
    ops = issues_by_key(platform)["section:svc:ops"]
    [comment] = platform.comments[ops.number]
    assert (
        "ticked by @maria on 2026-11-22; it is re-attested every 30 days. @olga, please check" in comment.body
    )
