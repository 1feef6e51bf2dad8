"""Group commit: many requests, one transaction; a 202 only after the commit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.webhooks.ingest import IngestClosed, Ingestor, NewDelivery, write_batch

from .helpers import stored


def item(n: int, platform: str = "github") -> NewDelivery:
    return NewDelivery(platform, f"d-{n}", "push", None, 1, "github:o/r", b"{}")


class GatedWriter:
    """A write function that holds its first batch until released, recording batch sizes."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, _engine: Engine, items: Sequence[NewDelivery]) -> list[bool]:
        self.sizes.append(len(items))
        self.entered.set()
        self.release.wait(timeout=10)
        return [True] * len(items)


async def wait_pending(ingestor: Ingestor, count: int) -> None:
    while ingestor.pending < count:
        await asyncio.sleep(0)  # yield to the submitting tasks (no timing involved)


async def test_requests_arriving_during_a_commit_share_the_next_one(engine: Engine) -> None:
    writer = GatedWriter()
    ingestor = Ingestor(engine, write=writer)
    await ingestor.start()
    first = asyncio.create_task(ingestor.submit(item(0)))
    await asyncio.to_thread(writer.entered.wait, 10)
    rest = [asyncio.create_task(ingestor.submit(item(i))) for i in range(1, 31)]
    await wait_pending(ingestor, 30)
    assert not first.done()  # not acknowledged before its commit returned
    writer.release.set()
    assert await asyncio.gather(first, *rest) == [True] * 31
    assert writer.sizes == [1, 30]
    await ingestor.stop()


async def test_a_failed_commit_fails_every_request_in_it_and_the_next_batch_still_works(
    engine: Engine,
) -> None:
    calls = []

    def flaky(_engine: Engine, items: Sequence[NewDelivery]) -> list[bool]:
        calls.append(len(items))
        if len(calls) == 1:
            raise OperationalError("COMMIT", {}, Exception("database went away"))
        return [True] * len(items)

    ingestor = Ingestor(engine, write=flaky)
    await ingestor.start()
    results = await asyncio.gather(*(ingestor.submit(item(i)) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, OperationalError) for r in results)
    assert await ingestor.submit(item(9)) is True
    await ingestor.stop()


async def test_stop_commits_what_was_accepted_then_refuses(engine: Engine) -> None:
    writer = GatedWriter()
    ingestor = Ingestor(engine, write=writer)
    await ingestor.start()
    tasks = [asyncio.create_task(ingestor.submit(item(0)))]
    await asyncio.to_thread(writer.entered.wait, 10)  # first batch is being written
    tasks += [asyncio.create_task(ingestor.submit(item(i))) for i in range(1, 5)]
    await wait_pending(ingestor, 4)
    stopping = asyncio.create_task(ingestor.stop())
    writer.release.set()
    await stopping
    assert all(t.result() is True for t in tasks)
    assert writer.sizes == [1, 4]
    with pytest.raises(IngestClosed):
        await ingestor.submit(item(99))


async def test_real_batches_dedupe_within_and_across_commits(engine: Engine) -> None:
    committed: list[int] = []
    ingestor = Ingestor(engine, on_commit=committed.append)
    await ingestor.start()
    batch = [item(1), item(2), item(1), item(1, platform="gitlab")]
    assert await asyncio.gather(*(ingestor.submit(i) for i in batch)) == [True, True, False, True]
    assert await ingestor.submit(item(2)) is False
    await ingestor.stop()
    assert sorted((r.platform, r.delivery_id) for r in stored(engine)) == [
        ("github", "d-1"),
        ("github", "d-2"),
        ("gitlab", "d-1"),
    ]
    assert sum(committed) == 3  # the worker is woken for new rows only


def test_write_batch_is_one_transaction(engine: Engine) -> None:
    assert write_batch(engine, [item(1), item(2)]) == [True, True]
    assert write_batch(engine, [item(2), item(3)]) == [False, True]
    assert len(stored(engine)) == 3


async def test_with_two_writers_a_slow_commit_does_not_hold_up_the_next(engine: Engine) -> None:
    slow = threading.Event()
    entered = threading.Event()

    def write(_engine: Engine, items: Sequence[NewDelivery]) -> list[bool]:
        if items[0].delivery_id == "d-0":
            entered.set()
            slow.wait(timeout=10)  # a commit stuck in fsync
        return [True] * len(items)

    ingestor = Ingestor(engine, write=write, writers=2)
    await ingestor.start()
    first = asyncio.create_task(ingestor.submit(item(0)))
    await asyncio.to_thread(entered.wait, 10)
    assert await asyncio.wait_for(ingestor.submit(item(1)), timeout=10) is True
    assert not first.done()
    slow.set()
    assert await first is True
    await ingestor.stop()
