"""When the next platform write may go out, from the writes already sent: a pure function.

GitHub allows about 80 content-creating requests a minute and 500 an hour per installation, and
asks for a second between mutative requests. The same arithmetic serves the in-process ledger
(tests, the CLI) and the database ledger that replicas share, so both pace identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HOUR = 3600.0
MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class PaceLimits:
    min_interval: float = 1.0  # seconds between two writes
    per_minute: int = 80
    per_hour: int = 500


def ready_at(sent: Sequence[float], now: float, paused_until: float, limits: PaceLimits) -> float:
    """The earliest time (epoch seconds, >= `now`) the next write may leave.

    `sent`: times of earlier writes, oldest first; those an hour or more before `now` are ignored.
    `paused_until`: a platform's `retry-after`, which holds every write until then."""
    recent = [t for t in sent if t > now - HOUR]
    at = max(now, paused_until)
    if recent:
        at = max(at, recent[-1] + limits.min_interval)
    in_minute = [t for t in recent if t > now - MINUTE]
    if len(in_minute) >= limits.per_minute:
        at = max(at, in_minute[-limits.per_minute] + MINUTE)
    if len(recent) >= limits.per_hour:
        at = max(at, recent[-limits.per_hour] + HOUR)
    return at
