"""Periodic work, run by `readiness serve`: a resync of every active repository, a weekly-summary
check every 15 minutes (bot.jobs.summaries decides whether one is due), and pruning of done
deliveries older than a week (the queue table would otherwise grow forever).

The scheduler only *enqueues*; the worker does the work, in order with the repository's webhooks.
Fire times are aligned to multiples of the interval since the Unix epoch and each delivery id
names its time bucket, so every replica fires at the same moment and the queue's dedupe keeps
exactly one resync per repository and bucket, without any leader election.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from bot.config import Settings
from bot.core.settings import SummarySchedule
from bot.jobs.summaries import SUMMARY_EVENT, due_week
from bot.logging import get_logger
from bot.store import once, repos
from bot.store.db import session_scope
from bot.store.models import Repository, utcnow
from bot.store.queue import enqueue_many, prune

log = get_logger(__name__)

RESYNC_EVENT = "readiness.resync"
SUMMARY_INTERVAL = timedelta(minutes=15)  # how late a weekly summary may be
DONE_RETENTION = timedelta(days=7)  # done deliveries kept this long, for `readiness deliveries list`
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_DELIVERY_ID = 128


def bucket(now: datetime, interval_seconds: float) -> str:
    """The start of the interval `now` falls in, e.g. "2026-11-22T13:00Z"."""
    start = int(now.timestamp() // interval_seconds * interval_seconds)
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%MZ")


def resync_delivery_id(key: str, when: str, kind: str = "resync") -> str:
    delivery_id = f"{kind}:{key}:{when}"
    if len(delivery_id) > _MAX_DELIVERY_ID:  # very long GitLab paths: keep it unique, not readable
        delivery_id = f"{kind}:{hashlib.sha256(key.encode()).hexdigest()[:40]}:{when}"
    return delivery_id


def _row(repo: Repository, when: str, event: str = RESYNC_EVENT) -> dict[str, object]:
    key = repos.repo_key(repo.platform, repo.full_name)
    payload = {
        "repository": {
            "full_name": repo.full_name,
            "id": repo.platform_id,
            "default_branch": repo.default_branch,
        }
    }
    return {
        "platform": repo.platform,
        "delivery_id": resync_delivery_id(key, when, event.removeprefix("readiness.")),
        "event": event,
        "action": None,
        "installation_id": repo.installation_id,
        "repo_key": key[:600],
        "payload": json.dumps(payload).encode(),
    }


def enqueue_resyncs(engine: Engine, *, now: datetime, interval_seconds: float) -> int:
    """One resync delivery per active repository for the bucket `now` is in; returns how many
    were new (0 when another replica already enqueued this bucket)."""
    when = bucket(now, interval_seconds)
    with session_scope(engine, immediate=True) as session:  # reads, then writes
        rows = [_row(r, when) for r in repos.active_repositories(session)]
        return sum(enqueue_many(session, rows, now=now))


def enqueue_summaries(engine: Engine, *, now: datetime) -> int:
    """One `readiness.summary` delivery per repository whose weekly summary is due and not yet
    posted (the schedule stored by its last sync), at most one per hour until it is posted; the
    worker posts it in order with the repository's webhooks."""
    when = bucket(now, 3600)
    with session_scope(engine, immediate=True) as session:  # reads, then writes
        rows = []
        for r in repos.active_repositories(session):
            if r.config_status != "valid" or not r.summary_schedule or r.id is None:
                continue
            day, at, zone = r.summary_schedule.split(" ", 2)
            week = due_week(SummarySchedule(day=day, time=at, timezone=zone), now)
            if week is None or once.summary_posted(session, repository_id=r.id, week=week):
                continue
            rows.append(_row(r, f"{week}:{when}", SUMMARY_EVENT))
        return sum(enqueue_many(session, rows, now=now)) if rows else 0


class Scheduler:
    """Wraps APScheduler's AsyncIOScheduler; `start()` inside the running event loop."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        on_enqueue: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine, self.on_enqueue, self.clock = engine, on_enqueue, clock
        self.interval_seconds = settings.resync_interval_hours * 3600
        self._scheduler: AsyncIOScheduler | None = None

    async def resync(self) -> int:
        n = await asyncio.to_thread(
            enqueue_resyncs, self.engine, now=self.clock(), interval_seconds=self.interval_seconds
        )
        log.info("resync enqueued", repositories=n)
        if n and self.on_enqueue is not None:
            self.on_enqueue()
        return n

    async def summaries(self) -> int:
        n = await asyncio.to_thread(enqueue_summaries, self.engine, now=self.clock())
        if n and self.on_enqueue is not None:
            self.on_enqueue()
        return n

    async def prune(self) -> int:
        n = await asyncio.to_thread(prune, self.engine, finished_before=self.clock() - DONE_RETENTION)
        log.info("done deliveries pruned", deliveries=n, older_than_days=DONE_RETENTION.days)
        return n

    def start(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.resync,
            IntervalTrigger(seconds=self.interval_seconds, start_date=EPOCH, timezone=UTC),
            id="resync",
            coalesce=True,  # after a pause, one resync, not one per missed interval
            max_instances=1,
            misfire_grace_time=int(min(self.interval_seconds, 3600)),
        )
        scheduler.add_job(  # weekly summaries (commands helper)
            self.summaries,
            IntervalTrigger(seconds=SUMMARY_INTERVAL.total_seconds(), start_date=EPOCH, timezone=UTC),
            id="summaries",
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_job(
            self.prune,
            IntervalTrigger(hours=1, start_date=EPOCH, timezone=UTC),
            id="prune",
            coalesce=True,
            max_instances=1,
        )
        scheduler.start()
        self._scheduler = scheduler
        return scheduler

    @property
    def next_resync(self) -> datetime | None:
        job = self._scheduler.get_job("resync") if self._scheduler is not None else None
        return job.next_run_time if job is not None else None

    def shutdown(self, wait: bool = False) -> None:
        """Stop firing; `wait` also waits for a resync being enqueued right now."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        self._scheduler = None


def start(settings: Settings, engine: Engine, *, on_enqueue: Callable[[], None] | None = None) -> Scheduler:
    """Build and start the scheduler of `readiness serve` (call inside the running event loop)."""
    scheduler = Scheduler(engine, settings, on_enqueue=on_enqueue)
    scheduler.start()
    return scheduler
