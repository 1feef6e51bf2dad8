"""The GitHub App manifest flow end to end, GitHub faked at the HTTP layer (respx)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser

import httpx
import pytest
import respx
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import Engine, text

from bot.app import create_app
from bot.config import Settings, load_settings
from bot.logging import configure_logging
from bot.platforms.github.settings import GitHubSettings
from bot.platforms.github.verify import github_signature
from bot.secrets import GITHUB_APP, SecretStore, parse_keys

KEY = Fernet.generate_key().decode()
TOKEN = "setup-token-for-tests-0123456789"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEfake\n-----END RSA PRIVATE KEY-----\n"
CONVERSION = {  # the shape GitHub documents for POST /app-manifests/{code}/conversions (201)
    "id": 1234567,
    "slug": "readiness-bot-acme",
    "node_id": "A_kwHOABCD",
    "owner": {"login": "acme", "id": 42, "type": "Organization"},
    "name": "readiness-bot (acme)",
    "description": "Production-readiness checklists",
    "external_url": "https://bot.example.com",
    "html_url": "https://github.com/apps/readiness-bot-acme",
    "created_at": "2026-12-02T12:00:00Z",
    "updated_at": "2026-12-02T12:00:00Z",
    "permissions": {"issues": "write", "metadata": "read"},
    "events": ["push", "issues"],
    "client_id": "Iv1.8a61f9b3a7aba766",
    "client_secret": "1726be1638095a19edd134c77bde3aa2ece1e5d8",
    "webhook_secret": "e340154128314309424b7c8e90325147d99fdafa",
    "pem": PEM,
}


class Forms(HTMLParser):
    """Collects forms (action, method) and their inputs, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "inputs": {}})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"][a.get("name")] = a.get("value") or ""  # type: ignore[index]
        elif tag == "a":
            self.links.append(a.get("href") or "")


def parse(html: str) -> Forms:
    p = Forms()
    p.feed(html)
    return p


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        yield http


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(
        database_url=db_url, encryption_key=KEY, setup_token=TOKEN, public_url="https://bot.example.com"
    )


@pytest.fixture
def github() -> respx.MockRouter:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def app_for(settings: Settings, engine: Engine, github: respx.MockRouter) -> FastAPI:
    return create_app(
        settings,
        engine=engine,
        start_worker=False,
        start_scheduler=False,
        setup_transport=httpx.MockTransport(lambda request: github.handler(request)),
    )


async def start_flow(
    http: httpx.AsyncClient, github_url: str = "https://github.com", org: str = "acme"
) -> dict:
    first = await http.get("/setup", params={"token": TOKEN})
    assert first.status_code == 200
    choose = parse(first.text).forms[0]
    params = dict(choose["inputs"]) | {"github_url": github_url, "org": org}  # type: ignore[arg-type]
    second = await http.get("/setup", params=params)
    assert second.status_code == 200
    return parse(second.text).forms[0]


async def test_the_flow_creates_stores_and_uses_the_app_then_closes_for_good(
    settings: Settings, engine: Engine, github: respx.MockRouter
) -> None:
    convert = github.post("https://api.github.com/app-manifests/abc123/conversions").respond(
        201, json=CONVERSION
    )
    async with running(app_for(settings, engine, github)) as http:
        form = await start_flow(http)
        action = httpx.URL(str(form["action"]))
        assert (action.scheme, action.host, action.path) == (
            "https",
            "github.com",
            "/organizations/acme/settings/apps/new",
        )
        state = action.params["state"]
        manifest = json.loads(form["inputs"]["manifest"])  # type: ignore[index]
        assert manifest["redirect_url"] == "https://bot.example.com/github/manifest/callback"
        assert manifest["hook_attributes"]["url"] == "https://bot.example.com/webhooks/github"

        done = await http.get("/github/manifest/callback", params={"code": "abc123", "state": state})
        assert done.status_code == 200, done.text
        assert "https://github.com/apps/readiness-bot-acme/installations/new" in parse(done.text).links
        assert convert.call_count == 1

        # stored encrypted: the plaintext key is nowhere in the table
        with engine.connect() as conn:
            raw = " ".join(r[0] for r in conn.execute(text("SELECT ciphertext FROM stored_secrets")))
        assert "MIIEfake" not in raw and CONVERSION["webhook_secret"] not in raw
        stored = SecretStore(engine, parse_keys(KEY)).get_json(GITHUB_APP)
        assert (
            stored is not None
            and stored["id"] == 1234567
            and stored["client_secret"] == CONVERSION["client_secret"]
        )

        # the running bot verifies webhooks with the App's webhook secret at once
        body = b'{"zen": "hi", "hook_id": 1}'
        headers = {
            "x-github-event": "ping",
            "x-github-delivery": "d-1",
            "x-hub-signature-256": github_signature(CONVERSION["webhook_secret"], body),
        }
        assert (await http.post("/webhooks/github", content=body, headers=headers)).status_code in (200, 202)

        # closed for good: the page, and a replayed callback, are refused; GitHub is not called again
        assert (await http.get("/setup", params={"token": TOKEN})).status_code == 404
        again = await http.get("/github/manifest/callback", params={"code": "abc123", "state": state})
        assert again.status_code == 404 and convert.call_count == 1

    # and after a restart, too, with the stored App used as the bot's settings
    app = app_for(settings, engine, github)
    async with running(app) as http:
        assert (await http.get("/setup", params={"token": TOKEN})).status_code == 404
        assert app.state.services.settings.platform(GitHubSettings).github_app_id == 1234567


