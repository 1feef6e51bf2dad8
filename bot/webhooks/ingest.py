"""Group commit: deliveries from concurrent requests share one durable transaction.

Each request hands its verified delivery to the `Ingestor` and awaits a future. One writer task
takes *everything* queued so far, inserts it in one transaction on a dedicated thread (so the
event loop keeps accepting requests meanwhile) and resolves each future only after COMMIT. A
202 therefore always means "stored", yet a busy receiver pays one commit per batch rather than
one per delivery: the slower the commit, the larger the next batch. On PostgreSQL up to three
batches commit at once, so a request arriving during a slow fsync does not wait for it.

`write_batch` stores through `bot.store.queue.enqueue_many` (the one enqueue) on a SQLAlchemy
Core connection with one cached statement: about half the CPU per row of the ORM path, which
matters at thousands of deliveries a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.logging import get_logger
from bot.store import queue
from bot.store.db import checkpoint_wal
from bot.store.models import utcnow

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A verified webhook about to be stored. `payload` is the raw body, stored as received."""

    platform: str
    delivery_id: str
    event: str
    action: str | None
    installation_id: int | None
    repo_key: str | None
    payload: bytes
    normalized: bytes | None = None  # the event as the receiver normalised it (versioned JSON)


WriteBatch = Callable[[Engine, Sequence[NewDelivery]], list[bool]]
"""Stores a batch in one transaction; returns, per item, True if new, False if a duplicate."""


def write_batch(engine: Engine, items: Sequence[NewDelivery]) -> list[bool]:
    """One transaction for the whole batch (`queue.enqueue_many`, the one enqueue, on a Core
    connection): True per new row; a key already stored, or seen earlier in the batch, gives False."""
    rows = [
        {
            "platform": i.platform,
            "delivery_id": i.delivery_id,
            "event": i.event,
            "action": i.action,
            "installation_id": i.installation_id,
            "repo_key": i.repo_key,
            "payload": i.payload,
            "normalized": i.normalized,
        }
        for i in items
    ]
    return queue.enqueue_batch(engine, rows, now=utcnow())


CHECKPOINT_SECONDS = 5.0


class IngestClosed(RuntimeError):
    """The receiver is shutting down and takes no new deliveries (answered with 503)."""


class Ingestor:
    def __init__(
        self,
        engine: Engine,
        *,
        write: WriteBatch = write_batch,
        on_commit: Callable[[int], None] | None = None,
        max_batch: int = 1000,
        writers: int | None = None,
    ) -> None:
        self._engine = engine
        # PostgreSQL overlaps commits (its WAL flush serves several at once); SQLite has one
        # writer lock, and a second writer would only sleep in its busy handler.
        self._writers = writers or (1 if engine.dialect.name == "sqlite" else 3)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._write = write
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._pending: list[tuple[NewDelivery, asyncio.Future[bool]]] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._executor: ThreadPoolExecutor | None = None
        self._checkpointer: ThreadPoolExecutor | None = None
        self._checkpoint: asyncio.Future[None] | None = None
        self._last_checkpoint = 0.0

    async def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=self._writers, thread_name_prefix="ingest")
        if self._engine.dialect.name == "sqlite":
            self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._task = asyncio.create_task(self._run(), name="ingest-writer")

    @property
    def pending(self) -> int:
        """Deliveries waiting for the next commit (not counting the one in progress)."""
        return len(self._pending)

    async def submit(self, item: NewDelivery) -> bool:
        """Store `item` durably; True when new, False when its delivery id was already stored."""
        if self._closed or self._wakeup is None:
            raise IngestClosed("the receiver is shutting down")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._wakeup.set()
        return await future

    async def stop(self) -> None:
        """Take nothing new, commit what was already accepted into the queue, then stop."""
        self._closed = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._checkpointer is not None:
            self._checkpointer.shutdown(wait=True)
            self._checkpointer = None

    async def _run(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending and len(self._in_flight) < self._writers:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                task = asyncio.create_task(self._commit(loop, batch))
                self._in_flight.add(task)
                task.add_done_callback(self._finished)
            if self._closed and not self._pending and not self._in_flight:
                return

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if self._wakeup is not None:
            self._wakeup.set()  # a writer is free: take what queued meanwhile

    async def _commit(
        self, loop: asyncio.AbstractEventLoop, batch: list[tuple[NewDelivery, asyncio.Future[bool]]]
    ) -> None:
        items = [item for item, _ in batch]
        try:
            results = await loop.run_in_executor(self._executor, self._write, self._engine, items)
        except Exception as exc:
            if len(batch) == 1 or not _row_specific(exc):  # its request(s) get the error (503)
                log.error("storing webhook deliveries failed", count=len(items), error=str(exc))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                return
            # One bad row must not fail the others: store each alone, so only it gets the error
            # (and a database that is really down fails them all, one by one).
            log.warning("a group commit failed; storing its deliveries one by one", count=len(items))
            for one in batch:
                await self._commit(loop, [one])
            return
        for (_, future), new in zip(batch, results, strict=True):
            if not future.done():  # a request cancelled by a disconnect has nobody to tell
                future.set_result(new)
        if self._on_commit is not None and any(results):
            self._on_commit(sum(results))
        self._maybe_checkpoint(loop)

    def _maybe_checkpoint(self, loop: asyncio.AbstractEventLoop) -> None:
        """SQLite: move the WAL into the database file at most every CHECKPOINT_SECONDS, on its own
        thread, so acknowledgements never wait for it (PASSIVE: it never blocks a writer)."""
        if self._checkpointer is None or (self._checkpoint is not None and not self._checkpoint.done()):
            return
        now = loop.time()
        if now - self._last_checkpoint < CHECKPOINT_SECONDS:
            return
        self._last_checkpoint = now
        self._checkpoint = loop.run_in_executor(self._checkpointer, _checkpoint, self._engine)


def _row_specific(exc: Exception) -> bool:
    """Could this failure be one row's fault (a value the column cannot hold, a constraint)?
    Not when the database itself is unreachable or locked: retrying row by row would only
    multiply the wait."""
    return not isinstance(exc, OperationalError | InterfaceError | TimeoutError)


def _checkpoint(engine: Engine) -> None:
    """A PASSIVE checkpoint cannot collide with a writer (it copies what no reader needs and
    stops), so a failure here is a real problem (disk full, I/O error) worth a warning."""
    try:
        checkpoint_wal(engine)
    except Exception as exc:  # the next one will try again; the WAL just grows meanwhile
        log.warning("WAL checkpoint failed", error=str(exc))
