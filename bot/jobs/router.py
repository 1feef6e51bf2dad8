"""The job entry the worker's dispatcher calls: drop what cannot change anything, then hand the
event to the one handler its route names.

Why a module of its own: it is the composition root. It builds the `Context` and each handler
once; handlers receive the Context and never build, import or call each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine

from bot.core.commands import FloodLimit
from bot.core.events import Event, Kind, RepoRef
from bot.core.templates import Template
from bot.jobs.checklist import ChecklistHandler
from bot.jobs.commands import CommandHandler
from bot.jobs.context import Context, _utcnow
from bot.jobs.installations import InstallationHandler
from bot.jobs.routing import Route, drop_reason, route
from bot.jobs.summaries import SummaryJob
from bot.metrics import DISPATCH_DROPS
from bot.platforms.base import PlatformClient
from bot.sync import SyncResult

log = structlog.get_logger(__name__)


class Router:
    """Callable as `sync(event, delivery)` by the dispatcher (`bot.jobs.handlers`)."""

    def __init__(
        self,
        engine: Engine,
        clients: Mapping[str, PlatformClient],
        shipped: Mapping[str, Template],
        *,
        clock: Callable[[], datetime] = _utcnow,
        org_default_projects: Mapping[str, str] | None = None,
        command_limit: FloodLimit | None = None,
        org_default_ttl: timedelta = timedelta(minutes=10),
        dry_run: bool = False,
    ) -> None:
        self.ctx = Context(
            engine,
            clients,
            shipped,
            clock=clock,
            org_default_projects=org_default_projects or {},
            command_limit=command_limit or FloodLimit(),
            org_default_ttl=org_default_ttl,
            dry_run=dry_run,
        )
        self.engine = engine
        self.checklist = ChecklistHandler(self.ctx)
        self.summaries = SummaryJob(self.ctx)
        commands = CommandHandler(self.ctx)
        installations = InstallationHandler(self.ctx)
        self.handlers: dict[Route, Callable[[Event], Awaitable[object]]] = {
            Route.COMMAND: commands,
            Route.SUMMARY: self.summaries,
            Route.INSTALLATION: installations,
        }

    async def __call__(self, event: Event, delivery: object = None) -> list[SyncResult]:
        which = route(event)
        if which is None or event.platform not in self.ctx.clients:
            return []
        last, status = (
            self.ctx.synced_state(event.repo) if event.kind in (Kind.CI, Kind.ISSUE_EDITED) else (None, None)
        )
        if event.kind is Kind.PUSH and event.repo is not None:  # the org default may have changed
            self.ctx.forget_org_missing(event.repo)
        reason = drop_reason(
            event, last_synced_commit=last, superseded=self.ctx.superseded(event.repo), config_status=status
        )
        if reason is not None:
            DISPATCH_DROPS.labels(event.platform, reason).inc()
            log.debug("dispatch.dropped", reason=reason, kind=event.kind.value, commit=event.commit)
            return []
        if which in (Route.SYNC, Route.TICKS):
            return await self.checklist(event, last_synced=last)
        result = await self.handlers[which](event)
        return result if isinstance(result, list) else []

    async def sync(
        self, repo: RepoRef, *, installation_id: int | None, commit: str | None = None
    ) -> SyncResult:
        """One repository's sync now (the CLI, tests)."""
        return await self.ctx.sync(repo, installation_id=installation_id, commit=commit)
