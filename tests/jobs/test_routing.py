"""Dispatch: events that cannot change anything are dropped before any API call, and only those."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core import tracker
from bot.core.events import Event, Kind, Platform, RepoRef
from bot.core.snapshot import SUCCESS, CIResult
from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.jobs.routing import Route, drop_reason, route
from bot.metrics import DISPATCH_DROPS
from bot.platforms.memory import MemoryClient
from bot.webhooks.normalize import normalize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
REPO = "octo-org/widgets"
TEMPLATE = """
id: svc
title: Service basics
version: 1
description: A tiny checklist for tests.
sections:
  - id: build
    title: Build
    items:
      - id: container
        title: Container image
        why: Reproducible deploys
        evidence: {files: [Dockerfile]}
      - id: ci-tests
        title: Tests in CI
        why: Catch regressions
        evidence: {ci: ["test*"]}
"""
CONFIG = "checklists:\n  - svc\n"


def fixture(platform: str, name: str, event: str) -> Event:
    return normalize(platform, event, json.loads((FIXTURES / platform / name).read_text()))


@pytest.mark.parametrize(
    ("platform", "name", "event", "reason"),
    [
        ("github", "check_run.completed.payload.json", "check_run", "ci_other_branch"),
        ("github", "check_suite.completed.payload.json", "check_suite", "ci_other_branch"),
        ("github", "workflow_run.completed.payload.json", "workflow_run", None),
        ("github", "workflow_job.completed.success.with-organization.payload.json", "workflow_job", None),
        ("gitlab", "job.json", "Job Hook", "ci_other_branch"),
        ("gitlab", "pipeline.json", "Pipeline Hook", None),
        ("gitlab", "tag_push.json", "Tag Push Hook", "push_other_branch"),
    ],
)
def test_real_payloads_drop_other_branches_and_keep_the_default_one(platform, name, event, reason):
    """Workflow events are no longer subscribed (every Actions job is also a check run): a stray
    one is normalised as ignored and never reaches a handler."""
    ev = fixture(platform, name, event)
    if event.startswith("workflow_"):
        assert ev.kind is Kind.IGNORED
        return
    assert drop_reason(ev) == reason


def ci(commit: str, branch: str | None = "main") -> Event:
    return Event(
        Platform("github"),
        Kind.CI,
        "check_suite",
        action="completed",
        repo=RepoRef(Platform("github"), REPO, id=1, installation_id=7, default_branch="main"),
        ref=f"refs/heads/{branch}" if branch else None,
        commit=commit,
    )


def push(commit: str, branch: str = "main") -> Event:
    return Event(
        Platform("github"),
        Kind.PUSH,
        "push",
        repo=RepoRef(Platform("github"), REPO, id=1, installation_id=7, default_branch="main"),
        ref=f"refs/heads/{branch}",
        commit=commit,
        sender="alice",
    )


def test_ci_for_the_current_head_is_never_dropped_even_if_seen_before():
    assert drop_reason(ci("c2"), last_synced_commit="c2", superseded={"c1", "c2"}) is None


def test_ci_for_an_older_synced_head_is_dropped_and_an_unseen_one_is_kept():
    assert drop_reason(ci("c1"), last_synced_commit="c2", superseded={"c1"}) == "ci_stale_commit"
    assert drop_reason(ci("c3"), last_synced_commit="c2", superseded={"c1"}) is None
    assert drop_reason(ci("c1", branch=None), last_synced_commit=None) is None  # branch unknown


def test_pushes_to_other_branches_and_deletions_are_dropped_default_branch_pushes_kept():
    assert drop_reason(push("c1", "feature")) == "push_other_branch"
    assert drop_reason(push("0" * 40)) == "push_deleted"
    assert drop_reason(push("c1")) is None


def test_bot_echoes_are_dropped_and_every_kind_has_one_route():
    echo = Event(Platform("github"), Kind.ISSUE_EDITED, "issues", action="edited", sender_is_bot=True)
    assert drop_reason(echo) == "own_echo"
    assert route(Event(Platform("github"), Kind.PING, "ping")) is None
    assert route(Event(Platform("github"), Kind.SCHEDULE, "readiness.summary")) is Route.SUMMARY
    assert route(Event(Platform("github"), Kind.SCHEDULE, "readiness.resync")) is Route.SYNC
    assert route(ci("c1")) is Route.SYNC


def test_a_comment_is_dropped_unless_it_holds_a_readiness_command():
    def comment(body: str) -> Event:
        return Event(Platform("github"), Kind.COMMENT, "issue_comment", action="created", body=body)

    assert drop_reason(comment("Thanks, looks good to me.")) == "no_command"
    assert drop_reason(comment("")) == "no_command"
    assert drop_reason(comment("LGTM\n/readiness status")) is None
    assert drop_reason(comment("/readiness frobnicate")) is None  # answered with a hint


@pytest.fixture
def world(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    return platform, Router(engine, {"github": client}, shipped, clock=lambda: NOW)


def dropped(reason: str) -> float:
    return DISPATCH_DROPS.labels("github", reason)._value.get()


async def test_a_pull_request_ci_burst_costs_no_api_call(world):
    platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG})
    await handler(push("c1"))
    platform.calls.clear()
    before = dropped("ci_other_branch")
    for _ in range(16):
        assert await handler(ci("pr1", branch="feature")) == []
    assert platform.calls == []
    assert dropped("ci_other_branch") == before + 16


async def test_ci_for_the_synced_head_ticks_without_asking_for_the_branch(world):
    platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG})
    await handler(push("c1"))
    platform.set_ci("c1", [CIResult("tests", SUCCESS, url="https://ci/1")])
    platform.calls.clear()
    [result] = await handler(ci("c1"))
    assert result.outcome == "synced"
    assert not [c for c in platform.calls if c[0] == "default_branch"]
    ticked = {k for i in platform.issues.values() for k, v in tracker.parse_checkboxes(i.body).items() if v}
    assert ("svc", "ci-tests") in ticked


async def test_ci_for_a_superseded_head_is_dropped_but_an_unseen_head_is_synced(world):
    platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG})
    await handler(push("c1"))
    platform.set_commit("c2", {".readiness.yml": CONFIG})
    await handler(push("c2"))
    platform.calls.clear()
    assert await handler(ci("c1")) == []
    assert platform.calls == []
    platform.set_commit("c3", {".readiness.yml": CONFIG, "Dockerfile": "FROM x"})
    [result] = await handler(ci("c3"))  # CI may arrive before its push: never dropped
    assert result.outcome == "synced"


async def test_a_push_that_only_changes_the_config_is_synced(world):
    platform, handler = world
    platform.set_commit("c1", {"README.md": "hi"})
    await handler(push("c1"))
    platform.set_commit("c2", {"README.md": "hi", ".readiness.yml": CONFIG})
    [result] = await handler(push("c2"))
    assert result.outcome == "synced" and platform.issues


def test_ci_and_issue_edits_on_a_repository_without_configuration_are_dropped():
    """They cannot add a `.readiness.yml`; the push that adds one is synced on its own. A
    repository never synced is unknown, and nothing is dropped for it."""
    edit = Event(Platform("github"), Kind.ISSUE_EDITED, "issues", action="edited", sender="alice")
    assert drop_reason(ci("c1"), last_synced_commit="c1", config_status="none") == "no_config"
    assert drop_reason(edit, config_status="none") == "no_config"
    assert drop_reason(push("c2"), config_status="none") is None
    assert drop_reason(ci("c1"), last_synced_commit="c1", config_status="valid") is None
    assert drop_reason(ci("c1")) is None


async def test_ci_on_a_repository_that_has_no_configuration_costs_no_api_call(world):
    platform, handler = world
    platform.set_commit("c1", {"README.md": "no checklist here"})
    await handler(push("c1"))  # synced once: no configuration at c1
    platform.calls.clear()
    before = dropped("no_config")
    assert await handler(ci("c1")) == []
    assert platform.calls == []
    assert dropped("no_config") == before + 1
    platform.set_commit("c2", {".readiness.yml": CONFIG})  # the push that adds one is synced
    results = await handler(push("c2"))
    assert [r.outcome for r in results] == ["synced"]
