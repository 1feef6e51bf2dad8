"""One GitHub REST request, done properly: auth, pacing, retries, error mapping, metrics.

githubkit supplies the App JWT (`AppAuthStrategy`, signed with PyJWT), the HTTP client with
timeouts and its ETag cache (`http_cache`: conditional requests, free 304s against the primary
limit). We call `arequest` with explicit endpoint templates rather than the generated typed
methods: the template is the metric label, the JSON is read tolerantly (GHES responses lack
newer fields that the typed models require), and the API version header is ours to pin.

API version: we send `X-GitHub-Api-Version: 2022-11-28` on every request. It is what GitHub
serves when no header is sent, is supported until at least March 2028, and is understood by every
GHES release (READINESS_GITHUB_API_URL), while 2026-03-10 is unknown to older GHES servers. None
of 2026-03-10's breaking changes (the `/rate_limit` `rate` field, team creation) touch the endpoints
we use. The installed githubkit-schemas wheel is 2026-03-10 only, which is another reason not to
lean on the typed per-version namespaces.

Retries are ours, not githubkit's `auto_retry` (disabled): githubkit sleeps with `anyio.sleep`
(not injectable), does not retry timeouts or connection errors, and computes rate-limit resets
from the wall clock. `bot.platforms.http.with_retries` does all three with injected sleep/clock.

Installation tokens are minted with the app JWT and cached here (not in githubkit's
`AppInstallationAuthStrategy`) so that a 401 from a revoked or expired token can drop the cached
token, mint a fresh one and retry once, and so expiry follows the injected clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import serialization
from githubkit import AppAuthStrategy, GitHub, UnauthAuthStrategy
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RateLimitExceeded, RequestError, RequestFailed, RequestTimeout
from sqlalchemy import Engine

from bot.config import Settings
from bot.metrics import API_CALLS
from bot.platforms.base import Forbidden, Invalid, NotFound, PlatformError, RateLimited, Transient
from bot.platforms.github.settings import GitHubSettings
from bot.platforms.http import RetryPolicy, Sleep, rate_limit_wait, record_remaining, with_retries
from bot.platforms.pacing import WritePacer, ledger_factory

API_VERSION = "2022-11-28"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
TOKEN_MARGIN = 300.0  # refresh installation tokens five minutes before they expire
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_OUTCOMES = {NotFound: "not_found", Forbidden: "forbidden", Invalid: "invalid"}


class _ExpiredToken(Exception):
    """A 401 on an installation request: refresh the token once and try again."""

    def __init__(self, token: str) -> None:
        self.token = token


class _SharedTransport(httpx.AsyncBaseTransport):
    """githubkit opens and closes an httpx client per request unless one is bound to a context
    variable; handing each of those clients this never-closing wrapper keeps one connection pool
    (TLS sessions, keep-alive) for the life of the `GitHubApi` instead of a handshake per call."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None  # closed by GitHubApi.aclose


