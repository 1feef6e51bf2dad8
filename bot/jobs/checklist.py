"""Turn a normalised event into checklist work: record people's ticks, then sync the repository.

This is the `sync` hook the delivery dispatcher calls; it never writes to a platform itself
except through `bot.sync.Syncer`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Container, Mapping
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine

from bot.core import tracker
from bot.core.commands import FloodLimit
from bot.core.decide import apply_human_ticks
from bot.core.events import Event, Kind, RepoRef
from bot.core.settings import CONFIG_FILE
from bot.core.templates import Template
from bot.jobs.commands import CommandHandler  # commands helper
from bot.jobs.routing import Route, drop_reason, route
from bot.jobs.summaries import SummaryJob  # commands helper
from bot.metrics import DISPATCH_DROPS
from bot.platforms.base import NotFound, Platform, PlatformClient, Tree
from bot.platforms.blobs import BlobCache
from bot.store import repos, tracking
from bot.store.db import session_scope
from bot.store.locks import repository_lock
from bot.sync import ReadOrgDefault, Syncer, SyncResult

log = structlog.get_logger(__name__)


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
        org_default_ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        self.engine = engine
        self.command_limit = command_limit or FloodLimit()
        self.clients = clients
        self.shipped = shipped
        self.clock = clock
        self.gitlab_defaults_project = gitlab_defaults_project
        self.blobs = BlobCache()
        self.trees: dict[tuple[str, str], Tree] = {}  # trees by commit sha, shared by syncs
        self._heads: dict[tuple[str, str], deque[str]] = {}  # superseded heads, newest last
        self.org_default_ttl = org_default_ttl
        self._org_missing: dict[tuple[str, str], datetime] = {}  # org default source -> 404 until
        self._org_text: dict[tuple[str, str], tuple[str, str]] = {}  # source -> (commit, text)
        # commands and weekly summaries (commands helper): their own jobs, same clients
        self.commands = CommandHandler(self)
        self.summaries = SummaryJob(self)

    async def __call__(self, event: Event, delivery: object = None) -> list[SyncResult]:
        which = route(event)
        if which is None or event.platform.value not in self.clients:
            return []
        last = self._last_synced(event.repo) if event.kind is Kind.CI and event.repo else None
        if event.kind is Kind.PUSH and event.repo is not None:  # the org default may have changed
            self._org_missing.pop((event.platform.value, event.repo.full_name), None)
        reason = drop_reason(event, last_synced_commit=last, superseded=self._superseded(event.repo))
        if reason is not None:
            DISPATCH_DROPS.labels(event.platform.value, reason).inc()
            log.debug("dispatch.dropped", reason=reason, kind=event.kind.value, commit=event.commit)
            return []
        if which is Route.COMMAND:
            return await self.commands(event)
        if which is Route.SUMMARY:
            await self.summaries(event)
            return []
        if which is Route.INSTALLATION:
            return [await self.sync(r, installation_id=event.installation_id) for r in event.repos_added]
        if event.repo is None:
            return []
        if which is Route.TICKS:
            platform = await self.platform_for(event.repo, event.installation_id)
            if event.sender == platform.bot_login:
                DISPATCH_DROPS.labels(event.platform.value, "own_echo").inc()
                return []  # the echo of our own edit
            if not self._record_ticks(event):
                return []
        commit = self._push_head(event) if event.kind is Kind.PUSH else None
        if event.kind is Kind.CI and event.commit is not None and event.commit == last:
            commit = last  # CI for the head already synced: no need to ask for the branch head
        return [await self.sync(event.repo, installation_id=event.installation_id, commit=commit)]

    async def sync(
        self, repo: RepoRef, *, installation_id: int | None, commit: str | None = None
    ) -> SyncResult:
        platform = await self.platform_for(repo, installation_id or repo.installation_id)
        repository_id = self.repository_id_for(repo, installation_id)
        syncer = self.syncer(platform, repo, repository_id, installation_id)
        previous = self._last_synced(repo)
        with structlog.contextvars.bound_contextvars(repo=repo.full_name):
            async with repository_lock(self.engine, repository_id):
                result = await syncer.run(commit=commit)
        current = self._last_synced(repo)
        if previous and previous != current:
            heads = self._heads.setdefault((repo.platform.value, repo.full_name), deque(maxlen=64))
            heads.append(previous)
        return result

    # ----------------------------------------------------------------------------------- helpers

    def _push_head(self, event: Event) -> str | None:
        """The commit a push says the branch is at, when it continues the history the bot synced
        last; None (ask the platform for the head) when pushes were reordered, missed or folded
        together: GitHub does not deliver in order, and syncing a late push's commit would show
        an old state of the repository until the next event."""
        before = event.extra.get("before")
        if before is None:  # several pushes folded into one sync (see Dispatcher._coalesce)
            return None
        last = self._last_synced(event.repo)
        return event.commit if last is None or before == last else None

    def _last_synced(self, repo: RepoRef | None) -> str | None:
        """The default-branch head last synced (a database read, no API call)."""
        if repo is None:
            return None
        with session_scope(self.engine) as s:
            row = repos.get_repository(s, platform=repo.platform.value, full_name=repo.full_name)
            return row.last_synced_commit if row is not None else None

    def _superseded(self, repo: RepoRef | None) -> Container[str]:
        """Earlier heads this process synced for the repository (empty when unknown: never drop)."""
        return self._heads.get((repo.platform.value, repo.full_name), ()) if repo else ()

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
            trees=self.trees,
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

        key = (repo.platform.value, source)

        async def read() -> str | None:
            missing_until = self._org_missing.get(key)
            if missing_until is not None and self.clock() < missing_until:
                return None  # a 404 remembered until the source's next push or the TTL
            try:
                p = await self.clients[repo.platform.value].for_repo(source, installation_id=installation_id)
                branch = await p.default_branch()
                cached = self._org_text.get(key)
                if cached is not None and cached[0] == branch.commit:
                    return cached[1]
                data = await p.file(CONFIG_FILE, branch.commit)
            except NotFound:
                data = None
            if data is None:
                self._org_missing[key] = self.clock() + self.org_default_ttl
                return None
            text = data.decode("utf-8", errors="replace")
            self._org_text[key] = (branch.commit, text)
            return text

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
