"""Platform-neutral retry and rate-limit helpers shared by the GitHub and GitLab adapters.

Adapters translate library exceptions into `bot.platforms.base` errors inside `attempt`; this
module decides whether to try again: transient failures back off exponentially a few times,
rate limits shorter than `max_rate_wait` are waited out in-process, anything longer is raised
as `RateLimited` so the worker reschedules the job (a limit delays work, never drops it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from bot.metrics import RATE_LIMIT_REMAINING, RATE_LIMIT_WAIT_SECONDS
from bot.platforms.base import RateLimited, Transient

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # transient failures: tries in total
    base_delay: float = 1.0  # 1, 2, 4 … seconds
    max_delay: float = 30.0
    max_rate_wait: float = 120.0  # longer rate-limit waits go back to the worker
    rate_retries: int = 2  # rate limits waited out per call

    def backoff(self, failures: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** (failures - 1))


def rate_limit_wait(headers: Mapping[str, str], now: float, *, default: float = 60.0) -> float:
    """Seconds to wait from `retry-after` (seconds or HTTP date), else a reset epoch, else `default`.

    GitHub sends `x-ratelimit-reset`; GitLab sends `ratelimit-reset`; both are epoch seconds.
    """
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                return default
    for name in ("x-ratelimit-reset", "ratelimit-reset"):
        reset = headers.get(name)
        if reset:
            try:
                return max(0.0, float(reset) - now)
            except ValueError:
                continue
    return default


def record_remaining(platform: str, installation: str, value: str | None) -> None:
    """Publish a rate-limit-remaining header's value (ignored when absent or not a number)."""
    if value is None:
        return
    try:
        remaining = float(value)
    except ValueError:
        return
    RATE_LIMIT_REMAINING.labels(platform, installation).set(remaining)


async def with_retries(
    attempt: Callable[[], Awaitable[T]], *, sleep: Sleep, policy: RetryPolicy, platform: str
) -> T:
    """Run `attempt` until it succeeds, retrying `Transient` and short `RateLimited` errors."""
    failures = 0
    rate_waits = 0
    while True:
        try:
            return await attempt()
        except RateLimited as exc:
            rate_waits += 1
            if exc.retry_after > policy.max_rate_wait or rate_waits > policy.rate_retries:
                raise
            RATE_LIMIT_WAIT_SECONDS.labels(platform).inc(exc.retry_after)
            await sleep(exc.retry_after)
        except Transient:
            failures += 1
            if failures >= policy.attempts:
                raise
            await sleep(policy.backoff(failures))
