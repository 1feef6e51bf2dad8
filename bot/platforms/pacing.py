"""Write pacing per installation: GitHub's secondary limits are enforced before we hit them.

GitHub asks for at least one second between mutative requests and allows about 80
content-creating requests a minute and 500 an hour. githubkit only caps concurrency, so every
write acquires a slot here first. Waiting delays work and never drops it; when the wait would
exceed `max_wait` (an exhausted hourly budget), `RateLimited` tells the worker to reschedule
instead of holding a worker for an hour. Clock and sleep are injected so tests never sleep.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from bot.metrics import RATE_LIMIT_WAIT_SECONDS
from bot.platforms.base import RateLimited

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


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
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.platform = platform
        self.min_interval = min_interval
        self.per_minute = per_minute
        self.per_hour = per_hour
        self.max_wait = max_wait
        self.sent: deque[float] = deque()  # times of writes in the last hour, oldest first
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    def ready_at(self, now: float) -> float:
        """The earliest time the next write may go out, given what was sent before `now`."""
        while self.sent and self.sent[0] <= now - 3600:
            self.sent.popleft()
        at = max(now, self.paused_until)
        if self.sent:
            at = max(at, self.sent[-1] + self.min_interval)
        in_minute = [t for t in self.sent if t > now - 60]
        if len(in_minute) >= self.per_minute:
            at = max(at, in_minute[-self.per_minute] + 60)
        if len(self.sent) >= self.per_hour:
            at = max(at, self.sent[-self.per_hour] + 3600)
        return at

    async def acquire(self) -> None:
        """Wait for a write slot and claim it."""
        async with self._lock:
            await self._claim()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Claim a slot and hold it while the write is sent, so one installation's writes go out
        serially (as GitHub asks) and the recorded time is the time the request left."""
        async with self._lock:
            await self._claim()
            yield

    async def _claim(self) -> None:
        while True:
            now = self.clock()
            wait = self.ready_at(now) - now
            if wait <= 0:
                self.sent.append(now)
                return
            if self.max_wait is not None and wait > self.max_wait:
                raise RateLimited(f"write budget exhausted; next write in {wait:.0f} s", wait)
            RATE_LIMIT_WAIT_SECONDS.labels(self.platform).inc(wait)
            await self.sleep(wait)

    def pause(self, seconds: float) -> None:
        """The platform told us to back off (`retry-after`): hold every write until then."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)
