"""The GitHub App manifest flow, as Probot's setup does: `GET /setup` → a form that posts the
manifest to github.com (or a GitHub Enterprise Server) → GitHub redirects to
`GET /github/manifest/callback?code=…&state=…` → POST /app-manifests/{code}/conversions →
the App's id, key and secrets are stored encrypted and the bot starts using them.

Nobody else may finish the setup first: every setup request needs the one-time setup token
printed in the log at start (compared in constant time), the callback's `state` is an HMAC
under that token (so only a flow started with the token completes), and once an App exists
(stored or from the environment) both routes answer 404 for good.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.config import Settings
from bot.logging import get_logger
from bot.platforms.github.settings import GitHubSettings
from bot.secrets import GITHUB_APP, GitHubApp, SecretStore, stored_app
from bot.setup.manifest import GITHUB_COM, ManifestError, api_url_for, base_url, manifest_for, new_app_url

log = get_logger(__name__)
STATE_TTL_SECONDS = 3600
Reconfigure = Callable[[Settings], Awaitable[None]]


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    headers = {
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",  # the token is in the URL: never send it on
        "content-security-policy": "default-src 'none'; form-action https: http://localhost:*",
        "x-frame-options": "DENY",
    }
    return HTMLResponse(html, status_code=status, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Setup:
    """The setup routes of one process; `start()` (lifespan) decides whether setup is open."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.transport, self.clock = transport, clock
        given = settings.setup_token
        self.token = given.get_secret_value() if given else secrets.token_urlsafe(24)
        self.store: SecretStore | None = None
        self.reconfigure: Reconfigure | None = None
        self.done = True  # until start() finds no App

    def start(self, store: SecretStore | None, settings: Settings, reconfigure: Reconfigure) -> None:
        """Open setup only when no App is configured; then print the token, like an initial password."""
        self.store, self.settings, self.reconfigure = store, settings, reconfigure
        self.done = (
            settings.platform(GitHubSettings).github_app_id is not None or stored_app(store) is not None
        )
        if not self.done:
            where = f"{self.settings.public_url.rstrip('/')}/setup" if self.settings.public_url else "/setup"
            log.warning(
                "no GitHub App configured: create one at the setup page with this one-time token",
                setup_url=f"{where}?token={self.token}",
                setup_token=self.token,
            )

    # ---------------------------------------------------------------- checks

    def _token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def make_state(self, github_url: str) -> str:
        payload = _b64(
            json.dumps({"u": github_url, "n": secrets.token_urlsafe(12), "t": int(self.clock())}).encode()
        )
        return f"{payload}.{self._sign(payload)}"

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.token.encode(), payload.encode(), hashlib.sha256).digest())

    def read_state(self, state: str | None) -> str | None:
        """The GitHub URL the flow was started for, or None when `state` is not ours or expired."""
        if not state or state.count(".") != 1:
            return None
        payload, sig = state.split(".")
        if not hmac.compare_digest(sig.encode(), self._sign(payload).encode()):
            return None
        try:
            data = json.loads(_unb64(payload))
            url, issued = str(data["u"]), int(data["t"])
        except (ValueError, KeyError, TypeError):
            return None
        return url if 0 <= self.clock() - issued <= STATE_TTL_SECONDS else None

    def _closed(self) -> Response | None:
        if not self.done and self.store is not None and stored_app(self.store) is not None:
            self.done = True  # another replica finished the setup
        if self.done:
            return _page("Setup is finished", "<p>This bot already has a GitHub App.</p>", 404)
        if self.store is None:
            return _page(
                "Setup needs an encryption key",
                "<p>Set READINESS_ENCRYPTION_KEY (make one with <code>readiness keygen</code>) and "
                "restart the bot: the App's private key is stored encrypted.</p>",
                503,
            )
        return None

    # ---------------------------------------------------------------- routes

    async def page(self, request: Request) -> Response:
        if (closed := self._closed()) is not None:
            return closed
        q = request.query_params
        token = q.get("token")
        if not self._token_ok(token):
            return _page("Setup token required", "<p>Open the setup URL printed in the bot's log.</p>", 403)
        public = self.settings.public_url or str(request.base_url)
        github_url, org = q.get("github_url"), q.get("org") or None
        if github_url is None:
            return _page("Create the GitHub App", self._choose_form(token or "", public))
        try:
            web = base_url(github_url, "GitHub URL")
            action = new_app_url(web, org)
            manifest = json.dumps(manifest_for(public))
        except ManifestError as exc:
            return _page("Cannot create the App", f"<p>{escape(str(exc))}</p>", 400)
        state = self.make_state(web)
        owner = f"the organisation {org}" if org else "your personal account"
        body = (
            f"<p>The App is created on {escape(web)} for {escape(owner)}; "
            "GitHub then sends you back here.</p>"
            f'<form action="{escape(action)}?state={escape(state)}" method="post">'
            f'<input type="hidden" name="manifest" value="{escape(manifest)}">'
            f'<input type="hidden" name="state" value="{escape(state)}">'
            '<button type="submit">Create the GitHub App</button></form>'
        )
        return _page("Create the GitHub App", body)

    def _choose_form(self, token: str, public: str) -> str:
        return (
            f"<p>Webhooks will go to {escape(public.rstrip('/'))}/webhooks/github.</p>"
            '<form action="setup" method="get">'
            f'<input type="hidden" name="token" value="{escape(token)}">'
            f'<label>GitHub URL <input name="github_url" value="{GITHUB_COM}"></label> '
            "(or your GitHub Enterprise Server, e.g. https://github.example.com)<br>"
            '<label>Organisation <input name="org" value=""></label> (empty: your personal account)<br>'
            '<button type="submit">Continue</button></form>'
        )

    async def callback(self, request: Request) -> Response:
        if (closed := self._closed()) is not None:
            return closed
        code, github_url = (
            request.query_params.get("code"),
            self.read_state(request.query_params.get("state")),
        )
        if github_url is None:
            return _page("Setup refused", "<p>This setup was not started with the setup token.</p>", 403)
        if not code or len(code) > 200:
            return _page("Setup refused", "<p>GitHub sent no code.</p>", 400)
        api = api_url_for(github_url)
        try:
            async with httpx.AsyncClient(base_url=api, transport=self.transport, timeout=30) as http:
                resp = await http.post(
                    f"/app-manifests/{quote(code, safe='')}/conversions",
                    headers={"accept": "application/vnd.github+json", "x-github-api-version": "2022-11-28"},
                )
            if resp.status_code != 201:
                raise ValueError(f"GitHub answered {resp.status_code}")
            app = GitHubApp.from_conversion(resp.json(), api)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("github app manifest conversion failed", error=str(exc))
            return _page("GitHub did not create the App", "<p>Start again from the setup page.</p>", 502)
        assert self.store is not None and self.reconfigure is not None
        if not self.store.put(GITHUB_APP, app.to_json(), only_if_absent=True):
            self.done = True
            return _page("Setup is finished", "<p>This bot already has a GitHub App.</p>", 409)
        self.done = True
        log.info("github app created by the setup flow", app_id=app.id, slug=app.slug)
        from bot.secrets import apply_stored

        await self.reconfigure(apply_stored(self.settings, self.store))
        install = f"{app.html_url.rstrip('/')}/installations/new"
        body = (
            f"<p>The App {escape(app.slug)} (id {app.id}) is ready; "
            "its credentials are stored encrypted.</p>"
            f'<p><a href="{escape(install)}">Install it on your repositories</a></p>'
        )
        return _page("GitHub App created", body)
