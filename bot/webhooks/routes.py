"""POST /webhooks/<platform> (github, gitlab: each registered platform): the bot's front door.

Order matters: size limit (413, body never buffered whole) → authenticity on the raw bytes (401,
nothing stored) → JSON (400) → normalise → store durably (202) or recognise a redelivery (200).
The handlers are plain Starlette endpoints (no dependency injection): this path runs thousands
of times a second and does only what it must. The raw body is stored as received, never
re-serialised.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from bot.config import Settings
from bot.core.events import Event, Kind
from bot.logging import get_logger
from bot.metrics import WEBHOOKS
from bot.platforms.registry import PLATFORMS
from bot.platforms.spec import PlatformSpec, Unidentified, Verifier
from bot.webhooks.ingest import IngestClosed, Ingestor, NewDelivery
from bot.webhooks.normalize import IGNORED_REASON, normalize, stored_form
from bot.webhooks.verify import VerificationError

log = get_logger(__name__)
_stdlib_log = logging.getLogger(__name__)
_UNVERIFIED = "-"  # metric label before authenticity is known: callers cannot inflate label sets


class TooLarge(Exception):
    pass


class Rejected(Exception):
    def __init__(self, status: int, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.outcome, self.reason = status, outcome, reason


def header_map(request: Request) -> dict[str, str]:
    """The request headers as a plain dict (ASGI names are lower-case): one pass, O(1) lookups."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in request.scope["headers"]}


class TooSlow(Exception):
    pass


async def read_limited(
    request: Request, headers: dict[str, str], limit: int, deadline: float | None = None
) -> bytes:
    """The body, or TooLarge as soon as it (or its declared length) exceeds `limit` bytes, or
    TooSlow when it has not all arrived within `deadline` seconds (a slow sender holds a
    connection and a request slot for as long as it likes otherwise)."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(deadline):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge
                chunks.append(chunk)
    except TimeoutError:
        raise TooSlow from None
    return b"".join(chunks)


class TooDeep(Exception):
    """Valid JSON nested deeper than any webhook is: authentic, so answered 2xx as ignored."""


def parse_json(body: bytes) -> Any:
    """orjson (about twice as fast on webhook bodies); the standard library only for what orjson
    refuses but JSON allows (integers beyond 64 bits), so a valid body is never a 400. A nesting
    bomb (orjson stops at 1024 levels, the standard library with RecursionError) is TooDeep."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            return json.loads(body)
        except RecursionError:
            raise TooDeep from None
        except (ValueError, UnicodeDecodeError):
            raise Rejected(400, "malformed", "body is not JSON") from None


def repo_key(event: Event) -> str | None:
    """What the worker serialises on: one repository (or installation) at a time."""
    if event.repo is not None:
        return f"{event.platform}:{event.repo.full_name}"
    if event.installation_id is not None:
        return f"{event.platform}:installation:{event.installation_id}"
    return None


@lru_cache(maxsize=1024)  # bounded: event names come only from authenticated senders
def _count(platform: str, event: str, outcome: str) -> Any:
    return WEBHOOKS.labels(platform, event, outcome)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


