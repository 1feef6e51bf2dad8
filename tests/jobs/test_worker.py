"""The worker: retries, dead letters, rate limits, per-repository order, takeover, shutdown."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from sqlalchemy import Engine

from bot.config import Settings, load_settings
from bot.jobs.worker import Worker
from bot.metrics import DEAD_LETTERS, DELIVERIES
from bot.platforms.base import Invalid, RateLimited, Transient
from bot.store import queue
from bot.store.db import session_scope
from bot.store.models import Delivery

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now
        self.read = asyncio.Event()  # set once the worker has asked for the time

    def __call__(self) -> datetime:
        self.read.set()
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def settings(**overrides: object) -> Settings:
    base: dict[str, object] = dict(
        worker_concurrency=4, max_attempts=3, lease_seconds=60, retry_base_seconds=2, retry_max_seconds=30
    )
    return load_settings(**(base | overrides))


def put(
    engine: Engine, delivery_id: str, repo: str | None = "github:acme/api", *, now: datetime = T0
) -> None:
    with session_scope(engine) as session:
        queue.enqueue(
            session,
            platform="github",
            delivery_id=delivery_id,
            event="push",
            action=None,
            installation_id=42,
            repo_key=repo,
            payload=json.dumps({"n": delivery_id}).encode(),
            now=now,
        )


def stored(engine: Engine, delivery_id: str) -> Delivery:
    [d] = [d for d in queue.list_deliveries(engine, limit=1000) if d.delivery_id == delivery_id]
    return d


async def test_a_job_that_fails_twice_then_succeeds(engine: Engine) -> None:
    calls = 0

    async def flaky(delivery: Delivery) -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise Transient(f"502 Bad Gateway (call {calls})")

    put(engine, "d-1")
    clock = Clock()
    worker = Worker(engine, flaky, settings(), clock=clock, rng=random.Random(3))
    done_before = DELIVERIES.labels("github", "push", "done")._value.get()

    assert await worker.run_once() == 1
    assert stored(engine, "d-1").status == "pending"
    assert await worker.run_once() == 0  # backing off: not due yet
    clock.advance(30)  # retry_max_seconds: surely due
    assert await worker.run_once() == 1
    clock.advance(30)
    assert await worker.run_once() == 1

    d = stored(engine, "d-1")
    assert (d.status, d.attempts, calls) == ("done", 3, 3)
    assert d.last_error == "Transient: 502 Bad Gateway (call 2)"  # kept for the operator
    assert DELIVERIES.labels("github", "push", "done")._value.get() == done_before + 1


async def test_dead_letter_after_max_attempts_then_operator_retry_succeeds(engine: Engine) -> None:
    broken = True

    async def handler(delivery: Delivery) -> None:
        if broken:
            raise Transient("GitHub is down")

    put(engine, "d-1")
    clock = Clock()
    worker = Worker(engine, handler, settings(max_attempts=3), clock=clock)
    dead_before = DEAD_LETTERS._value.get()
    for _ in range(5):
        await worker.run_once()
        clock.advance(30)

    d = stored(engine, "d-1")
    assert (d.status, d.attempts, d.last_error) == ("dead", 3, "Transient: GitHub is down")
    assert DEAD_LETTERS._value.get() == dead_before + 1

    broken = False
    queue.retry(engine, d.id, now=clock())  # type: ignore[arg-type]
    assert await worker.run_once() == 1
    assert stored(engine, "d-1").status == "done"


async def test_a_permanent_error_dead_letters_at_once(engine: Engine) -> None:
    async def handler(delivery: Delivery) -> None:
        raise Invalid("422 Validation Failed: title is too long")

    put(engine, "d-1")
    await Worker(engine, handler, settings(max_attempts=8), clock=Clock()).run_once()
    d = stored(engine, "d-1")
    assert (d.status, d.attempts) == ("dead", 1)
    assert "title is too long" in (d.last_error or "")


async def test_a_rate_limit_waits_without_using_up_attempts(engine: Engine) -> None:
    limited = 5

    async def handler(delivery: Delivery) -> None:
        nonlocal limited
        if limited:
            limited -= 1
            raise RateLimited("secondary rate limit", retry_after=120)

    put(engine, "d-1")
    clock = Clock()
    worker = Worker(engine, handler, settings(max_attempts=2), clock=clock)
    for _ in range(5):  # more rate limits than max_attempts: still not dead
        assert await worker.run_once() == 1
        d = stored(engine, "d-1")
        assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 0, clock() + timedelta(seconds=120))
        clock.advance(119)
        assert await worker.run_once() == 0
        clock.advance(1)
    assert await worker.run_once() == 1
    assert stored(engine, "d-1").status == "done"


async def test_repositories_run_in_parallel_and_each_repository_in_order(engine: Engine) -> None:
    for i in range(3):
        put(engine, f"a{i}", "github:acme/a")
        put(engine, f"b{i}", "github:acme/b")
    order: dict[str, list[str]] = defaultdict(list)
    active: dict[str, int] = defaultdict(int)
    b_started = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        repo = delivery.repo_key or ""
        active[repo] += 1
        assert active[repo] == 1, "two deliveries of one repository ran at once"
        if delivery.delivery_id == "b0":
            b_started.set()
        if delivery.delivery_id == "a0":
            # only returns if repository b is being worked on at the same time
            await asyncio.wait_for(b_started.wait(), timeout=5)
        await asyncio.sleep(0)  # yield, so an overlapping delivery of the same repo would show
        order[repo].append(delivery.delivery_id)
        active[repo] -= 1

    assert await Worker(engine, handler, settings(worker_concurrency=2), clock=Clock()).run_once() == 6
    assert order == {"github:acme/a": ["a0", "a1", "a2"], "github:acme/b": ["b0", "b1", "b2"]}
    assert all(d.status == "done" for d in queue.list_deliveries(engine))


async def test_a_killed_workers_job_is_done_by_another_worker(engine: Engine) -> None:
    put(engine, "d-1")
    [_claimed] = queue.claim(engine, owner="killed-worker", now=T0, lease_seconds=60, limit=1)
    seen: list[str] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery.delivery_id)

    clock = Clock()
    survivor = Worker(engine, handler, settings(lease_seconds=60), clock=clock)
    assert await survivor.run_once() == 0  # the lease is still valid
    clock.advance(60)
    assert await survivor.run_once() == 1
    d = stored(engine, "d-1")
    assert (seen, d.status, d.attempts) == (["d-1"], "done", 2)


async def test_every_log_line_of_a_job_carries_delivery_id_and_repository(engine: Engine) -> None:
    cap = structlog.testing.LogCapture()
    old = structlog.get_config()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, cap])
    try:

        async def handler(delivery: Delivery) -> None:
            structlog.get_logger("handler").info("working")
            raise Transient("boom")

        put(engine, "gh-delivery-1", "github:acme/api")
        await Worker(engine, handler, settings(), clock=Clock()).run_once()
    finally:
        structlog.configure(**old)
    job_lines = [
        e for e in cap.entries if e["event"] in {"delivery started", "working", "delivery failed; will retry"}
    ]
    assert len(job_lines) == 3
    assert all(e["delivery_id"] == "gh-delivery-1" and e["repo"] == "github:acme/api" for e in job_lines)


async def test_notify_wakes_the_worker_before_its_poll_interval(engine: Engine) -> None:
    handled = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        handled.set()

    put(engine, "d-1", now=T0 + timedelta(seconds=10))  # not due at the worker's first claim
    clock = Clock()
    worker = Worker(engine, handler, settings(poll_interval_seconds=3600), clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(clock.read.wait(), timeout=5)  # the first claim has taken its `now`
    clock.advance(10)
    worker.notify()  # without this the worker would sleep for an hour
    await asyncio.wait_for(handled.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert stored(engine, "d-1").status == "done"


async def test_shutdown_lets_a_job_in_flight_finish_and_takes_no_new_work(engine: Engine) -> None:
    started, finish = asyncio.Event(), asyncio.Event()
    seen: list[str] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery.delivery_id)
        started.set()
        await finish.wait()

    put(engine, "first", "github:acme/a")
    worker = Worker(engine, handler, settings(poll_interval_seconds=3600), clock=Clock(), grace_seconds=30)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(started.wait(), timeout=5)
    stop.set()
    put(engine, "second", "github:acme/b")
    worker.notify()
    finish.set()
    await asyncio.wait_for(task, timeout=5)

    assert seen == ["first"]
    assert stored(engine, "first").status == "done"
    assert stored(engine, "second").status == "pending"


async def test_shutdown_releases_a_job_that_outlives_the_grace_period(engine: Engine) -> None:
    started = asyncio.Event()

    async def stuck(delivery: Delivery) -> None:
        started.set()
        await asyncio.Event().wait()  # never finishes

    put(engine, "d-1")
    worker = Worker(engine, stuck, settings(poll_interval_seconds=3600), clock=Clock(), grace_seconds=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(started.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)

    d = stored(engine, "d-1")
    assert (d.status, d.attempts, d.lease_owner) == ("pending", 0, None)  # next worker starts at once
    assert [x.delivery_id for x in queue.claim(engine, owner="next", now=T0, lease_seconds=60, limit=5)] == [
        "d-1"
    ]


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_run_once_drains_everything_due(engine: Engine, concurrency: int) -> None:
    for i in range(10):
        put(engine, f"d{i}", f"github:acme/r{i % 4}")
    handled: list[str] = []

    async def handler(delivery: Delivery) -> None:
        handled.append(delivery.delivery_id)

    worker = Worker(engine, handler, settings(worker_concurrency=concurrency), clock=Clock())
    assert await worker.run_once() == 10
    assert sorted(handled) == sorted(f"d{i}" for i in range(10))
    assert queue.stats(engine, now=T0) == (0, 0.0)


KILLED_WORKER = """
import asyncio, sys
from datetime import datetime
from bot.config import load_settings
from bot.jobs.worker import Worker
from bot.store.db import make_engine

