"""What the worker does with one delivery: decode, normalise, record, then hand over to `sync`.

Recording comes first and is idempotent (upserts), so a retried delivery records nothing twice:
installations (created, suspended, removed), which repositories the bot may work on, and each
repository's metadata (id, default branch, renames). The checklist work plugs in as `sync`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.config import Settings
from bot.core.events import Event, Kind, RepoRef
from bot.jobs.routing import Route, drop_reason, route
from bot.logging import get_logger
from bot.metrics import COALESCED
from bot.platforms.registry import PLATFORMS, spec_for
from bot.store import queue, repos
from bot.store.db import session_scope
from bot.store.models import Delivery, utcnow
from bot.webhooks.normalize import from_stored, normalize

log = get_logger(__name__)

INTERNAL_PREFIX = "readiness."  # internal events (scheduler), e.g. "readiness.resync"
READ_MEMO = 1024  # deliveries read ahead by coalescing, kept for their own turn or a retry
Sync = Callable[[Event, Delivery], Awaitable[object]]


class UndecodablePayload(Exception):
    """A stored payload that is not a JSON object: retrying cannot fix it."""

    transient = False


def decode(delivery: Delivery) -> dict[str, Any]:
    try:
        payload = json.loads(delivery.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UndecodablePayload(f"payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise UndecodablePayload(f"payload is a JSON {type(payload).__name__}, not an object")
    return payload


def internal_event(delivery: Delivery, payload: dict[str, Any]) -> Event:
    """Events the bot makes for itself carry the repository as stored (see jobs.scheduler)."""
    repo = payload.get("repository") or {}
    platform = spec_for(delivery.platform).platform
    ref = (
        RepoRef(
            platform,
            repo["full_name"],
            id=repo.get("id"),
            installation_id=delivery.installation_id,
            default_branch=repo.get("default_branch"),
        )
        if repo.get("full_name")
        else None
    )
    return Event(
        platform=platform,
        kind=Kind.SCHEDULE,
        name=delivery.event,
        action=delivery.action,
        repo=ref,
        installation_id=delivery.installation_id,
        sender_is_bot=True,
    )


class Dispatcher:
    """The worker's handler: `await dispatcher(delivery)`."""

    def __init__(
        self,
        engine: Engine,
        *,
        sync: Sync | None = None,
        clock: Callable[[], datetime] = utcnow,
        settle_seconds: float = 0.0,
    ) -> None:
        self.engine, self.sync, self.clock = engine, sync, clock
        self.settle_seconds = settle_seconds
        self._read: OrderedDict[int, tuple[Event, str | None]] = OrderedDict()

    def read(self, delivery: Delivery, *, keep: bool = True) -> tuple[Event, str | None]:
        """The delivery's event and installation account: as the receiver normalised and stored it,
        else decoded and normalised from the body, once per process.

        A stored payload never changes, so coalescing (which reads the deliveries queued behind
        one) leaves what it read for the one that stops it, and for a retry of a failed sync;
        `keep=False` takes the entry out (the delivery's own turn)."""
        if delivery.id is not None and delivery.id in self._read:
            if keep:
                self._read.move_to_end(delivery.id)
                return self._read[delivery.id]
            return self._read.pop(delivery.id)
        found = from_stored(delivery.normalized) or self._normalized(delivery)
        if keep and delivery.id is not None:
            self._read[delivery.id] = found
            while len(self._read) > READ_MEMO:
                self._read.popitem(last=False)
        return found

    async def __call__(self, delivery: Delivery) -> None:
        event, account = self.read(delivery, keep=False)
        wanted = await asyncio.to_thread(self.record, event, account=account)
        if self.sync is None or not wanted:
            log.info("delivery recorded", kind=event.kind.value, sync=False)
            return
        covered: list[int] = []
        if route(event) is Route.SYNC and delivery.repo_key and delivery.id is not None:
            event, covered = await self._coalesce(delivery, event)
        await self.sync(event, delivery)
        if covered:  # only once the covering sync succeeded: a retry of it still sees them
            assert delivery.id is not None
            n = await asyncio.to_thread(
                queue.coalesce, self.engine, covered, covered_by=delivery.id, now=self.clock()
            )
            COALESCED.labels(event.platform).inc(n)
            log.info("deliveries coalesced", covered_by=delivery.id, count=n)
            for done in covered:
                self._read.pop(done, None)

    @classmethod
    def _normalized(cls, delivery: Delivery) -> tuple[Event, str | None]:
        """From the raw body: rows the receiver stored without their event (before migration
        0016, internal events) or in another format than this bot writes."""
        payload = decode(delivery)
        return cls._event(delivery, payload), spec_for(delivery.platform).account(payload)

    @staticmethod
    def _event(delivery: Delivery, payload: dict[str, Any]) -> Event:
        if delivery.event.startswith(INTERNAL_PREFIX):
            return internal_event(delivery, payload)
        return normalize(delivery.platform, delivery.event, payload)

    async def _coalesce(self, delivery: Delivery, event: Event) -> tuple[Event, list[int]]:
        """Fold the sync work queued behind this delivery for the same repository into one sync.

        Waits `settle_seconds` for a burst to land, then takes the run of pending sync-only
        deliveries (pushes, CI results, resyncs; and what cannot change anything, such as a comment
        without a command) up to the first one that needs its own handling (a person's edit, a
        command), so order is kept. The event to sync is the newest
        default-branch push, else the newest CI result that dispatch keeps, else this one.
        """
        if self.settle_seconds > 0:
            await asyncio.sleep(self.settle_seconds)
        assert delivery.repo_key is not None and delivery.id is not None
        pending = await asyncio.to_thread(
            queue.pending_for_repo, self.engine, repo_key=delivery.repo_key, after_id=delivery.id
        )
        covered: list[int] = []
        push = event if event.kind is Kind.PUSH and drop_reason(event) is None else None
        pushes = int(push is not None)
        ci = event if event.kind is Kind.CI and drop_reason(event) is None else None
        for later in pending:
            try:
                ev, account = self.read(later)
            except UndecodablePayload:
                break
            if route(ev) is not Route.SYNC and drop_reason(ev) is None:  # same repo_key: same repository
                break  # needs its own handling (a person's edit, a command): its turn keeps its place
            await asyncio.to_thread(self.record, ev, account=account)
            assert later.id is not None
            covered.append(later.id)
            if drop_reason(ev) is None:
                if ev.kind is Kind.PUSH:
                    push, pushes = ev, pushes + 1
                elif ev.kind is Kind.CI:
                    ci = ev
        if push is not None and pushes > 1:
            # pushes arrive out of order, so which of them is the branch head is not known: no
            # `before`, and the sync asks the platform for the head (ChecklistHandler._push_head)
            push = dataclasses.replace(push, extra={**push.extra, "before": None})
        return push or ci or event, covered

    def record(self, event: Event, *, account: str | None = None) -> bool:
        """Store what the event says about installations and repositories; True if the event
        should go on to `sync` (the bot acts on it and the repository is still ours)."""
        now, platform = self.clock(), event.platform
        with session_scope(self.engine, immediate=True) as session:
            if event.kind is Kind.INSTALLATION and event.installation_id is not None:
                self._record_installation(session, event, account, now)
            for ref, active in [(r, True) for r in event.repos_added] + [
                (r, False) for r in event.repos_removed
            ]:
                repos.upsert_repository(
                    session,
                    platform=platform,
                    full_name=ref.full_name,
                    platform_id=ref.id,
                    installation_id=ref.installation_id or event.installation_id,
                    default_branch=ref.default_branch,
                    active=active,
                    now=now,
                )
            row = None
            if event.repo is not None:
                row = repos.upsert_repository(
                    session,
                    platform=platform,
                    full_name=event.repo.full_name,
                    platform_id=event.repo.id,
                    installation_id=event.repo.installation_id or event.installation_id,
                    default_branch=event.repo.default_branch,
                    topics=event.topics,
                    now=now,
                )
            if event.kind in (Kind.PING, Kind.IGNORED):
                return False
            if event.kind is Kind.INSTALLATION:
                return bool(event.repos_added) and event.action not in ("deleted", "suspend")
            if event.installation_id is not None:
                inst = repos.get_installation(
                    session, platform=platform, installation_id=event.installation_id
                )
                if inst is not None and (inst.suspended or inst.deleted):
                    return False
            return row is None or row.active

    def _record_installation(self, session: Any, event: Event, account: str | None, now: datetime) -> None:
        platform, action = event.platform, event.action
        assert event.installation_id is not None
        changes: dict[str, Any] = {"account": account}
        if event.name == "installation":
            if action == "deleted":
                changes["deleted"] = True
            elif action == "suspend":
                changes["suspended"] = True
            elif action in ("created", "unsuspend", "new_permissions_accepted"):
                changes.update(suspended=False, deleted=False)
        repos.upsert_installation(
            session, platform=platform, installation_id=event.installation_id, now=now, **changes
        )
        if changes.get("deleted"):
            n = repos.deactivate_installation(
                session, platform=platform, installation_id=event.installation_id, now=now
            )
            log.info("installation removed", installation_id=event.installation_id, repositories=n)


