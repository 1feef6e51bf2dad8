"""Durations written in templates and `.readiness.yml` (`ttl: 90d`): small, so both can share it."""

from __future__ import annotations

TTL_EXPECTED = "expected a duration such as 90d, 12w or 1y (days, weeks or years, at most 5y)"
_TTL_UNITS = {"d": 1, "w": 7, "y": 365}


def parse_ttl(value: object) -> int | None:
    """Days in `90d` / `12w` / `1y`; None when it is not such a duration."""
    if not isinstance(value, str) or len(value) < 2 or value[-1].lower() not in _TTL_UNITS:
        return None
    number = value[:-1].strip()
    if not number.isdigit() or not number.isascii():
        return None
    days = int(number) * _TTL_UNITS[value[-1].lower()]
    return days if 1 <= days <= 5 * 365 else None
