"""Turn a normalised event into checklist work: record people's ticks, then sync the repository.

This is the `sync` hook the delivery dispatcher calls; it never writes to a platform itself
except through `bot.sync.Syncer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine

from bot.core import tracker
from bot.core.commands import FloodLimit
from bot.core.decide import apply_human_ticks
from bot.core.events import Event, Kind, RepoRef
from bot.core.settings import CONFIG_FILE
from bot.core.templates import Template
from bot.jobs.commands import CommandHandler  # commands helper
from bot.jobs.summaries import SUMMARY_EVENT, SummaryJob  # commands helper
from bot.platforms.base import NotFound, Platform, PlatformClient
from bot.platforms.blobs import BlobCache
from bot.store import repos, tracking
from bot.store.db import session_scope
from bot.store.locks import repository_lock
from bot.sync import ReadOrgDefault, Syncer, SyncResult

log = structlog.get_logger(__name__)

ZERO_SHA = "0" * 40
SYNC_KINDS = {Kind.PUSH, Kind.CI, Kind.ISSUE_EDITED, Kind.SCHEDULE, Kind.INSTALLATION}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ChecklistHandler:
    """Callable as `sync(event, delivery)` by the dispatcher."""

    def __init__(
        self,
        engine: Engine,
        clients: Mapping[str, PlatformClient],
        shipped: Mapping[str, Template],
        *,
        clock: Callable[[], datetime] = _utcnow,
        gitlab_defaults_project: str | None = None,
        command_limit: FloodLimit | None = None,
    ) -> None:
        self.engine = engine
        self.command_limit = command_limit or FloodLimit()
        self.clients = clients
        self.shipped = shipped
        self.clock = clock
        self.gitlab_defaults_project = gitlab_defaults_project
        self.blobs = BlobCache()
        # commands and weekly summaries (commands helper): their own jobs, same clients
        self.commands = CommandHandler(self)
        self.summaries = SummaryJob(self)

    async def __call__(self, event: Event, delivery: object = None) -> list[SyncResult]:
        if event.kind is Kind.COMMENT and event.platform.value in self.clients:  # commands helper
            return await self.commands(event)
        if event.name == SUMMARY_EVENT and event.platform.value in self.clients:  # commands helper
            await self.summaries(event)
            return []
        if event.kind not in SYNC_KINDS or event.platform.value not in self.clients:
            return []
        if event.kind is Kind.INSTALLATION:
            return [await self.sync(r, installation_id=event.installation_id) for r in event.repos_added]
        if event.repo is None:
            return []
        if event.kind is Kind.PUSH and not self._is_default_branch_push(event):
            return []
        if event.kind is Kind.ISSUE_EDITED:
            platform = await self.platform_for(event.repo, event.installation_id)
            if event.sender_is_bot or event.sender == platform.bot_login:
                return []  # the echo of our own edit
            if not self._record_ticks(event):
                return []
        commit = event.commit if event.kind is Kind.PUSH else None
        return [await self.sync(event.repo, installation_id=event.installation_id, commit=commit)]

    async def sync(
        self, repo: RepoRef, *, installation_id: int | None, commit: str | None = None
    ) -> SyncResult:
        platform = await self.platform_for(repo, installation_id or repo.installation_id)
        repository_id = self.repository_id_for(repo, installation_id)
        syncer = self.syncer(platform, repo, repository_id, installation_id)
        with structlog.contextvars.bound_contextvars(repo=repo.full_name):
            async with repository_lock(self.engine, repository_id):
                return await syncer.run(commit=commit)

    # ----------------------------------------------------------------------------------- helpers

    @staticmethod
    def _is_default_branch_push(event: Event) -> bool:
        if not event.commit or event.commit == ZERO_SHA:
            return False  # branch deleted
        default = event.repo.default_branch if event.repo else None
        return default is None or event.ref == f"refs/heads/{default}"

    def _record_ticks(self, event: Event) -> bool:
        """A person edited one of our section issues: record their ticks. True if any."""
        key = tracker.key_from_body(event.body)
        if key is None or not key.startswith("section:") or event.repo is None:
            return False
        repo_id = self.repository_id_for(event.repo, event.installation_id)
        with session_scope(self.engine) as s:
            row = tracking.owned_issues(s, repository_id=repo_id).get(key)
            before_body = (
                event.previous_body if event.previous_body is not None else (row.body if row else None)
            )
            ticks = tracker.changed_boxes(
                tracker.parse_checkboxes(before_body), tracker.parse_checkboxes(event.body)
            )
            if not ticks:
                return False
            states = tracking.load_states(s, repository_id=repo_id)
            flat = {(c, i): st for c, cs in states.items() for i, st in cs.items()}
            decided = apply_human_ticks(
                current=flat, ticks=ticks, actor=event.sender or "?", now=self.clock()
            )
            tracking.save_states(
                s, repository_id=repo_id, states=decided.values(), previous=states, now=self.clock()
            )
        log.info("ticks.recorded", by=event.sender, count=len(decided))
        return True

    def syncer(
        self, platform: Platform, repo: RepoRef, repository_id: int, installation_id: int | None
    ) -> Syncer:
        """A Syncer for one repository, sharing this handler's templates, clock and blob cache."""
        return Syncer(
            engine=self.engine,
            platform=platform,
            repository_id=repository_id,
            shipped=self.shipped,
            now=self.clock(),
            read_org_default=self.org_reader(repo, installation_id),
            blobs=self.blobs,
        )

    async def platform_for(self, repo: RepoRef, installation_id: int | None) -> Platform:
        return await self.clients[repo.platform.value].for_repo(
            repo.full_name, installation_id=installation_id
        )

    def org_reader(self, repo: RepoRef, installation_id: int | None) -> ReadOrgDefault | None:
        owner = repo.full_name.rsplit("/", 1)[0]
        source = f"{owner}/.github" if repo.platform.value == "github" else self.gitlab_defaults_project
        if not source or source == repo.full_name:
            return None

        async def read() -> str | None:
            try:
                p = await self.clients[repo.platform.value].for_repo(source, installation_id=installation_id)
                branch = await p.default_branch()
                data = await p.file(CONFIG_FILE, branch.commit)
            except NotFound:
                return None
            return data.decode("utf-8", errors="replace") if data is not None else None

        return read

    def repository_id_for(self, repo: RepoRef, installation_id: int | None) -> int:
        """The repository's row id; created (rename-aware) when no delivery recorded it yet."""
        with session_scope(self.engine) as s:
            row = repos.get_repository(s, platform=repo.platform.value, full_name=repo.full_name)
            if row is None:
                row = repos.upsert_repository(
                    s,
                    platform=repo.platform.value,
                    full_name=repo.full_name,
                    now=self.clock(),
                    platform_id=repo.id,
                    installation_id=installation_id or repo.installation_id,
                    default_branch=repo.default_branch,
                )
                s.flush()
            assert row.id is not None
            return row.id
