"""The worker: claims stored deliveries and runs the handler on each, surviving crashes.

Ordering and parallelism come from the queue (`bot.store.queue.claim` leases at most the oldest
unfinished delivery of each repository), so several workers, in one process or many, keep each
repository's deliveries one at a time and in order while different repositories run in
parallel. This module adds the loop around it: how many jobs run at once, what a failure means
(retry with backoff, wait out a rate limit, or dead-letter), lease renewal for long jobs,
metrics and logs, and a graceful stop that hands unfinished work back to the queue.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine

from bot.config import Settings
from bot.jobs.health import Heartbeat
from bot.logging import get_logger
from bot.metrics import DEAD_LETTERS, DELIVERIES, PROCESSING_SECONDS, RETRIES
from bot.platforms.base import RateLimited
from bot.store import queue
from bot.store.db import is_sqlite
from bot.store.models import Delivery, utcnow

log = get_logger(__name__)

Handler = Callable[[Delivery], Awaitable[None]]


# Lease renewals run on threads of their own: on asyncio's shared pool (a handful of threads on
# a small machine) they queued behind blocking database calls, `pg_advisory_lock` waits among
# them, and leases of jobs still running expired, so another worker ran them a second time.
_LEASES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readiness-lease")
_LIVE_OWNERS: set[str] = set()  # workers serving in this process (their claims are not stale)


def default_owner() -> str:
    """Unique per worker instance; the host and pid tell an operator whose claim a row holds,
    and let a restarted process recognise the claims of the dead one (`dead_owners`)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def dead_owners(owners: list[str], *, host: str | None = None, pid: int | None = None) -> list[str]:
    """The claim owners that are certainly dead: on this host, and either their process is gone or
    it is this very process (a restarted container reuses the pid) but no worker here has that
    name. Owners on other hosts or in other shapes are left to lease expiry."""
    host = host or socket.gethostname()
    pid = pid or os.getpid()
    dead = []
    for owner in owners:
        owner_host, _, rest = owner.partition(":")
        owner_pid, _, _suffix = rest.partition(":")
        if owner_host != host or not owner_pid.isdigit():
            continue
        if int(owner_pid) == pid:
            if owner not in _LIVE_OWNERS:
                dead.append(owner)
        elif not _pid_alive(int(owner_pid)):
            dead.append(owner)
    return dead


