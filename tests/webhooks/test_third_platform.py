"""A third platform is its own package plus one `register(...)`: proven with a tiny one that
exists only in this test, driven by signed deliveries through the real app and the real worker.

What the tiny platform supplies is exactly what a real package would: a settings model (read
from READINESS_TINY_* by `load_settings`, like GitHub's and GitLab's), a `PlatformSpec`
(verifier, event and delivery-id headers, normaliser, settings check, client factory, CODEOWNERS
locations, org-defaults source, account) and an API adapter, here the in-memory `MemoryClient`
standing in for its REST calls. Its events carry the name it registered: the core has no list of
platforms to extend, `bot.config.Settings` no field to add, and no receiver, dispatcher, app,
factory or command-line code knows it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.app import create_app
from bot.config import PlatformSettings, Settings, SettingsError, load_settings
from bot.core import tracker
from bot.core.events import Event, Kind, Platform, RepoRef
from bot.jobs.handlers import Dispatcher, make_handler
from bot.jobs.worker import Worker
from bot.logging import configured_secrets
from bot.platforms.base import PlatformClient
from bot.platforms.factory import clients_from_settings
from bot.platforms.memory import MemoryClient
from bot.platforms.payload import d, str_
from bot.platforms.registry import register, unregister
from bot.platforms.spec import PlatformSpec, Unidentified
from bot.store.models import Delivery
from bot.webhooks.verify import VerificationError

from .helpers import dumps, stored

TINY_NAME = Platform("tiny")
SECRET = "tiny-secret-0123456789abcdef"
TOKEN = "tiny-token-0123456789"
REPO = "octo/widgets"


class TinySettings(PlatformSettings):
    """READINESS_TINY_WEBHOOK_SECRET (or its _FILE), READINESS_TINY_TOKEN, READINESS_TINY_PAGE_SIZE."""

    secret_fields: ClassVar[tuple[str, ...]] = ("tiny_webhook_secret", "tiny_token")

    tiny_webhook_secret: SecretStr | None = None
    tiny_token: SecretStr | None = None
    tiny_page_size: int = 50


class TinyVerifier:
    def __init__(self, settings: Settings) -> None:
        secret = settings.platform(TinySettings).tiny_webhook_secret
        self.secret = secret.get_secret_value().encode() if secret else None

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> None:
        if self.secret is None:
            raise VerificationError("no READINESS_TINY_WEBHOOK_SECRET is set")
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
        platform=TINY_NAME,
        kind=Kind.PUSH if event == "push" else Kind.IGNORED,
        name=event,
        repo=RepoRef(TINY_NAME, name, default_branch=str_(repo.get("main"))) if name else None,
        ref=str_(p.get("ref")),
        commit=str_(p.get("head")),
        sender=str_(d(p.get("pusher")).get("name")),
        extra={"before": str_(p.get("before"))},
    )


class Backend:
    """The tiny platform's side of the API: one in-memory server per test."""

    api: MemoryClient | None = None


def client(settings: Settings, pacing: Engine | None) -> PlatformClient | None:
    if settings.platform(TinySettings).tiny_token is None:
        return None
    assert Backend.api is not None, "the test sets up the tiny platform's backend first"
    return Backend.api


