"""A third platform is its own package plus one `register(...)`: proven with a tiny one that
exists only in this test, driven by one signed delivery through the real app.

What the tiny platform supplies is exactly a `PlatformSpec` (verifier, event and delivery-id
headers, normaliser, settings check, client factory, CODEOWNERS locations, org-defaults source,
account): no receiver, dispatcher, app or factory code knows it. Its events carry their own
`StrEnum` member; a real package would add that member to `bot.core.events.Platform` (the closed
list mypy checks and `readiness sync --platform` offers) and its secrets to `bot.config.Settings`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Iterator, Mapping
from enum import StrEnum
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import Settings
from bot.core.events import Event, Kind, RepoRef
from bot.jobs.handlers import Dispatcher
from bot.platforms.factory import clients_from_settings
from bot.platforms.payload import d, str_
from bot.platforms.registry import PLATFORMS, register
from bot.platforms.spec import PlatformSpec, Unidentified
from bot.store.models import Delivery
from bot.webhooks.verify import VerificationError

from .helpers import dumps, stored

SECRET = b"tiny-secret-0123456789abcdef"


class Tiny(StrEnum):
    TINY = "tiny"


class TinyVerifier:
    def __init__(self, settings: Settings) -> None:
        self.secret = SECRET

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> None:
        given = headers.get("x-tiny-signature") or ""
        if not hmac.compare_digest(given, hmac.new(self.secret, body, hashlib.sha256).hexdigest()):
            raise VerificationError("x-tiny-signature does not match the body")

    def reload(self, found: Mapping[str, str]) -> bool:
        return False


def identify(headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    event, delivery = headers.get("x-tiny-event"), headers.get("x-tiny-delivery")
    if not event or not delivery:
        raise Unidentified("missing X-Tiny-Event or X-Tiny-Delivery")
    return event, delivery


def normalize(event: str, p: dict[str, Any]) -> Event:
    repo = d(p.get("repository"))
    name = str_(repo.get("path"))
    return Event(
        platform=Tiny.TINY,  # type: ignore[arg-type]  # a real platform is a member of Platform
        kind=Kind.PUSH if event == "push" else Kind.IGNORED,
        name=event,
        repo=RepoRef(Tiny.TINY, name, default_branch=str_(repo.get("main"))) if name else None,  # type: ignore[arg-type]
        ref=str_(p.get("ref")),
        commit=str_(p.get("head")),
        sender=str_(d(p.get("pusher")).get("name")),
    )


TINY = PlatformSpec(
    platform=Tiny.TINY,  # type: ignore[arg-type]
    verifier=TinyVerifier,
    identify=identify,
    normalize=normalize,
    delivery_id_header="x-tiny-delivery",
    check_settings=lambda settings: ["tiny: checked at start-up"],
    client=lambda settings, pacing: None,  # no API adapter in this test: deliveries are recorded only
    client_settings="READINESS_TINY_TOKEN",
    codeowners_locations=("CODEOWNERS",),
    org_defaults_source=lambda owner, configured: None,
    org_defaults_setting=lambda settings: None,
    account=lambda payload: None,
)


@pytest.fixture
def registered() -> Iterator[None]:
    register(TINY)  # the one line a new platform adds to bot/platforms/registry.py
    try:
        yield
    finally:
        del PLATFORMS["tiny"]


@pytest.fixture
async def tiny_client(
    registered: None, settings: Settings, engine: Engine
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=engine, start_worker=False, start_scheduler=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        yield http


PUSH = dumps(
    {
        "repository": {"path": "octo/widgets", "main": "trunk"},
        "ref": "refs/heads/trunk",
        "head": "c0ffee",
        "pusher": {"name": "ada"},
    }
)


def signed(body: bytes, delivery: str = "t-1", secret: bytes = SECRET) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-tiny-event": "push",
        "x-tiny-delivery": delivery,
        "x-tiny-signature": hmac.new(secret, body, hashlib.sha256).hexdigest(),
    }


async def test_a_registered_platform_gets_an_endpoint_its_check_and_one_normalised_event(
    tiny_client: httpx.AsyncClient, engine: Engine
) -> None:
    forged = await tiny_client.post("/webhooks/tiny", content=PUSH, headers=signed(PUSH, "t-0", b"wrong"))
    assert forged.status_code == 401 and "x-tiny-signature" in forged.json()["detail"]
    unnamed = await tiny_client.post(
        "/webhooks/tiny", content=PUSH, headers={**signed(PUSH), "x-tiny-event": ""}
    )
    assert unnamed.status_code == 400 and "X-Tiny-Event" in unnamed.json()["detail"]

    resp = await tiny_client.post("/webhooks/tiny", content=PUSH, headers=signed(PUSH))
    assert resp.status_code == 202 and resp.json() == {"status": "accepted", "delivery_id": "t-1"}
    [row] = stored(engine)
    assert (row.platform, row.event, row.repo_key) == ("tiny", "push", "tiny:octo/widgets")

    seen: list[Event] = []

    async def sync(event: Event, delivery: Delivery) -> None:
        seen.append(event)

    await Dispatcher(engine, sync=sync)(row)  # the worker's path: decode, normalise, record, sync
    [event] = seen
    assert (event.platform, event.kind, event.ref, event.commit, event.sender) == (
        "tiny",
        Kind.PUSH,
        "refs/heads/trunk",
        "c0ffee",
        "ada",
    )
    assert event.repo is not None and (event.repo.full_name, event.repo.default_branch) == (
        "octo/widgets",
        "trunk",
    )


def test_the_registry_reaches_start_up_checks_and_the_client_factory(
    registered: None, settings: Settings
) -> None:
    from bot.app import check_webhook_settings

    assert "tiny: checked at start-up" in check_webhook_settings(settings)
    assert "tiny" not in clients_from_settings(settings)  # its factory said: not configured