class Worker:
    """Runs `handler` on claimed deliveries. `run(stop)` serves until `stop` is set;
    `run_once()` drains what is due now (tests, one-shot commands)."""

    def __init__(
        self,
        engine: Engine,
        handler: Handler,
        settings: Settings,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        grace_seconds: float = 25.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.engine, self.handler, self.settings = engine, handler, settings
        self.owner = owner or default_owner()
        self.clock = clock
        self.rng = rng or random.Random()  # retry jitter, not a secret  # noqa: S311  # nosec B311
        self.grace_seconds = grace_seconds
        self._sleep = sleep  # the heartbeat's timer (tests drive it with their clock)
        self.heartbeat = heartbeat or Heartbeat()  # read by the health server's /healthz and /readyz
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------------------ serving

    def notify(self) -> None:
        """New work was committed: claim now instead of at the next poll. Safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            same_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; then take no new work, let jobs in flight finish for up to
        `grace_seconds`, and release the claims of those that did not."""
        self._loop = asyncio.get_running_loop()
        running: set[asyncio.Task[str]] = set()
        _LIVE_OWNERS.add(self.owner)
        if is_sqlite(self.engine):
            await self.take_over_dead_claims()
        stop_wait = asyncio.create_task(stop.wait())
        log.info("worker started", owner=self.owner, concurrency=self.settings.worker_concurrency)
        self.heartbeat.starting = False
        try:
            while not stop.is_set():
                self.heartbeat.beat()
                free = self.settings.worker_concurrency - len(running)
                if free > 0:
                    self._wake.clear()  # a notify() during the claim below wakes the next round
                    for delivery in await self._claim(free):
                        running.add(asyncio.create_task(self._process(delivery)))
                wake_wait = asyncio.create_task(self._wake.wait())
                await asyncio.wait(
                    {stop_wait, wake_wait, *running},
                    timeout=self.settings.poll_interval_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                wake_wait.cancel()
                for task in [t for t in running if t.done()]:
                    running.discard(task)
                    if not task.cancelled() and task.exception() is not None:
                        # recording the outcome failed (database down?): the lease will expire
                        # and the delivery will be taken again, so nothing is lost
                        log.error("recording a delivery outcome failed", error=repr(task.exception()))
        finally:
            self.heartbeat.stopping = True
            stop_wait.cancel()
            await self._shutdown(running)
            _LIVE_OWNERS.discard(self.owner)
            self._loop = None

    async def take_over_dead_claims(self) -> int:
        """SQLite (one process): the claims of a process that died on this host are due now, not
        when their lease runs out, so work resumes as soon as the bot restarts."""
        try:
            owners = await asyncio.to_thread(queue.claim_owners, self.engine)
            dead = dead_owners(owners)
            expired = await asyncio.to_thread(queue.expire_claims, self.engine, dead, now=self.clock())
        except Exception as exc:  # the lease expires on its own: only a delay
            log.error("taking over dead claims failed", error=f"{type(exc).__name__}: {exc}")
            return 0
        if expired:
            log.warning("took over the claims of a dead worker", owners=dead, deliveries=expired)
        return expired

    async def run_once(self) -> int:
        """Process every delivery due now (each at most once) and return how many were attempted."""
        attempted: set[int] = set()
        running: dict[asyncio.Task[str], int] = {}
        while True:
            free = self.settings.worker_concurrency - len(running)
            if free > 0:
                for delivery in await self._claim(free):
                    assert delivery.id is not None
                    if delivery.id in attempted:  # failed and already due again: next call
                        await asyncio.to_thread(queue.release, self.engine, self.owner, ids=[delivery.id])
                        continue
                    attempted.add(delivery.id)
                    running[asyncio.create_task(self._process(delivery))] = delivery.id
            if not running:
                return len(attempted)
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                del running[task]
                task.result()  # surface a failure to record an outcome to the caller

    async def _claim(self, limit: int) -> list[Delivery]:
        try:
            return await asyncio.to_thread(
                queue.claim,
                self.engine,
                owner=self.owner,
                now=self.clock(),
                lease_seconds=self.settings.lease_seconds,
                limit=limit,
                max_attempts=self.settings.max_attempts,
            )
        except Exception as exc:  # the database is down: keep serving, try again at the next poll
            log.error("claiming deliveries failed", error=f"{type(exc).__name__}: {exc}")
            return []

    async def _shutdown(self, running: set[asyncio.Task[str]]) -> None:
        if running:
            log.info("worker stopping: waiting for jobs in flight", jobs=len(running))
            _, late = await asyncio.wait(running, timeout=self.grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        released = await asyncio.to_thread(queue.release, self.engine, self.owner)
        log.info("worker stopped", owner=self.owner, released=released)

    # ----------------------------------------------------------------------------- one job

    async def _process(self, delivery: Delivery) -> str:
        """Run one attempt and record its outcome; returns done | retry | dead | lost."""
        assert delivery.id is not None  # claimed rows are stored rows
        labels = {"platform": delivery.platform, "event": delivery.event}
        with structlog.contextvars.bound_contextvars(
            delivery_id=delivery.delivery_id, repo=delivery.repo_key
        ):
            log.info(
                "delivery started", webhook=delivery.event, action=delivery.action, attempt=delivery.attempts
            )
            started = time.perf_counter()
            heartbeat = asyncio.create_task(self._keep_lease(delivery))
            try:
                await self.handler(delivery)
            except asyncio.CancelledError:
                log.warning("delivery interrupted by shutdown; its claim will be released")
                raise
            except Exception as exc:
                outcome = await self._failed(delivery, exc)
            else:
                ok = await asyncio.to_thread(
                    queue.complete, self.engine, delivery.id, owner=self.owner, now=self.clock()
                )
                outcome = "done" if ok else "lost"
                if ok:
                    log.info("delivery done", seconds=round(time.perf_counter() - started, 3))
                else:
                    log.warning("delivery finished after its lease was taken over; result not recorded")
            finally:
                heartbeat.cancel()
                PROCESSING_SECONDS.labels(**labels).observe(time.perf_counter() - started)
            if outcome != "lost":
                DELIVERIES.labels(outcome=outcome, **labels).inc()
            return outcome

    async def _failed(self, delivery: Delivery, exc: Exception) -> str:
        assert delivery.id is not None  # claimed rows are stored rows
        now = self.clock()
        error = f"{type(exc).__name__}: {exc}"
        count_attempt = True
        if isinstance(exc, RateLimited):  # a rate limit delays work, never drops it
            retry_at: datetime | None = now + timedelta(seconds=max(0.0, exc.retry_after))
            count_attempt = False
        elif getattr(exc, "transient", True) is False:
            retry_at = None  # retrying the same thing cannot help
        else:
            retry_at = queue.next_retry(
                delivery.attempts,
                max_attempts=self.settings.max_attempts,
                now=now,
                base=self.settings.retry_base_seconds,
                cap=self.settings.retry_max_seconds,
                rng=self.rng,
            )
        status = await asyncio.to_thread(
            queue.fail,
            self.engine,
            delivery.id,
            owner=self.owner,
            error=error,
            now=now,
            retry_at=retry_at,
            count_attempt=count_attempt,
        )
        if status is None:
            log.warning("delivery failed after its lease was taken over", error=error)
            return "lost"
        if status == queue.DEAD:
            DEAD_LETTERS.inc()
            log.error("delivery dead-lettered", error=error, attempts=delivery.attempts)
            return "dead"
        RETRIES.inc()
        assert retry_at is not None
        log.warning(
            "delivery failed; will retry",
            error=error,
            attempt=delivery.attempts,
            retry_in=round((retry_at - now).total_seconds(), 3),
            exc_info=not hasattr(exc, "transient"),  # a bug, not a platform hiccup: keep the trace
        )
        return "retry"

    async def _keep_lease(self, delivery: Delivery) -> None:
        """Renew the lease while a job runs (every `heartbeat_seconds`, at least three times per
        lease), so no other worker takes it over meanwhile, while a dead worker's lease is short."""
        every = min(self.settings.heartbeat_seconds, self.settings.lease_seconds / 3)
        assert delivery.id is not None  # claimed rows are stored rows
        while True:
            await self._sleep(every)
            until = self.clock() + timedelta(seconds=self.settings.lease_seconds)
            renew = functools.partial(queue.extend, self.engine, delivery.id, owner=self.owner, until=until)
            if not await asyncio.get_running_loop().run_in_executor(_LEASES, renew):
                log.warning("lease lost while the delivery was still running")
                return
