"""Periodic resync: one delivery per active repository and time bucket, whoever enqueues it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.config import load_settings
from bot.core.events import Event, Kind
from bot.jobs.handlers import Dispatcher
from bot.jobs.scheduler import RESYNC_EVENT, Scheduler, enqueue_resyncs, resync_delivery_id, start
from bot.jobs.worker import Worker
from bot.store import queue, repos
from bot.store.db import session_scope
from bot.store.models import Delivery

T0 = datetime(2026, 11, 22, 13, 20, tzinfo=UTC)
HOUR = 3600


def seed(engine: Engine) -> None:
    with session_scope(engine) as s:
        repos.upsert_installation(s, platform="github", installation_id=1, account="acme", now=T0)
        repos.upsert_installation(s, platform="github", installation_id=2, suspended=True, now=T0)
        repos.upsert_repository(
            s,
            platform="github",
            full_name="acme/api",
            platform_id=10,
            installation_id=1,
            default_branch="main",
            now=T0,
        )
        repos.upsert_repository(
            s, platform="github", full_name="acme/old", installation_id=1, active=False, now=T0
        )
        repos.upsert_repository(s, platform="github", full_name="paused/app", installation_id=2, now=T0)
        repos.upsert_repository(s, platform="gitlab", full_name="group/sub/svc", platform_id=7, now=T0)


def test_one_resync_per_active_repository_and_bucket(engine: Engine) -> None:
    seed(engine)
    assert enqueue_resyncs(engine, now=T0, interval_seconds=HOUR) == 2
    deliveries = sorted(queue.list_deliveries(engine), key=lambda d: d.repo_key or "")
    assert [(d.platform, d.delivery_id, d.event, d.repo_key) for d in deliveries] == [
        ("github", "resync:github:acme/api:2026-11-22T13:00Z", RESYNC_EVENT, "github:acme/api"),
        ("gitlab", "resync:gitlab:group/sub/svc:2026-11-22T13:00Z", RESYNC_EVENT, "gitlab:group/sub/svc"),
    ]
    # a second replica, or a second firing, in the same hour adds nothing
    assert enqueue_resyncs(engine, now=T0 + timedelta(minutes=39), interval_seconds=HOUR) == 0
    assert enqueue_resyncs(engine, now=T0 + timedelta(minutes=40), interval_seconds=HOUR) == 2


def test_very_long_repository_paths_still_fit_the_delivery_id() -> None:
    key = "gitlab:" + "/".join(["deeply-nested-group"] * 10)
    delivery_id = resync_delivery_id(key, "2026-11-22T13:00Z")
    assert len(delivery_id) <= 128 and delivery_id.endswith(":2026-11-22T13:00Z")
    assert delivery_id != resync_delivery_id(key + "x", "2026-11-22T13:00Z")


async def test_a_resync_reaches_sync_as_a_schedule_event_for_its_repository(engine: Engine) -> None:
    seed(engine)
    seen: list[Event] = []

    async def sync(event: Event, delivery: Delivery) -> None:
        seen.append(event)

    woken: list[bool] = []
    settings = load_settings(resync_interval_hours=1)
    scheduler = Scheduler(engine, settings, on_enqueue=lambda: woken.append(True), clock=lambda: T0)
    assert await scheduler.resync() == 2
    assert woken == [True]  # the local worker is told at once
    await Worker(engine, Dispatcher(engine, sync=sync), settings, clock=lambda: T0).run_once()

    gh = next(e for e in seen if e.platform == "github")
    assert (gh.kind, gh.name, gh.installation_id) == (Kind.SCHEDULE, RESYNC_EVENT, 1)
    assert gh.repo is not None and (gh.repo.full_name, gh.repo.id, gh.repo.default_branch) == (
        "acme/api",
        10,
        "main",
    )
    assert {e.repo.full_name for e in seen if e.repo} == {"acme/api", "group/sub/svc"}


async def test_replicas_fire_at_the_same_aligned_moments(engine: Engine) -> None:
    scheduler = start(load_settings(resync_interval_hours=6), engine)
    try:
        fire = scheduler.next_resync
        assert fire is not None and fire.timestamp() % (6 * HOUR) == 0
        assert fire - datetime.now(UTC) <= timedelta(hours=6)
    finally:
        scheduler.shutdown(wait=True)
    assert scheduler.next_resync is None


async def test_done_deliveries_older_than_a_week_are_pruned_dead_ones_kept(engine: Engine) -> None:
    seed(engine)
    enqueue_resyncs(engine, now=T0, interval_seconds=HOUR)
    [a, b] = queue.claim(engine, owner="w", now=T0, lease_seconds=60, limit=2)
    queue.complete(engine, a.id, owner="w", now=T0)  # type: ignore[arg-type]
    queue.fail(engine, b.id, owner="w", error="gone", now=T0, retry_at=None)  # type: ignore[arg-type]

    week = Scheduler(engine, load_settings(), clock=lambda: T0 + timedelta(days=7))
    assert await week.prune() == 0  # exactly a week old: kept
    later = Scheduler(engine, load_settings(), clock=lambda: T0 + timedelta(days=7, seconds=1))
    assert await later.prune() == 1
    assert [d.status for d in queue.list_deliveries(engine)] == ["dead"]
