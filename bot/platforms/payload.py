"""What every platform's payload normaliser shares: total readers of untrusted JSON.

Webhook payloads are authentic but of any shape; these readers never raise (a wrong type is
None), and `Unusable` is how a normaliser says a payload cannot be acted on at all.
"""

from __future__ import annotations

from typing import Any

# Ids are stored in 64-bit signed integer columns (SQLite and PostgreSQL BIGINT): anything
# outside fits nowhere and would fail the commit it is part of.
ID_MIN, ID_MAX = -(2**63), 2**63 - 1
IGNORED_REASON = "ignored_reason"


class Unusable(Exception):
    """The payload is authentic but cannot be turned into an event; the message says why."""


def d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def int_(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and ID_MIN <= value <= ID_MAX:
        return value
    return None


def str_(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def ci(name: Any, conclusion: str, url: Any) -> dict[str, Any]:
    return {"name": str_(name) or "", "conclusion": conclusion, "url": str_(url)}