class GitHubApi:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float],
        sleep: Sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        http_cache: bool = True,
        policy: RetryPolicy | None = None,
        pacing: Engine | None = None,
    ) -> None:
        """`pacing`: the database replicas share write pacing through (none: this process alone)."""
        own = settings.platform(GitHubSettings)
        if own.github_app_id is None or own.github_private_key is None:
            raise ValueError(
                "READINESS_GITHUB_APP_ID and READINESS_GITHUB_PRIVATE_KEY (or "
                "READINESS_GITHUB_PRIVATE_KEY_FILE) are required to talk to GitHub as an App"
            )
        self.clock = clock
        self.sleep = sleep
        self.policy = policy or RetryPolicy()
        self._transport = transport or httpx.AsyncHTTPTransport()
        common: dict[str, Any] = {
            "base_url": own.github_api_url,
            "timeout": TIMEOUT,
            "auto_retry": False,
            "http_cache": http_cache,
            "async_transport": _SharedTransport(self._transport),
            "cache_strategy": MemCacheStrategy(),  # per client: no responses shared across clients
            "user_agent": "readiness-bot",
        }
        key = _private_key(own.github_private_key.get_secret_value())
        self.graphql_url = graphql_endpoint(own.github_api_url)
        self._app = GitHub(AppAuthStrategy(own.github_app_id, key), **common)
        self._installation = GitHub(UnauthAuthStrategy(), **common)
        self._tokens: dict[int, tuple[str, float]] = {}  # installation id -> (token, expires at)
        self._pacers: dict[int, WritePacer] = {}
        self._ledger = ledger_factory(pacing, "github")
        self._minting: dict[int, asyncio.Lock] = {}

    def pacer(self, installation_id: int) -> WritePacer:
        if installation_id not in self._pacers:
            self._pacers[installation_id] = WritePacer(
                self.clock, self.sleep, ledger=self._ledger(installation_id)
            )
        return self._pacers[installation_id]

    # ------------------------------------------------------------------------------ requests

    async def request(
        self,
        method: str,
        template: str,
        *,
        installation_id: int | None,
        url: str | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        accept: str | None = None,
        if_none_match: str | None = None,
        idempotent: bool | None = None,
        write: bool | None = None,
        **path: str | int,
    ) -> httpx.Response:
        """Send `method template` (path parameters filled from `path`); `installation_id=None`
        authenticates as the App itself (JWT). Returns the raw response of a 2xx.

        A POST is not retried after a 5xx or timeout unless `idempotent=True`: GitHub may have
        applied it, and a retried create would duplicate the issue or comment. The worker retries
        the whole sync instead, which adopts what exists. Rate-limited requests were refused
        outright, so those are always retried. `write=False` marks a POST that only reads (a
        GraphQL query): it is not paced like the writes GitHub's secondary limits count.
        `if_none_match`: an ETag from an earlier answer; a `304` comes back as it is (free)."""
        target = url or _filled(template, path)
        endpoint = Endpoint(method, template, "app" if installation_id is None else str(installation_id))
        extra = {"Accept": accept} if accept else {}
        if if_none_match:
            extra["If-None-Match"] = if_none_match
        policy = self.policy
        if not (method != "POST" if idempotent is None else idempotent):
            policy = dataclasses.replace(policy, attempts=1)

        async def send() -> httpx.Response:
            try:
                return await self._send(method, target, endpoint, installation_id, params, json, extra)
            except _ExpiredToken as expired:
                if (
                    installation_id is not None
                    and self._tokens.get(installation_id, ("",))[0] == expired.token
                ):
                    del self._tokens[installation_id]
            try:
                return await self._send(method, target, endpoint, installation_id, params, json, extra)
            except _ExpiredToken:
                raise Forbidden(f"{endpoint}: 401 even with a fresh installation token") from None

        paced = (method in WRITE_METHODS) if write is None else write

        async def attempt() -> httpx.Response:
            if paced and installation_id is not None:
                async with self.pacer(installation_id).slot():
                    return await send()
            return await send()

        return await with_retries(attempt, sleep=self.sleep, policy=policy, platform="github")

    async def paginate(
        self,
        template: str,
        *,
        installation_id: int | None,
        key: str | None = None,
        params: dict[str, Any] | None = None,
        **path: str | int,
    ) -> AsyncIterator[dict[str, Any]]:
        """Items of every page, following `Link: rel="next"`; `key` picks the list out of an object."""
        params = {"per_page": 100, **(params or {})}
        url: str | None = _filled(template, path)  # then each page's `next` link
        while True:
            response = await self.request(
                "GET", template, installation_id=installation_id, url=url, params=params
            )
            data = response.json()
            for item in data[key] if key else data:
                yield item
            url = response.links.get("next", {}).get("url")
            if not url:
                return
            params = None  # the next link carries every query parameter

    async def _send(
        self,
        method: str,
        target: str,
        endpoint: Endpoint,
        installation_id: int | None,
        params: dict[str, Any] | None,
        json: Any,
        extra: dict[str, str],
    ) -> httpx.Response:
        headers = {"X-GitHub-Api-Version": API_VERSION, **extra}
        github: GitHub[Any]  # the App's client (JWT) or the installation one
        github, token = self._app, ""
        if installation_id is not None:
            token = await self.installation_token(installation_id)
            headers["Authorization"] = f"token {token}"
            github = self._installation
        try:
            response = await github.arequest(method, target, params=params, json=json, headers=headers)
        except RateLimitExceeded as exc:
            endpoint.observe(exc.response.raw_response)
            limited = RateLimited(
                f"{endpoint}: rate limited", rate_limit_wait(exc.response.headers, self.clock())
            )
            if method in WRITE_METHODS and installation_id is not None:
                await self.pacer(installation_id).pause(limited.retry_after)
            endpoint.count("rate_limited")
            raise limited from None
        except RequestFailed as exc:
            endpoint.observe(exc.response.raw_response)
            status = exc.response.status_code
            if status == 401 and installation_id is not None:
                endpoint.count("forbidden")
                raise _ExpiredToken(token) from None
            error = _map_status(status, str(endpoint), exc.response.raw_response, self.clock())
            endpoint.count(_outcome(error))
            raise error from None
        except (RequestTimeout, RequestError) as exc:
            if not isinstance(exc.exc, httpx.TransportError):  # a bug or bad config: retrying won't help
                endpoint.count("error")
                raise PlatformError(f"{endpoint}: {type(exc.exc).__name__}: {exc.exc}") from exc.exc
            endpoint.count("transient")
            raise Transient(f"{endpoint}: {type(exc.exc).__name__}") from None
        endpoint.observe(response.raw_response)
        endpoint.count("not_modified" if response.status_code == 304 else "ok")
        return response.raw_response

    # -------------------------------------------------------------------------------- tokens

    async def installation_token(self, installation_id: int) -> str:
        async with self._minting.setdefault(installation_id, asyncio.Lock()):  # one mint at a time
            cached = self._tokens.get(installation_id)
            if cached and cached[1] - TOKEN_MARGIN > self.clock():
                return cached[0]
            return await self._mint(installation_id)

    async def _mint(self, installation_id: int) -> str:
        response = await self.request(
            "POST",
            "/app/installations/{installation_id}/access_tokens",
            installation_id=None,
            url=f"/app/installations/{installation_id}/access_tokens",
            idempotent=True,  # a second token is harmless
        )
        data = response.json()
        expires = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00")).timestamp()
        self._tokens[installation_id] = (data["token"], expires)
        return data["token"]

    async def aclose(self) -> None:
        self._tokens.clear()
        await self._transport.aclose()


