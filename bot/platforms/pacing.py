"""Write pacing per installation: GitHub's secondary limits are enforced before we hit them.

GitHub asks for at least one second between mutative requests and allows about 80
content-creating requests a minute and 500 an hour. githubkit only caps concurrency, so every
write acquires a slot here first. Waiting delays work and never drops it; when the wait would
exceed `max_wait` (an exhausted hourly budget), `RateLimited` tells the worker to reschedule
instead of holding a worker for an hour. Clock and sleep are injected so tests never sleep.

Where the writes already sent are kept is the ledger's business: `MemoryLedger` for one process
(the CLI, tests), `DatabaseLedger` for replicas, which then share one budget per installation
(the limits are GitHub's per installation, not per process). The arithmetic is
`bot.core.pacing.ready_at` in both.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from sqlalchemy import Engine

from bot.core.pacing import HOUR, PaceLimits, ready_at
from bot.metrics import RATE_LIMIT_WAIT_SECONDS
from bot.platforms.base import RateLimited
from bot.store.pacing import claim_write_slot, pause_writes

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Ledger(Protocol):
    """Where one installation's sent writes are counted."""

    async def claim(self, now: float, limits: PaceLimits) -> float:
        """Record a write at `now` and return 0, or return the seconds to wait."""
        ...

    async def pause(self, until: float) -> None:
        """Hold every write until `until`."""
        ...


class MemoryLedger:
    """One process's count: correct only when a single process writes for the installation."""

    def __init__(self) -> None:
        self.sent: deque[float] = deque()  # times of writes in the last hour, oldest first
        self.paused_until = 0.0

    async def claim(self, now: float, limits: PaceLimits) -> float:
        while self.sent and self.sent[0] <= now - HOUR:
            self.sent.popleft()
        wait = ready_at(self.sent, now, self.paused_until, limits) - now
        if wait <= 0:
            self.sent.append(now)
            return 0.0
        return wait

    async def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)


class DatabaseLedger:
    """The count every replica shares (see `bot.store.pacing`); database calls run off the loop."""

    def __init__(self, engine: Engine, platform: str, installation_id: int) -> None:
        self.engine = engine
        self.platform = platform
        self.installation_id = installation_id

    async def claim(self, now: float, limits: PaceLimits) -> float:
        return await asyncio.to_thread(
            claim_write_slot,
            self.engine,
            platform=self.platform,
            installation_id=self.installation_id,
            now=now,
            limits=limits,
        )

    async def pause(self, until: float) -> None:
        await asyncio.to_thread(
            pause_writes,
            self.engine,
            platform=self.platform,
            installation_id=self.installation_id,
            until=until,
        )


class WritePacer:
    def __init__(
        self,
        clock: Clock,
        sleep: Sleep,
        *,
        platform: str = "github",
        min_interval: float = 1.0,
        per_minute: int = 80,
        per_hour: int = 500,
        max_wait: float | None = 300.0,
        ledger: Ledger | None = None,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.platform = platform
        self.limits = PaceLimits(min_interval, per_minute, per_hour)
        self.max_wait = max_wait
        self.ledger: Ledger = ledger or MemoryLedger()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for a write slot and claim it."""
        async with self._lock:
            await self._claim()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Claim a slot and hold it while the write is sent, so this process's writes for one
        installation go out serially (as GitHub asks); other replicas are kept a `min_interval`
        apart by the shared ledger."""
        async with self._lock:
            await self._claim()
            yield

    async def _claim(self) -> None:
        while True:
            wait = await self.ledger.claim(self.clock(), self.limits)
            if wait <= 0:
                return
            if self.max_wait is not None and wait > self.max_wait:
                raise RateLimited(f"write budget exhausted; next write in {wait:.0f} s", wait)
            RATE_LIMIT_WAIT_SECONDS.labels(self.platform).inc(wait)
            await self.sleep(wait)

    async def pause(self, seconds: float) -> None:
        """The platform told us to back off (`retry-after`): hold every write until then."""
        await self.ledger.pause(self.clock() + seconds)


def ledger_factory(engine: Engine | None, platform: str) -> Callable[[int], Ledger]:
    """Ledgers by installation: shared through `engine` when there is one, else in memory."""
    if engine is None:
        return lambda _installation: MemoryLedger()
    return lambda installation: DatabaseLedger(engine, platform, installation)
