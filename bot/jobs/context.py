"""Context: what every handler receives (platform clients, store, clock, templates, caches).

Handlers (`checklist`, `commands`, `summaries`, `installations`) get one Context and never build
or import each other: what they share (a repository's sync under its lock, the config as of the
last sync, the org default's reader; its memory is in the database) lives here, once per process.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine

from bot.apply import Apply
from bot.core.commands import FloodLimit
from bot.core.errors import InputError
from bot.core.events import RepoRef
from bot.core.resolve import ResolvedChecklist
from bot.core.settings import CONFIG_FILE, RepoConfig
from bot.core.templates import Template
from bot.jobs.org_defaults import OrgDefaults
from bot.platforms.base import Platform, PlatformClient, Tree
from bot.platforms.blobs import BlobCache
from bot.platforms.registry import spec_for
from bot.store import org_defaults, repos
from bot.store.db import session_scope
from bot.store.locks import repository_lock
from bot.sync import OrgDefaultSource, Syncer, SyncResult

log = structlog.get_logger(__name__)
Loaded = tuple[RepoConfig, list[ResolvedChecklist]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Caches:
    """Process-wide caches, correct by construction (keyed by commit or blob sha, or bounded)."""

    blobs: BlobCache = field(default_factory=BlobCache)
    trees: dict[tuple[str, str], Tree] = field(default_factory=dict)  # (repo, commit) -> tree
    heads: dict[tuple[str, str], deque[str]] = field(default_factory=dict)  # superseded heads, newest last
    configs: dict[tuple[str, str], tuple[str, Loaded | None]] = field(
        default_factory=dict
    )  # repo -> at commit
    # (platform, full name, platform id) -> row id: rows are never deleted, a rename keeps its
    # row, and another repository under an old name has another platform id
    repository_ids: dict[tuple[str, str, int], int] = field(default_factory=dict)


@dataclass
class Context:
    engine: Engine
    clients: Mapping[str, PlatformClient]
    shipped: Mapping[str, Template]
    clock: Callable[[], datetime] = _utcnow
    org_default_projects: Mapping[str, str] = field(default_factory=dict)  # platform -> configured
    command_limit: FloodLimit = field(default_factory=FloodLimit)
    org_default_ttl: timedelta = timedelta(minutes=10)
    dry_run: bool = False  # plan and describe every write, make none (`readiness sync --dry-run`)
    caches: Caches = field(default_factory=Caches)
    planned: list[str] = field(default_factory=list)  # a dry run's writes, one line each
    org_defaults: OrgDefaults = field(init=False)  # reads the org default (memory: bot.store.org_defaults)

    def __post_init__(self) -> None:
        self.org_defaults = OrgDefaults(self.org_default_ttl, self.clock)

    # ------------------------------------------------------------------------------ platforms

    async def platform_for(self, repo: RepoRef, installation_id: int | None) -> Platform:
        return await self.clients[repo.platform].for_repo(repo.full_name, installation_id=installation_id)

    def writer(self, platform: Platform) -> Apply:
        """The single writer for actions that touch no owned-issue records (replies, reactions)."""
        return Apply(platform, self.clock(), dry=self.dry_run, planned=self.planned)

    # ---------------------------------------------------------------------------------- store

    def repository_id_for(self, repo: RepoRef, installation_id: int | None) -> int:
        """The repository's row id; created (rename-aware) when no delivery recorded it yet.
        Remembered per process when the payload names the platform's id (no transaction)."""
        key = (repo.platform, repo.full_name, repo.id) if repo.id is not None else None
        if key is not None and key in self.caches.repository_ids:
            return self.caches.repository_ids[key]
        with session_scope(self.engine) as s:
            row = repos.get_repository(s, platform=repo.platform, full_name=repo.full_name)
            if row is None:
                row = repos.upsert_repository(
                    s,
                    platform=repo.platform,
                    full_name=repo.full_name,
                    now=self.clock(),
                    platform_id=repo.id,
                    installation_id=installation_id or repo.installation_id,
                    default_branch=repo.default_branch,
                )
                s.flush()
            assert row.id is not None
            found = row.id
        if key is not None:
            self.caches.repository_ids[key] = found
        return found

    def last_synced(self, repo: RepoRef | None) -> str | None:
        """The default-branch head last synced (a database read, no API call)."""
        return self.synced_state(repo)[0]

    def synced_state(self, repo: RepoRef | None) -> tuple[str | None, str | None]:
        """(last synced head, config status) as the last sync left them (one database read)."""
        if repo is None:
            return None, None
        with session_scope(self.engine) as s:
            row = repos.get_repository(s, platform=repo.platform, full_name=repo.full_name)
            if row is None or row.last_synced_commit is None:
                return None, None  # never synced: nothing is known about its configuration
            return row.last_synced_commit, row.config_status

    def superseded(self, repo: RepoRef | None) -> Container[str]:
        """Earlier heads this process synced for the repository (empty when unknown: never drop)."""
        return self.caches.heads.get((repo.platform, repo.full_name), ()) if repo else ()

    # ----------------------------------------------------------------------------------- sync

    async def sync(
        self, repo: RepoRef, *, installation_id: int | None, commit: str | None = None
    ) -> SyncResult:
        """One repository's sync under its lock: the one job every handler may ask for."""
        platform = await self.platform_for(repo, installation_id or repo.installation_id)
        repository_id = self.repository_id_for(repo, installation_id)
        syncer = self.syncer(platform, repo, repository_id, installation_id)
        with structlog.contextvars.bound_contextvars(repo=repo.full_name):
            async with repository_lock(self.engine, repository_id):
                result = await syncer.run(commit=commit)
        self.planned.extend(syncer.planned)
        previous, current = syncer.previous_head, syncer.head
        if previous and previous != current:
            heads = self.caches.heads.setdefault((repo.platform, repo.full_name), deque(maxlen=64))
            heads.append(previous)
        return result

    def syncer(
        self, platform: Platform, repo: RepoRef, repository_id: int, installation_id: int | None
    ) -> Syncer:
        """A Syncer for one repository, sharing the templates, clock and caches."""
        return Syncer(
            engine=self.engine,
            platform=platform,
            repository_id=repository_id,
            shipped=self.shipped,
            now=self.clock(),
            org_default=self.org_reader(repo, installation_id),
            blobs=self.caches.blobs,
            trees=self.caches.trees,
            dry_run=self.dry_run,
        )

    def org_source(self, repo: RepoRef) -> str | None:
        """The repository holding `repo`'s organisation default."""
        owner = repo.full_name.rsplit("/", 1)[0]
        configured = self.org_default_projects.get(repo.platform)
        return spec_for(repo.platform).org_defaults_source(owner, configured)

    def org_reader(self, repo: RepoRef, installation_id: int | None) -> OrgDefaultSource | None:
        source = self.org_source(repo)
        if not source or source == repo.full_name:
            return None

        client = self.clients[repo.platform]

        async def read(
            remembered: org_defaults.Remembered | None,
        ) -> tuple[str | None, org_defaults.Remembered | None]:
            return await self.org_defaults.read(
                remembered, lambda: client.for_repo(source, installation_id=installation_id)
            )

        return OrgDefaultSource(repo.platform, source, read)

    def forget_org_missing(self, repo: RepoRef) -> None:
        """A push to a repository may have added its organisation's default: every replica asks
        again on its next sync. A push to any other repository changes no default: no write."""
        if self.org_source(repo) != repo.full_name:
            return
        with session_scope(self.engine) as s:
            org_defaults.forget_missing(s, platform=repo.platform, source=repo.full_name)

    # --------------------------------------------------------------------------------- config

    async def load_checklists(
        self, platform: Platform, repo: RepoRef, repository_id: int, commit: str
    ) -> Loaded | None:
        """The repository's config and resolved checklists at `commit`, or None when it has no
        valid config. Reads exactly what a sync reads (org default, custom templates)."""
        raw = await platform.file(CONFIG_FILE, commit)
        if raw is None:
            return None
        syncer = self.syncer(platform, repo, repository_id, repo.installation_id)
        try:
            return await syncer.load_config(raw, commit)
        except InputError:
            return None

    async def config_at(
        self, platform: Platform, repo: RepoRef, repository_id: int, commit: str
    ) -> Loaded | None:
        """`load_checklists`, cached per repository at its commit (a file at a commit never
        changes), so a not-due summary check or a command costs no platform call after the first."""
        key = (repo.platform, repo.full_name)
        cached = self.caches.configs.get(key)
        if cached is None or cached[0] != commit:
            cached = (commit, await self.load_checklists(platform, repo, repository_id, commit))
            self.caches.configs[key] = cached
        return cached[1]
