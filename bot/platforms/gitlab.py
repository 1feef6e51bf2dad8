"""GitLab adapter (python-gitlab, REST): one `GitLabClient` per process, one `GitLabRepo` per project.

python-gitlab blocks, so every call runs in a worker thread (`asyncio.to_thread`); retries,
rate limits, metrics and error mapping happen per HTTP request in `gitlab_http.RetryingGitlab`.
The epic is an issue and its sections are issues linked to it with `relates_to` links (works on
every tier and version; child work items via GraphQL are not used yet).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import requests

from bot.config import Settings, SettingsError
from bot.metrics import RATE_LIMIT_WAIT_SECONDS
from bot.platforms.base import RepoInfo
from bot.platforms.gitlab_http import RetryingGitlab, run
from bot.platforms.gitlab_repo import PER_PAGE, GitLabRepo

__all__ = ["GitLabClient", "GitLabRepo", "Pacer", "SpacedWrites"]


class Pacer(Protocol):
    async def wait(self) -> None: ...


class SpacedWrites:
    """Fallback write pacing until the shared pacer is wired in: writes at least `spacing` apart
    (1 s = 60/min, under GitLab.com's per-user issue and note creation limits)."""

    def __init__(
        self,
        spacing: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spacing, self._clock, self._sleep = spacing, clock, sleep
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            delay = self._next - self._clock()
            if delay > 0:
                RATE_LIMIT_WAIT_SECONDS.labels("gitlab").inc(delay)
                await self._sleep(delay)
            self._next = self._clock() + self.spacing


class GitLabClient:
    """Holds the python-gitlab connection, the bot's identity and write pacing for one instance."""

    name = "gitlab"

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        max_wait: float = 30.0,
        pacer: Pacer | None = None,
    ) -> None:
        if settings.gitlab_token is None:
            raise SettingsError("READINESS_GITLAB_TOKEN: required to talk to GitLab")
        self.url = settings.gitlab_url.rstrip("/")
        self._own_session = session is None
        self.gl = RetryingGitlab(
            self.url,
            private_token=settings.gitlab_token.get_secret_value(),
            session=session or requests.Session(),
            timeout=timeout,
            clock=clock,
            sleep=sleep,
            max_wait=max_wait,
        )
        self.pacer = pacer or SpacedWrites()
        self._me: tuple[int, str] | None = None
        self.user_ids: dict[str, int | None] = {}

    async def whoami(self) -> tuple[int, str]:
        """(id, username) of the token's user: our author id and the login to ignore echoes of."""
        if self._me is None:
            data = await run(lambda: self.gl.http_get("/user"))
            assert isinstance(data, dict)
            self._me = (int(data["id"]), str(data["username"]))
        return self._me

    async def for_repo(self, full_name: str, *, installation_id: int | None = None) -> GitLabRepo:
        bot_id, bot_login = await self.whoami()
        return GitLabRepo(self, full_name, bot_id=bot_id, bot_login=bot_login)

    async def installation_repos(self, installation_id: int | None = None) -> list[RepoInfo]:
        """Projects the token is a member of with at least Developer access (30)."""

        def fetch() -> list[RepoInfo]:
            projects = self.gl.projects.list(
                membership=True, min_access_level=30, per_page=PER_PAGE, iterator=True
            )
            return [
                RepoInfo(
                    full_name=p.path_with_namespace,
                    id=p.id,
                    default_branch=p.attributes.get("default_branch") or "",
                    archived=bool(p.attributes.get("archived")),
                )
                for p in projects
            ]

        return await run(fetch)

    def user_id(self, login: str) -> int | None:
        """Blocking (call inside `_run`): a username's id, cached; None if no such user."""
        if login not in self.user_ids:
            found = self.gl.users.list(username=login, get_all=False)
            self.user_ids[login] = found[0].id if found else None
        return self.user_ids[login]

    async def aclose(self) -> None:
        if self._own_session:
            self.gl.session.close()