def graphql_endpoint(api_url: str) -> str:
    """GitHub's GraphQL URL for a REST base: api.github.com/graphql, or <host>/api/graphql for
    GitHub Enterprise Server (whose REST base ends in /api/v3)."""
    url = httpx.URL(api_url)
    path = url.path.rstrip("/")
    path = path[: -len("/v3")] + "/graphql" if path.endswith("/api/v3") else path + "/graphql"
    return str(url.copy_with(path=path))


def _filled(template: str, path: Mapping[str, str | int]) -> str:
    """`/repos/{owner}/{repo}` with its fields quoted in (a name's `/` stays a separator)."""
    return template.format(**{k: quote(str(v), safe="/") for k, v in path.items()})


def _private_key(pem: str) -> str:
    """The App key as PEM text; `\\n` escapes (common in .env files) are unfolded. Checked now so a
    bad key is a clear startup error, not a failure on every later request."""
    pem = pem.strip().replace("\\n", "\n")
    try:
        serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError(
            "READINESS_GITHUB_PRIVATE_KEY is not a PEM private key (expected the .pem file GitHub "
            "generated for the App, starting with -----BEGIN RSA PRIVATE KEY-----)"
        ) from None
    return pem


def _map_status(status: int, endpoint: str, response: httpx.Response, now: float) -> PlatformError:
    try:
        message = response.json().get("message", "")
    except ValueError:
        message = response.text[:200]
    text = f"{endpoint}: {status} {message}".strip()
    if status == 429:
        return RateLimited(text, rate_limit_wait(response.headers, now))
    if status == 403 and "secondary rate limit" in message.lower():
        return RateLimited(text, 60.0)  # GitHub: no retry-after given, so wait at least a minute
    if status in (404, 410):
        return NotFound(text)
    if status in (401, 403):
        return Forbidden(text)
    if status in (400, 409, 422):
        return Invalid(text)
    if status >= 500:
        return Transient(text)
    return PlatformError(text)


def _outcome(error: PlatformError) -> str:
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, Transient):
        return "transient"
    return _OUTCOMES.get(type(error), "error")


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """One request's metric labels: the template is the route class (bounded, never a raw path)."""

    method: str
    route: str
    installation: str  # the installation id, or "app" for the App's own (JWT) calls

    def __str__(self) -> str:
        return f"{self.method} {self.route}"

    def count(self, outcome: str) -> None:
        API_CALLS.labels("github", self.installation, self.route, self.method, outcome).inc()

    def observe(self, response: httpx.Response) -> None:
        """The core REST limit's remaining requests; GraphQL's separate budget is left out."""
        if response.headers.get("x-ratelimit-resource", "core") == "core":
            record_remaining("github", self.installation, response.headers.get("x-ratelimit-remaining"))