async def test_setup_requires_the_token_and_a_state_bound_to_it(
    settings: Settings, engine: Engine, github: respx.MockRouter
) -> None:
    convert = github.post(url__regex=r".*/conversions").respond(201, json=CONVERSION)
    async with running(app_for(settings, engine, github)) as http:
        assert (await http.get("/setup")).status_code == 403
        assert (await http.get("/setup", params={"token": TOKEN[:-1] + "x"})).status_code == 403
        # a state made by someone without the token, or tampered with, is refused before GitHub is called
        form = await start_flow(http, org="")
        state = httpx.URL(str(form["action"])).params["state"]
        forged = state.split(".")[0] + ".AAAA"
        for bad in (forged, "", "not-a-state"):
            resp = await http.get("/github/manifest/callback", params={"code": "abc123", "state": bad})
            assert resp.status_code == 403
        assert convert.call_count == 0
        assert httpx.URL(str(form["action"])).path == "/settings/apps/new"


async def test_enterprise_server_uses_its_own_host_and_api(
    settings: Settings, engine: Engine, github: respx.MockRouter
) -> None:
    convert = github.post("https://ghe.example.com/api/v3/app-manifests/c0de/conversions").respond(
        201, json=CONVERSION | {"html_url": "https://ghe.example.com/github-apps/readiness-bot-acme"}
    )
    app = app_for(settings, engine, github)
    async with running(app) as http:
        form = await start_flow(http, github_url="https://ghe.example.com/")
        action = httpx.URL(str(form["action"]))
        assert action.host == "ghe.example.com"
        done = await http.get(
            "/github/manifest/callback", params={"code": "c0de", "state": action.params["state"]}
        )
        assert done.status_code == 200 and convert.call_count == 1
        assert (
            "https://ghe.example.com/github-apps/readiness-bot-acme/installations/new"
            in parse(done.text).links
        )
        assert (
            app.state.services.settings.platform(GitHubSettings).github_api_url
            == "https://ghe.example.com/api/v3"
        )


async def test_everything_shown_is_escaped(
    settings: Settings, engine: Engine, github: respx.MockRouter
) -> None:
    async with running(app_for(settings, engine, github)) as http:
        resp = await http.get(
            "/setup", params={"token": TOKEN, "github_url": "https://github.com", "org": "<script>"}
        )
    assert resp.status_code == 400 and "<script>" not in resp.text


async def test_setup_is_closed_when_the_environment_configures_an_app(
    settings: Settings, engine: Engine, github: respx.MockRouter
) -> None:
    configured = settings.model_copy(update={"github_app_id": 1})
    async with running(app_for(configured, engine, github)) as http:
        assert (await http.get("/setup", params={"token": TOKEN})).status_code == 404


async def test_the_token_is_printed_at_start(
    settings: Settings, engine: Engine, github: respx.MockRouter
) -> None:
    unset = settings.model_copy(update={"setup_token": None})
    log = io.StringIO()
    configure_logging(unset, stream=log)  # what `readiness serve` does; independent of test order
    try:
        app = app_for(unset, engine, github)
        async with running(app):
            token = app.state.setup.token
    finally:
        logging.getLogger().handlers.clear()
    assert re.search(re.escape(token), log.getvalue())
