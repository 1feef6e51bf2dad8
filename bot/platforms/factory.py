"""Build the platform clients the settings configure (and only those)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.platforms.base import Platform, PlatformClient, RepoInfo
from bot.platforms.dryrun import DryRunPlatform


def clients_from_settings(settings: Settings, *, pacing: Engine | None = None) -> dict[str, PlatformClient]:
    """GitHub when an App id and key are set; GitLab when a token is set. `pacing`: the database
    through which every replica shares write pacing (the worker passes its engine)."""
    clients: dict[str, PlatformClient] = {}
    if settings.github_app_id is not None and settings.github_private_key is not None:
        from bot.platforms.github.client import GitHubClient

        clients["github"] = GitHubClient(settings, pacing=pacing)
    if settings.gitlab_token is not None:
        from bot.platforms.gitlab.client import GitLabClient

        clients["gitlab"] = GitLabClient(settings, pacing=pacing)
    return clients


class DryRunClient:
    """Reads through to the real platform; every write is recorded in `planned`, none is made."""

    def __init__(self, inner: PlatformClient) -> None:
        self.inner = inner
        self.name = inner.name
        self.platforms: list[DryRunPlatform] = []

    async def for_repo(self, full_name: str, *, installation_id: int | None = None) -> Platform:
        platform = DryRunPlatform(await self.inner.for_repo(full_name, installation_id=installation_id))
        self.platforms.append(platform)
        return platform

    async def installation_repos(self, installation_id: int | None = None) -> list[RepoInfo]:
        return await self.inner.installation_repos(installation_id)

    async def aclose(self) -> None:
        await self.inner.aclose()

    @property
    def planned(self) -> list[str]:
        return [line for p in self.platforms for line in p.planned]