TINY = PlatformSpec(
    platform=TINY_NAME,
    settings=TinySettings,
    verifier=TinyVerifier,
    identify=identify,
    normalize=normalize,
    delivery_id_header="x-tiny-delivery",
    check_settings=lambda settings: ["tiny: checked at start-up"],
    client=client,
    client_settings="READINESS_TINY_TOKEN",
    codeowners_locations=("CODEOWNERS",),
    org_defaults_source=lambda owner, configured: None,
    org_defaults_setting=lambda settings: None,
    account=lambda payload: None,
)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryClient]:
    monkeypatch.setenv("READINESS_TINY_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("READINESS_TINY_TOKEN", TOKEN)
    Backend.api = MemoryClient(bot_login="readiness-bot")
    register(TINY)  # the one line a new platform adds to bot/platforms/registry.py
    try:
        yield Backend.api
    finally:
        unregister("tiny")
        Backend.api = None


@pytest.fixture
def tiny_settings(registered: MemoryClient, db_url: str) -> Settings:
    return load_settings(database_url=db_url, sync_settle_seconds=0)


@pytest.fixture
async def tiny_client(tiny_settings: Settings, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(tiny_settings, engine=engine, start_worker=False, start_scheduler=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        yield http


def push_body(head: str, before: str | None = None) -> bytes:
    return dumps(
        {
            "repository": {"path": REPO, "main": "trunk"},
            "ref": "refs/heads/trunk",
            "before": before,
            "head": head,
            "pusher": {"name": "ada"},
        }
    )


PUSH = push_body("c0ffee")


def signed(body: bytes, delivery: str = "t-1", secret: str = SECRET) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-tiny-event": "push",
        "x-tiny-delivery": delivery,
        "x-tiny-signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


async def test_a_registered_platform_gets_an_endpoint_its_check_and_one_normalised_event(
    tiny_client: httpx.AsyncClient, engine: Engine
) -> None:
    forged = await tiny_client.post("/webhooks/tiny", content=PUSH, headers=signed(PUSH, "t-0", "wrong"))
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

    await Dispatcher(engine, sync=sync)(row)  # the worker's path: read the event, record, sync
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


async def test_a_push_on_the_third_platform_is_synced_into_checklist_issues_by_the_worker(
    registered: MemoryClient, tiny_settings: Settings, tiny_client: httpx.AsyncClient, engine: Engine
) -> None:
    """Settings from the environment, verified delivery, queue, worker, dispatch, sync, writes:
    all through the registry and the Platform interface, with the production wiring."""
    repo = registered.add_repo(REPO, default_branch="trunk")
    repo.set_commit("c0ffee", {".readiness.yml": "checklists: [backend-build]\n", "ROADMAP.md": "# Q1\n"})

    resp = await tiny_client.post("/webhooks/tiny", content=PUSH, headers=signed(PUSH))
    assert resp.status_code == 202
    again = await tiny_client.post("/webhooks/tiny", content=PUSH, headers=signed(PUSH))
    assert again.json()["status"] == "duplicate"

    worker = Worker(engine, make_handler(tiny_settings, engine), tiny_settings)
    assert await worker.run_once() == 1

    with Session(engine) as s:
        [row] = s.exec(select(Delivery)).all()
    assert (row.status, row.last_error) == ("done", None)
    owned = {key: issue for issue in repo.issues.values() if (key := tracker.key_from_body(issue.body))}
    assert "epic" in owned and len(owned) > 1  # the epic and its sections, created on "tiny"
    ticks = {
        item: checked
        for issue in owned.values()
        for (_, item), checked in tracker.parse_checkboxes(issue.body).items()
    }
    assert ticks["roadmap-milestones"] is True  # ROADMAP.md at the pushed commit
    assert ticks["functional-requirements"] is False


def test_the_registry_reaches_settings_start_up_checks_and_the_client_factory(
    registered: MemoryClient, tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.app import check_webhook_settings

    assert tiny_settings.platform(TinySettings).tiny_page_size == 50
    assert "tiny: checked at start-up" in check_webhook_settings(tiny_settings)
    assert clients_from_settings(tiny_settings)["tiny"] is registered
    assert {SECRET, TOKEN} <= set(configured_secrets(tiny_settings))  # redacted in every log line

    monkeypatch.delenv("READINESS_TINY_TOKEN")
    assert "tiny" not in clients_from_settings(load_settings())  # its factory said: not configured
    monkeypatch.setenv("READINESS_TINY_PAGE_SIZE", "lots")
    with pytest.raises(SettingsError, match=r"^READINESS_TINY_PAGE_SIZE: "):
        load_settings()  # a bad value stops start-up, named like every other setting


def test_an_unregistered_platform_is_forgotten_by_settings_too(
    registered: MemoryClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("READINESS_TINY_PAGE_SIZE", "lots")
    unregister("tiny")
    load_settings()  # nobody reads READINESS_TINY_* any more
