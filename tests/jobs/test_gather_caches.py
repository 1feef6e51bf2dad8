"""Reads a sync does not repeat: the organisation default's 404, its text by commit, CI results
only for checklists with a `ci` rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.events import Event, Kind, Platform, RepoRef
from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.platforms.memory import MemoryClient

REPO = "octo-org/widgets"
ORG = "octo-org/.github"
FILES_ONLY = """
id: svc
title: Service basics
version: 1
description: No CI rule.
sections:
  - id: build
    title: Build
    items:
      - id: container
        title: Container image
        why: Reproducible deploys
        evidence: {files: [Dockerfile]}
"""
WITH_CI = FILES_ONLY.replace("id: svc", "id: ci").replace(
    "evidence: {files: [Dockerfile]}", 'evidence: {ci: ["test*"]}'
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def push(repo: str, commit: str) -> Event:
    ref = RepoRef(Platform("github"), repo, id=hash(repo) % 1000, installation_id=7, default_branch="main")
    return Event(Platform("github"), Kind.PUSH, "push", repo=ref, ref="refs/heads/main", commit=commit)


def make(engine, clock):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    shipped = {
        "svc": parse_template(FILES_ONLY, filename="svc.yaml"),
        "ci": parse_template(WITH_CI, filename="ci.yaml"),
    }
    handler = Router(engine, {"github": client}, shipped, clock=clock, org_default_ttl=timedelta(minutes=5))
    return client, platform, handler


def org_reads(client) -> int:
    return sum(1 for c in client.calls if c[:2] == ("for_repo", ORG))


async def test_a_missing_org_default_is_asked_once_until_the_ttl_or_its_next_push(engine):
    clock = Clock()
    client, platform, handler = make(engine, clock)
    for n in range(3):
        platform.set_commit(f"c{n}", {".readiness.yml": "checklists: [svc]\n"})
        await handler(push(REPO, f"c{n}"))
    assert org_reads(client) == 1
    clock.now += timedelta(minutes=6)
    await handler(push(REPO, "c2"))
    assert org_reads(client) == 2
    org = client.add_repo(ORG)  # the organisation adds its default, and its push arrives
    org.set_commit("o1", {".readiness.yml": "checklists: [svc]\nissues:\n  labels: [team]\n"})
    await handler(push(ORG, "o1"))
    await handler(push(REPO, "c2"))
    assert all("team" in i.labels for i in platform.issues.values())  # the new default applies


async def test_ci_results_are_read_only_when_a_chosen_checklist_has_a_ci_rule(engine):
    client, platform, handler = make(engine, Clock())
    platform.set_commit("c1", {".readiness.yml": "checklists: [svc]\n"})
    await handler(push(REPO, "c1"))
    assert not [c for c in client.calls if c[0] == "ci_results"]
    platform.set_commit("c2", {".readiness.yml": "checklists: [svc, ci]\n"})
    await handler(push(REPO, "c2"))
    assert [c for c in client.calls if c[0] == "ci_results"] == [("ci_results", REPO, "c2")]


async def test_config_and_tree_are_read_once_per_commit_and_blob(engine):
    client, platform, handler = make(engine, Clock())
    platform.set_commit("c1", {".readiness.yml": "checklists: [svc]\n"})
    await handler(push(REPO, "c1"))
    platform.set_commit("c2", {".readiness.yml": "checklists: [svc]\n", "NOTES.md": "x"})
    client.calls.clear()
    await handler(push(REPO, "c2"))  # same .readiness.yml blob: only the new tree is read
    await handler(push(REPO, "c2"))  # a redelivery: nothing to read at all
    reads = [c for c in client.calls if c[0] in ("tree", "file", "files")]
    assert reads == [("tree", REPO, "c2")]


async def test_an_unchanged_org_default_is_revalidated_not_read_again(engine):
    client, platform, handler = make(engine, Clock())
    org = client.add_repo(ORG)
    org.set_commit("o1", {".readiness.yml": "checklists: [svc]\nissues:\n  labels: [team]\n"})
    for n in range(3):
        platform.set_commit(f"c{n}", {".readiness.yml": "checklists: [svc]\n", "n": str(n)})
        await handler(push(REPO, f"c{n}"))
    assert [c for c in client.calls if c[1] == ORG and c[0] in ("file", "files")] == [
        ("file", ORG, ".readiness.yml", "o1")
    ]
    assert all("team" in i.labels for i in platform.issues.values())
    org.set_commit("o2", {".readiness.yml": "checklists: [svc]\nissues:\n  labels: [platform]\n"})
    await handler(push(REPO, "c2"))  # no push of the org's arrived: the revalidation sees o2
    assert ("file", ORG, ".readiness.yml", "o2") in client.calls


def test_the_org_default_ttl_is_a_setting(engine, monkeypatch) -> None:
    from bot.config import load_settings
    from bot.jobs.handlers import make_handler

    monkeypatch.setenv("READINESS_ORG_DEFAULT_TTL_SECONDS", "90")
    settings = load_settings(gitlab_token="glpat-x")
    dispatcher = make_handler(settings, engine)
    assert dispatcher.sync.ctx.org_defaults.ttl == timedelta(seconds=90)


def replica(engine, client, clock) -> Router:
    """Another process on the same database (or this one after a restart): nothing in memory."""
    shipped = {"svc": parse_template(FILES_ONLY, filename="svc.yaml")}
    return Router(engine, {"github": client}, shipped, clock=clock, org_default_ttl=timedelta(minutes=5))


async def test_a_missing_org_default_is_remembered_for_every_replica_and_across_a_restart(engine):
    clock = Clock()
    client, platform, first = make(engine, clock)
    platform.set_commit("c1", {".readiness.yml": "checklists: [svc]\n"})
    await first(push(REPO, "c1"))
    assert org_reads(client) == 1
    platform.set_commit("c2", {".readiness.yml": "checklists: [svc]\n", "n": "2"})
    await replica(engine, client, clock)(push(REPO, "c2"))  # the other replica does not ask again
    assert org_reads(client) == 1
    org = client.add_repo(ORG)  # the default appears; its push reaches the first replica only
    org.set_commit("o1", {".readiness.yml": "checklists: [svc]\nissues:\n  labels: [team]\n"})
    await first(push(ORG, "o1"))
    platform.set_commit("c3", {".readiness.yml": "checklists: [svc]\n", "n": "3"})
    await replica(engine, client, clock)(push(REPO, "c3"))  # ... and the other replica sees it
    assert all("team" in i.labels for i in platform.issues.values())


async def test_an_org_default_learnt_by_one_replica_is_revalidated_by_another(engine):
    clock = Clock()
    client, platform, first = make(engine, clock)
    org = client.add_repo(ORG)
    org.set_commit("o1", {".readiness.yml": "checklists: [svc]\nissues:\n  labels: [team]\n"})
    platform.set_commit("c1", {".readiness.yml": "checklists: [svc]\n"})
    await first(push(REPO, "c1"))
    platform.set_commit("c2", {".readiness.yml": "checklists: [svc]\n", "n": "2"})
    await replica(engine, client, clock)(push(REPO, "c2"))
    # the file was downloaded once; the second replica only checked the validator (the head)
    assert [c for c in client.calls if c[1] == ORG and c[0] in ("file", "files")] == [
        ("file", ORG, ".readiness.yml", "o1")
    ]
    assert all("team" in i.labels for i in platform.issues.values())
