"""Webhook payloads → the one `Event` the rest of the bot reads, whichever platform sent them.

Each platform package parses its own payloads (`bot/platforms/<name>/normalize.py`); this module
is the contract around them. Pure and total: an authentic payload of an odd shape never raises
here; fields that are missing or of the wrong type stay None, unknown event names become
`Kind.IGNORED`, and a payload that cannot be understood at all (an id beyond 64 bits, an
`installation` that is not a mapping) is `Kind.IGNORED` with `extra["ignored_reason"]`, so the
receiver answers 2xx and says why.
"""

from __future__ import annotations

from typing import Any

import orjson

from bot.core import stored_event
from bot.core.events import Event, Kind
from bot.platforms.payload import IGNORED_REASON, Unusable
from bot.platforms.registry import spec_for

__all__ = ["IGNORED_REASON", "from_stored", "ignored", "normalize", "stored_form"]


def ignored(platform: str, event: str, reason: str) -> Event:
    """An authentic delivery the bot does not act on, with the reason it gives the sender."""
    return Event(
        platform=spec_for(platform).platform, kind=Kind.IGNORED, name=event, extra={IGNORED_REASON: reason}
    )


def normalize(platform: str, event: str, payload: dict[str, Any]) -> Event:
    """The normalised event for one verified delivery; `event` is the platform's event header.

    Total: it returns an event for every payload (`Kind.IGNORED` with a reason for what it cannot
    use) and raises only for an unknown `platform`, which is the caller's bug."""
    parse = spec_for(platform).normalize
    if not isinstance(payload, dict):
        return ignored(platform, event, "body is not a JSON object")
    try:
        return parse(event, payload)
    except Unusable as exc:
        return ignored(platform, event, str(exc))
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        # A shape no handler above anticipated: still an answer, never a 500 or a dead letter.
        return ignored(platform, event, f"unexpected payload shape ({type(exc).__name__})")


def stored_form(event: Event, account: str | None) -> bytes | None:
    """The normalised event as the receiver stores it beside the raw body (`Delivery.normalized`),
    so the worker does not decode and normalise the body again. None when it cannot be written
    as JSON (a string with a lone surrogate, an integer beyond 64 bits, which only the standard
    library's parser lets through): the worker then normalises the raw body, as it always could."""
    try:
        return orjson.dumps(stored_event.to_data(event, account))
    except (orjson.JSONEncodeError, TypeError):
        return None


def from_stored(blob: bytes | None) -> tuple[Event, str | None] | None:
    """The event and installation account `stored_form` wrote; None for a row stored without one
    (before migration 0016, an internal event) or in another format: normalise the body then."""
    if not blob:
        return None
    try:
        data = orjson.loads(blob)
    except orjson.JSONDecodeError:
        return None
    return stored_event.from_data(data)
