"""Short leases, heartbeats and taking over a dead process's claims (issue 12 finding 11):
after a worker is killed and the bot restarts, its work resumes at once, not minutes later."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.config import load_settings
from bot.jobs.worker import Worker, dead_owners
from bot.store import queue
from bot.store.models import Delivery

from .test_worker import T0, Clock, put, settings, stored


def a_dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_default_lease_is_short_and_renewed_three_times_within_it() -> None:
    defaults = load_settings()
    assert defaults.lease_seconds <= 30
    assert defaults.heartbeat_seconds * 3 <= defaults.lease_seconds


@pytest.mark.parametrize("how", ["process gone", "pid reused by the restarted bot"])
async def test_a_restarted_bot_takes_over_the_dead_processs_claim_at_once(engine: Engine, how: str) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite-only: one process, so a dead process's claims are known to be dead")
    pid = a_dead_pid() if how == "process gone" else os.getpid()
    put(engine, "d-1")
    queue.claim(engine, owner=f"{socket.gethostname()}:{pid}:deadbeef", now=T0, lease_seconds=30, limit=1)
    stop = asyncio.Event()
    seen: list[str] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery.delivery_id)
        stop.set()

    clock = Clock()  # time never moves: the old lease (30 s) is still valid throughout
    worker = Worker(engine, handler, settings(lease_seconds=30), clock=clock)
    await asyncio.wait_for(worker.run(stop), timeout=20)
    assert seen == ["d-1"]
    assert stored(engine, "d-1").status == "done"


def test_claims_of_live_or_foreign_workers_are_not_taken_over() -> None:
    host = socket.gethostname()
    alive_elsewhere = f"{host}:{os.getppid()}:aaaa"
    other_host = f"elsewhere.example:{a_dead_pid()}:bbbb"
    gone = f"{host}:{a_dead_pid()}:cccc"
    assert dead_owners([alive_elsewhere, other_host, gone, "not-an-owner"]) == [gone]


def renewals_timer() -> tuple[Clock, list[float], asyncio.Event, Callable[[float], Awaitable[None]]]:
    """The worker's heartbeat timer on a test clock: each wait advances the clock, and the event
    is set once the third renewal has been written (the fourth wait begins)."""
    clock, slept, renewed = Clock(), [], asyncio.Event()

    async def heartbeat_timer(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)
        if len(slept) == 4:
            renewed.set()
        await asyncio.sleep(0)

    return clock, slept, renewed, heartbeat_timer


async def test_a_running_job_renews_its_lease_every_heartbeat(engine: Engine) -> None:
    put(engine, "long")
    clock, slept, renewed, heartbeat_timer = renewals_timer()

    async def handler(_delivery: Delivery) -> None:
        await asyncio.wait_for(renewed.wait(), timeout=10)
        # 20 s in: past the first lease (15 s), yet nobody else may take the job
        assert queue.claim(engine, owner="other", now=clock.now, lease_seconds=15, limit=1) == []

    worker = Worker(
        engine, handler, settings(lease_seconds=15, heartbeat_seconds=5), clock=clock, sleep=heartbeat_timer
    )
    assert await worker.run_once() == 1
    assert slept[:3] == [5, 5, 5]
    assert stored(engine, "long").status == "done"
    assert clock.now - T0 >= timedelta(seconds=20)


async def test_leases_are_renewed_while_every_shared_thread_is_blocked(engine: Engine) -> None:
    """A job whose own blocking calls (an advisory-lock wait, a slow query) fill asyncio's shared
    thread pool must still keep its lease; before, the renewal queued behind them and expired."""
    put(engine, "blocked")
    clock, _, renewed, heartbeat_timer = renewals_timer()
    loop = asyncio.get_running_loop()
    shared = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(shared)

    async def handler(_delivery: Delivery) -> None:
        release = threading.Event()
        blocked = loop.run_in_executor(None, release.wait, 30)  # the only shared thread
        try:
            await asyncio.wait_for(renewed.wait(), timeout=10)
        finally:
            release.set()
            await blocked

    worker = Worker(
        engine, handler, settings(lease_seconds=15, heartbeat_seconds=5), clock=clock, sleep=heartbeat_timer
    )
    try:
        assert await worker.run_once() == 1
    finally:
        shared.shutdown(wait=False)
    assert stored(engine, "blocked").status == "done"
