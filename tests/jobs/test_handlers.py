"""The dispatcher records installations and repositories from real payloads, then hands over."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from bot.config import load_settings
from bot.core.events import Event, Kind
from bot.jobs.handlers import Dispatcher
from bot.jobs.worker import Worker
from bot.platforms.base import Transient
from bot.store import queue
from bot.store.db import session_scope
from bot.store.models import Delivery, Installation, Repository
from bot.webhooks.normalize import normalize
from bot.webhooks.routes import repo_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def fixture(platform: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / platform / name).read_text())


class Recorder:
    """A `sync` that records what it was asked to do (and can fail on demand)."""

    def __init__(self, failures: int = 0) -> None:
        self.events: list[Event] = []
        self.failures = failures

    async def __call__(self, event: Event, delivery: Delivery) -> None:
        if self.failures:
            self.failures -= 1
            raise Transient("GitHub answered 502")
        self.events.append(event)


_counter = 0


def deliver(engine: Engine, platform: str, event: str, payload: dict[str, Any] | bytes) -> int:
    global _counter
    _counter += 1
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    # ordered the way the receiver orders it (one repository, or installation, at a time)
    key = repo_key(normalize(platform, event, payload)) if isinstance(payload, dict) else None
    with session_scope(engine) as session:
        queue.enqueue(
            session,
            platform=platform,
            delivery_id=f"d-{_counter}",
            event=event,
            action=None,
            installation_id=None,
            repo_key=key,
            payload=body,
            now=T0,
        )
    return _counter


async def process(engine: Engine, sync: Recorder | None = None) -> int:
    settings = load_settings(max_attempts=3, retry_base_seconds=0.001, retry_max_seconds=0.001)
    return await Worker(engine, Dispatcher(engine, sync=sync), settings, clock=lambda: T0).run_once()


def repositories(engine: Engine) -> dict[str, Repository]:
    with session_scope(engine) as s:
        return {r.full_name: r for r in s.exec(select(Repository)).all()}


def installations(engine: Engine) -> list[Installation]:
    with session_scope(engine) as s:
        return list(s.exec(select(Installation)).all())


async def test_an_installation_records_the_account_and_its_repositories(engine: Engine) -> None:
    sync = Recorder()
    deliver(engine, "github", "installation", fixture("github", "installation.created.payload.json"))
    assert await process(engine, sync) == 1

    [inst] = installations(engine)
    assert (inst.installation_id, inst.account, inst.suspended, inst.deleted) == (
        957387,
        "Codertocat",
        False,
        False,
    )
    repo = repositories(engine)["Codertocat/Hello-World"]
    assert (repo.active, repo.installation_id, repo.platform) == (True, 957387, "github")
    [event] = sync.events
    assert event.kind is Kind.INSTALLATION and [r.full_name for r in event.repos_added] == [
        "Codertocat/Hello-World"
    ]


async def test_repositories_added_and_removed_toggle_active_and_removed_ones_are_not_synced(
    engine: Engine,
) -> None:
    sync = Recorder()
    added = fixture("github", "installation_repositories.added.payload.json")
    deliver(engine, "github", "installation_repositories", added)
    await process(engine, sync)
    assert repositories(engine)["Codertocat/Space"].active is True

    removed = added | {
        "action": "removed",
        "repositories_added": [],
        "repositories_removed": added["repositories_added"],
    }
    deliver(engine, "github", "installation_repositories", removed)
    await process(engine, sync)  # (installation and repository keys are not ordered together)
    push = fixture("github", "push.with-new-branch.payload.json")
    push["repository"] = push["repository"] | {"full_name": "Codertocat/Space", "id": 1}
    deliver(engine, "github", "push", push)
    await process(engine, sync)

    assert repositories(engine)["Codertocat/Space"].active is False
    assert [e.kind for e in sync.events] == [Kind.INSTALLATION]  # nothing after the removal


async def test_an_uninstalled_app_deactivates_its_repositories(engine: Engine) -> None:
    sync = Recorder()
    created = fixture("github", "installation.created.payload.json")
    deliver(engine, "github", "installation", created)
    deliver(engine, "github", "installation", created | {"action": "deleted"})
    assert await process(engine, sync) == 2

    [inst] = installations(engine)
    assert inst.deleted is True
    assert repositories(engine)["Codertocat/Hello-World"].active is False
    assert len(sync.events) == 1  # the creation only


async def test_any_event_records_repository_metadata_and_goes_to_sync(engine: Engine) -> None:
    sync = Recorder()
    deliver(engine, "github", "push", fixture("github", "push.with-new-branch.payload.json"))
    deliver(engine, "gitlab", "Push Hook", fixture("gitlab", "push.json"))
    assert await process(engine, sync) == 2

    repos = repositories(engine)
    gh, gl = repos["Codertocat/Hello-World"], repos["mike/diaspora"]
    assert (gh.platform_id, gh.default_branch, gh.installation_id) == (186853002, "master", 1)
    assert (gl.platform, gl.platform_id) == ("gitlab", 15)
    assert sorted(e.kind.value for e in sync.events) == ["push", "push"]


async def test_a_renamed_repository_keeps_its_row(engine: Engine) -> None:
    push = fixture("github", "push.with-new-branch.payload.json")
    deliver(engine, "github", "push", push)
    await process(engine)
    before = repositories(engine)["Codertocat/Hello-World"]

    renamed = push | {"repository": push["repository"] | {"full_name": "Codertocat/Hello-Universe"}}
    deliver(engine, "github", "push", renamed)
    await process(engine)

    repos = repositories(engine)
    assert list(repos) == ["Codertocat/Hello-Universe"]
    assert repos["Codertocat/Hello-Universe"].id == before.id


async def test_a_retried_delivery_records_nothing_twice(engine: Engine) -> None:
    sync = Recorder(failures=1)
    deliver(engine, "github", "installation", fixture("github", "installation.created.payload.json"))
    await process(engine, sync)  # recorded, then sync failed: retry scheduled
    await process(engine, sync)  # a millisecond of backoff later... still T0 on this clock

    [d] = queue.list_deliveries(engine)
    assert d.status == "pending"
    settings = load_settings(max_attempts=3)
    later = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    await Worker(engine, Dispatcher(engine, sync=sync), settings, clock=lambda: later).run_once()
    assert queue.get(engine, d.id).status == "done"  # type: ignore[arg-type,union-attr]
    assert len(installations(engine)) == 1 and len(repositories(engine)) == 1
    assert len(sync.events) == 1


async def test_a_payload_that_is_not_json_is_dead_lettered_at_once(engine: Engine) -> None:
    deliver(engine, "github", "push", b"\x00not json")
    await process(engine, Recorder())
    [d] = queue.list_deliveries(engine)
    assert (d.status, d.attempts) == ("dead", 1)
    assert "payload is not JSON" in (d.last_error or "")


async def test_ping_and_unhandled_events_are_recorded_but_not_synced(engine: Engine) -> None:
    sync = Recorder()
    ping = {
        "zen": "Keep it logically awesome.",
        "hook_id": 1,
        "repository": {"full_name": "acme/api", "id": 7},
    }
    deliver(engine, "github", "ping", ping)
    deliver(engine, "github", "star", {"action": "created", "repository": {"full_name": "acme/api", "id": 7}})
    assert await process(engine, sync) == 2
    assert sync.events == []
    assert repositories(engine)["acme/api"].platform_id == 7


async def test_the_topics_a_payload_states_are_kept_until_a_payload_states_others(engine: Engine) -> None:
    from bot.store.repos import repository_topics

    push = fixture("github", "push.with-new-branch.payload.json")
    deliver(engine, "github", "push", push)
    await process(engine, Recorder())
    assert repository_topics(repositories(engine)["Codertocat/Hello-World"]) == ()
    push["repository"]["topics"] = ["library", "python"]
    deliver(engine, "github", "push", push)
    await process(engine, Recorder())
    assert repository_topics(repositories(engine)["Codertocat/Hello-World"]) == ("library", "python")
    del push["repository"]["topics"]  # a payload that does not say leaves what is known
    deliver(engine, "github", "push", push)
    await process(engine, Recorder())
    assert repository_topics(repositories(engine)["Codertocat/Hello-World"]) == ("library", "python")
    deliver(engine, "gitlab", "Push Hook", fixture("gitlab", "push.json"))
    await process(engine, Recorder())
    assert repository_topics(repositories(engine)["mike/diaspora"]) is None  # GitLab: unknown
