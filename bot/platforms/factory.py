"""Build the platform clients the settings configure (and only those)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.platforms.base import Platform, PlatformClient, RepoInfo
from bot.platforms.dryrun import DryRunPlatform
from bot.platforms.registry import PLATFORMS


def clients_from_settings(settings: Settings, *, pacing: Engine | None = None) -> dict[str, PlatformClient]:
    """Each registered platform whose client the settings configure (GitHub: an App id and key;
    GitLab: a token). `pacing`: the database through which every replica shares write pacing
    (the worker passes its engine)."""
    clients: dict[str, PlatformClient] = {}
    for name, spec in PLATFORMS.items():
        client = spec.client(settings, pacing)
        if client is not None:
            clients[name] = client
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