def make_handler(settings: Settings, engine: Engine, *, sync: Sync | None = None) -> Dispatcher:
    """The handler `readiness serve` and `readiness worker` run: one place to wire `sync` (the
    checklist work) so both commands always do the same thing with a delivery. Without `sync`,
    the checklist handler is built for every platform the settings configure."""
    if sync is None:
        from bot.core.commands import FloodLimit
        from bot.jobs.router import Router
        from bot.platforms.factory import clients_from_settings
        from bot.resources import load_shipped

        clients = clients_from_settings(settings, pacing=engine)
        if clients:
            sync = Router(
                engine,
                clients,
                load_shipped(),
                org_default_projects={
                    name: project
                    for name, spec in PLATFORMS.items()
                    if (project := spec.org_defaults_setting(settings))
                },
                org_default_ttl=timedelta(seconds=settings.org_default_ttl_seconds),
                command_limit=FloodLimit(
                    settings.command_rate_limit, timedelta(seconds=settings.command_rate_window_seconds)
                ),
            )
        else:
            needs = "; ".join(f"{name}: {spec.client_settings}" for name, spec in PLATFORMS.items())
            log.warning(
                f"no platform is configured ({needs}): deliveries are recorded, but no checklist work is done"
            )
    return Dispatcher(engine, sync=sync, settle_seconds=settings.sync_settle_seconds)
