"""GitLab adapter (python-gitlab, REST): one `GitLabClient` per process, one `GitLabRepo` per project.

python-gitlab blocks, so every call runs in a worker thread (`GitLabClient.run`); retries, rate
limits, metrics and error mapping happen per HTTP request in `http.RetryingGitlab`, and
waits there go through the same injected async `sleep` as write pacing (bridged back to the event
loop), so one fake clock drives a whole test. The epic is an issue; its sections become child
tasks of it through GraphQL where the instance allows (`READINESS_GITLAB_HIERARCHY=auto`, see
`hierarchy`), else issues linked to it with `relates_to` links (every tier and version).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import gitlab
import requests
from sqlalchemy import Engine

from bot.config import Settings, SettingsError
from bot.platforms.base import PlatformError, RepoInfo
from bot.platforms.gitlab.graphql import GitLabGraphQL
from bot.platforms.gitlab.groups import GroupLookup
from bot.platforms.gitlab.hierarchy import Hierarchy
from bot.platforms.gitlab.http import RetryingGitlab
from bot.platforms.gitlab.repo import PER_PAGE, GitLabRepo
from bot.platforms.gitlab.settings import GitLabSettings
from bot.platforms.http import RetryPolicy
from bot.platforms.pacing import WritePacer, ledger_factory

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

__all__ = ["GitLabClient", "GitLabRepo", "gitlab_pacer"]


def _on_loop_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def gitlab_pacer(clock: Callable[[], float], sleep: Sleep, engine: Engine | None = None) -> WritePacer:
    """GitLab limits issue and note creation per user per minute (300 by default, admins may set
    less); one write a second keeps well under it and matches our GitHub pacing. The bot is one
    user per instance, so replicas share one ledger (installation 0) through `engine`."""
    return WritePacer(
        clock,
        sleep,
        platform="gitlab",
        min_interval=1.0,
        per_minute=60,
        per_hour=3600,
        ledger=ledger_factory(engine, "gitlab")(0),
    )


class GitLabClient:
    """Holds the python-gitlab connection, the bot's identity and write pacing for one instance."""

    name = "gitlab"

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        pacer: WritePacer | None = None,
        pacing: Engine | None = None,
    ) -> None:
        own = settings.platform(GitLabSettings)
        if own.gitlab_token is None:
            raise SettingsError("READINESS_GITLAB_TOKEN: required to talk to GitLab")
        self.url = own.gitlab_url.rstrip("/")
        self._own_session = session is None
        self.gl = RetryingGitlab(
            self.url,
            private_token=own.gitlab_token.get_secret_value(),
            session=session or requests.Session(),
            timeout=timeout,
            clock=clock,
            sleep=self._sleep_in_thread,
            policy=policy or RetryPolicy(),
        )
        self.graphql = GitLabGraphQL(
            self.url,
            own.gitlab_token.get_secret_value(),
            gl=self.gl,
            clock=clock,
            sleep=self._sleep_in_thread,
            timeout=timeout,
        )
        self.hierarchy = Hierarchy(self.graphql, own.gitlab_hierarchy)
        self.groups = GroupLookup(self.gl, clock)  # is a bare `@name` owner a group?
        self.blob_queries = True  # until GitLab refuses `repository.blobs`: then files come by REST
        self._sleep = sleep
        self._loop: asyncio.AbstractEventLoop | None = None
        self.pacer = pacer or gitlab_pacer(clock, sleep, pacing)
        self._me: tuple[int, str] | None = None
        self.user_ids: dict[str, int | None] = {}

    async def run(self, fn: Callable[[], T]) -> T:
        """Run blocking python-gitlab code off the event loop; errors arrive already mapped."""
        self._loop = asyncio.get_running_loop()
        try:
            return await asyncio.to_thread(fn)
        except gitlab.exceptions.GitlabError as exc:  # raised after the request: unparsable JSON
            raise PlatformError(f"GitLab: {type(exc).__name__}: {exc.error_message}") from None

    def _sleep_in_thread(self, seconds: float) -> None:
        """Retry waits happen in the worker thread; run the injected async sleep on our loop."""
        loop = self._loop
        if loop is None or not loop.is_running() or _on_loop_thread():
            time.sleep(seconds)  # not called through `run`: nothing to hand the wait to
            return

        async def wait() -> None:  # a coroutine, as run_coroutine_threadsafe needs
            await self._sleep(seconds)

        asyncio.run_coroutine_threadsafe(wait(), loop).result()

    async def whoami(self) -> tuple[int, str]:
        """(id, username) of the token's user: our author id and the login to ignore echoes of."""
        if self._me is None:
            data = await self.run(lambda: self.gl.http_get("/user"))
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

        return await self.run(fetch)

    def user_id(self, login: str) -> int | None:
        """Blocking (call inside `run`): a username's id, cached; None if no such user."""
        if login not in self.user_ids:
            found = self.gl.users.list(username=login, get_all=False)
            self.user_ids[login] = found[0].id if found else None
        return self.user_ids[login]

    async def aclose(self) -> None:
        self.graphql.close()
        if self._own_session:
            self.gl.session.close()