class Receiver:
    """Holds what every platform's endpoint needs; built once per app."""

    def __init__(
        self,
        settings: Settings,
        ingestor: Ingestor,
        clock: Callable[[], float] = time.time,
        platforms: Mapping[str, PlatformSpec] = PLATFORMS,
    ) -> None:
        self.ingestor = ingestor
        self.clock = clock
        self.platforms = platforms
        self._stored: dict[str, Callable[[], dict[str, str]]] = {}
        self._reload_lock = asyncio.Lock()
        self._reloads = 0  # look-ups started so far
        self._changes = 0  # look-ups that found new secrets
        self.configure(settings)

    def reload_from(self, platform: str, stored: Callable[[], dict[str, str]]) -> None:
        """Where to look for a platform's hook secrets stored after start-up (`readiness gitlab
        connect`).

        `stored` (blocking; run in a thread) returns the stored secrets the environment leaves
        unset. A delivery that fails verification looks them up before it is refused, so a hook
        connected while the bot runs (and the platform's test hook right after it) is accepted
        without a restart. One look-up runs at a time and answers every request that arrived
        before it started: a flood of bad deliveries costs back-to-back reads, never a pile-up.
        """
        self._stored[platform] = stored

    def configure(self, settings: Settings) -> None:
        """Use these secrets from now on (start-up and the setup flow add stored ones)."""
        self.settings = settings
        self._verifiers: dict[str, Verifier] = {n: p.verifier(settings) for n, p in self.platforms.items()}

    def endpoint(self, platform: str) -> Callable[[Request], Awaitable[Response]]:
        """The `POST /webhooks/<platform>` handler."""

        async def receive(request: Request) -> Response:
            return await self._handle(platform, request)

        return receive

    async def _reload(self, platform: str) -> bool:
        """True when the platform's stored secrets changed since this request last saw them."""
        stored = self._stored.get(platform)
        if stored is None:
            return False
        seen, arrived = self._changes, self._reloads
        async with self._reload_lock:
            if self._reloads == arrived:  # no look-up started since this request arrived: do one
                self._reloads += 1
                try:
                    found = await asyncio.to_thread(stored)
                except Exception as exc:  # the store is down: refuse as before
                    log.warning(
                        "stored hook secrets unavailable", platform=platform, error=type(exc).__name__
                    )
                    return False
                if self._verifiers[platform].reload(found):
                    self._changes += 1
                    log.info("hook secrets reloaded from the store", platform=platform)
            return self._changes != seen

    async def _handle(self, platform: str, request: Request) -> Response:
        event_label = _UNVERIFIED
        headers = header_map(request)
        try:
            try:
                body = await read_limited(
                    request, headers, self.settings.max_body_bytes, self.settings.body_timeout_seconds
                )
            except TooLarge:
                raise Rejected(413, "too_large", f"body over {self.settings.max_body_bytes} bytes") from None
            except TooSlow:
                raise Rejected(
                    408, "too_slow", f"body not received within {self.settings.body_timeout_seconds}s"
                ) from None
            spec = self.platforms[platform]
            try:
                self._verifiers[platform].verify(body, headers, now=self.clock())
            except VerificationError as exc:
                if not await self._reload(platform):
                    raise Rejected(401, "unauthorized", str(exc)) from None
                try:
                    self._verifiers[platform].verify(body, headers, now=self.clock())
                except VerificationError as again:
                    raise Rejected(401, "unauthorized", str(again)) from None
            try:
                event_name, delivery_id = spec.identify(headers, body)
            except Unidentified as exc:
                raise Rejected(400, "malformed", str(exc)) from None
            event_label = event_name[:64]
            try:
                payload = parse_json(body)
            except TooDeep:
                return self._ignored(platform, event_label, delivery_id, "JSON nested too deeply")
            if not isinstance(payload, dict):
                raise Rejected(400, "malformed", "body is not a JSON object")
            return await self._accept(platform, event_label, delivery_id, body, payload)
        except Rejected as exc:
            _count(platform, event_label, exc.outcome).inc()
            sent_id = headers.get(self.platforms[platform].delivery_id_header)
            log.warning(
                "webhook rejected",
                platform=platform,
                status=exc.status,
                reason=exc.reason,
                delivery_id=sent_id and sent_id[:128],
            )
            extra = {"connection": "close"} if exc.status in (408, 413) else None
            return _json(exc.status, {"status": exc.outcome, "detail": exc.reason}, extra)
        except ClientDisconnect:
            return Response(status_code=400)

    def _ignored(self, platform: str, event_name: str, delivery_id: str, reason: str | None) -> Response:
        """200: authentic but not acted on. A reason means the payload was unusable: logged (an
        operator may want to know) and told to the sender, who shows it in its delivery log."""
        _count(platform, event_name, "ignored").inc()
        body = {"status": "ignored", "delivery_id": delivery_id[:128]}
        if reason:
            body["reason"] = reason
            log.warning(
                "webhook ignored",
                platform=platform,
                webhook_event=event_name,
                delivery_id=delivery_id[:128],
                reason=reason,
            )
        return _json(200, body)

    async def _accept(
        self, platform: str, event_name: str, delivery_id: str, body: bytes, payload: dict[str, Any]
    ) -> Response:
        event = normalize(platform, event_name, payload)
        if event.kind is Kind.PING:
            _count(platform, event_name, "ignored").inc()
            return _json(200, {"status": "pong", "delivery_id": delivery_id})
        if event.kind is Kind.IGNORED:
            return self._ignored(platform, event_name, delivery_id, event.extra.get(IGNORED_REASON))
        item = NewDelivery(
            platform=platform,
            delivery_id=delivery_id[:128],
            event=event_name,
            action=(event.action or None) and event.action[:64],
            installation_id=event.installation_id,
            repo_key=(key := repo_key(event)) and key[:600],
            payload=body,
            normalized=stored_form(event, self.platforms[platform].account(payload)),
        )
        try:
            new = await self.ingestor.submit(item)
        except IngestClosed:
            return _json(503, {"status": "unavailable", "detail": "shutting down"}, {"retry-after": "5"})
        except Exception:
            return _json(503, {"status": "unavailable", "detail": "could not store the delivery"})
        outcome = "accepted" if new else "duplicate"
        _count(platform, event_name, outcome).inc()
        # DEBUG: at thousands a second this line would cost more than storing the delivery;
        # the worker logs every delivery it processes at INFO (with this same delivery id).
        if _stdlib_log.isEnabledFor(logging.DEBUG):  # skip building the event when it is dropped
            log.debug(
                "webhook " + outcome,
                platform=platform,
                webhook_event=event_name,
                action=item.action,
                delivery_id=item.delivery_id,
                repo=item.repo_key,
            )
        return _json(202 if new else 200, {"status": outcome, "delivery_id": item.delivery_id})