async def hang(delivery):
    print("started", delivery.delivery_id, flush=True)
    await asyncio.Event().wait()

clock = lambda: datetime.fromisoformat(sys.argv[2])
engine = make_engine(sys.argv[1])
asyncio.run(Worker(engine, hang, load_settings(lease_seconds=60), owner="doomed", clock=clock).run_once())
"""


@pytest.mark.slow
async def test_a_worker_process_killed_mid_job_loses_nothing(engine: Engine, db_url: str) -> None:
    put(engine, "d-1")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLED_WORKER, db_url, T0.isoformat(), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        line = b""
        while not line.startswith(b"started "):  # skip its log lines
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
            assert line, "the worker process exited before starting the job"
        assert line.decode().split() == ["started", "d-1"]
    finally:
        if proc.returncode is None:
            proc.kill()  # SIGKILL: no cleanup, no release
        await proc.wait()
    assert stored(engine, "d-1").lease_owner == "doomed"

    handled: list[str] = []

    async def handler(delivery: Delivery) -> None:
        handled.append(delivery.delivery_id)

    clock = Clock(T0 + timedelta(seconds=60))  # the dead worker's lease has run out
    assert await Worker(engine, handler, settings(lease_seconds=60), clock=clock).run_once() == 1
    d = stored(engine, "d-1")
    assert (handled, d.status, d.attempts) == (["d-1"], "done", 2)
