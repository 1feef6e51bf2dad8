"""A burst of deliveries for one repository becomes one sync; every delivery is still marked done."""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any

from sqlalchemy import Engine

from bot.config import load_settings
from bot.core.events import Event, Kind
from bot.jobs.handlers import Dispatcher
from bot.jobs.worker import Worker
from bot.metrics import COALESCED
from bot.platforms.registry import GITHUB, PLATFORMS
from bot.store import queue
from bot.store.db import session_scope
from bot.store.models import Delivery

REPO = {"full_name": "acme/api", "id": 1, "default_branch": "main"}


def ci_payload(sha: str) -> dict[str, object]:
    return {
        "action": "completed",
        "check_suite": {
            "head_branch": "main",
            "head_sha": sha,
            "conclusion": "success",
            "app": {"name": "GitHub Actions"},
        },
        "repository": REPO,
        "installation": {"id": 42},
        "sender": {"login": "ci", "type": "User"},
    }


def put(engine: Engine, n: int, event: str, payload: dict[str, object]) -> None:
    with session_scope(engine) as session:
        queue.enqueue(
            session,
            platform="github",
            delivery_id=f"d-{n}",
            event=event,
            action=None,
            installation_id=42,
            repo_key="github:acme/api",
            payload=json.dumps(payload).encode(),
        )


def by_delivery_id(engine: Engine) -> dict[str, Delivery]:
    return {d.delivery_id: d for d in queue.list_deliveries(engine, limit=100)}


async def run(engine: Engine) -> list[Event]:
    synced: list[Event] = []

    async def sync(event: Event, delivery: Delivery) -> None:
        synced.append(event)

    worker = Worker(engine, Dispatcher(engine, sync=sync), load_settings(), rng=random.Random(1))
    while await worker.run_once():
        pass
    return synced


async def test_twenty_deliveries_for_one_repository_make_one_sync_and_all_are_done(engine):
    for n in range(20):
        put(engine, n, "check_suite", ci_payload("c1"))
    before = COALESCED.labels("github")._value.get()
    synced = await run(engine)
    assert len(synced) == 1 and synced[0].commit == "c1"
    rows = by_delivery_id(engine)
    assert {d.status for d in rows.values()} == {"done"}
    first = rows["d-0"].id
    assert {rows[f"d-{n}"].covered_by for n in range(1, 20)} == {first}
    assert COALESCED.labels("github")._value.get() == before + 19


async def test_the_newest_default_branch_push_is_what_gets_synced(engine):
    put(engine, 0, "check_suite", ci_payload("c1"))
    push = {"ref": "refs/heads/main", "after": "c2", "repository": REPO, "installation": {"id": 42}}
    put(engine, 1, "push", push)
    put(engine, 2, "check_suite", ci_payload("c2"))
    [event] = await run(engine)
    assert (event.kind, event.commit) == (Kind.PUSH, "c2")


def put_burst_with_a_persons_edit(engine) -> None:
    """CI, CI, a person's issue edit, CI: the edit stops the run coalescing takes."""
    put(engine, 0, "check_suite", ci_payload("c1"))
    put(engine, 1, "check_suite", ci_payload("c1"))
    edit = {"action": "edited", "issue": {"number": 3, "body": "x"}, "repository": REPO}
    put(engine, 2, "issues", edit | {"installation": {"id": 42}, "sender": {"login": "alice"}})
    put(engine, 3, "check_suite", ci_payload("c1"))


async def test_a_persons_edit_in_the_burst_keeps_its_place_and_its_own_handling(engine):
    put_burst_with_a_persons_edit(engine)
    synced = await run(engine)
    assert [e.kind for e in synced] == [Kind.CI, Kind.ISSUE_EDITED, Kind.CI]
    rows = by_delivery_id(engine)
    assert rows["d-1"].covered_by == rows["d-0"].id and rows["d-3"].covered_by is None


async def test_each_delivery_is_normalised_once_though_coalescing_read_it_ahead(engine, monkeypatch):
    read: list[str] = []

    def counting(event: str, payload: dict[str, Any]) -> Event:
        read.append(event)
        return GITHUB.normalize(event, payload)

    monkeypatch.setitem(PLATFORMS, "github", dataclasses.replace(GITHUB, normalize=counting))
    put_burst_with_a_persons_edit(engine)
    synced = await run(engine)
    assert [e.kind for e in synced] == [Kind.CI, Kind.ISSUE_EDITED, Kind.CI]
    # d-2 was read while coalescing behind d-0, where it stopped the run; its own turn reuses that
    assert read == ["check_suite", "check_suite", "issues", "check_suite"]


def comment_payload(comment_id: int, body: str) -> dict[str, object]:
    return {
        "action": "created",
        "issue": {"number": 7, "title": "Readiness", "body": "", "user": {"login": "alice"}},
        "comment": {"id": comment_id, "body": body, "user": {"login": "bob", "type": "User"}},
        "repository": REPO,
        "installation": {"id": 42},
        "sender": {"login": "bob", "type": "User"},
    }


async def test_comments_without_a_command_are_folded_into_the_sync_and_a_command_keeps_its_turn(engine):
    put(engine, 0, "check_suite", ci_payload("c1"))
    put(engine, 1, "issue_comment", comment_payload(101, "Thanks, looks good to me."))
    put(engine, 2, "check_suite", ci_payload("c1"))
    put(engine, 3, "issue_comment", comment_payload(102, "/readiness status"))
    put(engine, 4, "check_suite", ci_payload("c1"))
    synced = await run(engine)
    assert [e.kind for e in synced] == [Kind.CI, Kind.COMMENT, Kind.CI]
    rows = by_delivery_id(engine)
    assert {d.status for d in rows.values()} == {"done"}
    assert rows["d-1"].covered_by == rows["d-2"].covered_by == rows["d-0"].id
    assert rows["d-3"].covered_by is None and rows["d-4"].covered_by is None
