"""What the worker does with one delivery: decode, normalise, record, then hand over to `sync`.

Recording comes first and is idempotent (upserts), so a retried delivery records nothing twice:
installations (created, suspended, removed), which repositories the bot may work on, and each
repository's metadata (id, default branch, renames). The checklist work plugs in as `sync`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.config import Settings
from bot.core.events import Event, Kind, Platform, RepoRef
from bot.logging import get_logger
from bot.store import repos
from bot.store.db import session_scope
from bot.store.models import Delivery, utcnow
from bot.webhooks.normalize import normalize

log = get_logger(__name__)

INTERNAL_PREFIX = "readiness."  # internal events (scheduler), e.g. "readiness.resync"
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
    platform = Platform(delivery.platform)
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


def _github_account(payload: dict[str, Any]) -> str | None:
    account = (payload.get("installation") or {}).get("account") or {}
    login = account.get("login") if isinstance(account, dict) else None
    return login if isinstance(login, str) else None


class Dispatcher:
    """The worker's handler: `await dispatcher(delivery)`."""

    def __init__(
        self, engine: Engine, *, sync: Sync | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine, self.sync, self.clock = engine, sync, clock

    async def __call__(self, delivery: Delivery) -> None:
        payload = decode(delivery)
        if delivery.event.startswith(INTERNAL_PREFIX):
            event = internal_event(delivery, payload)
        else:
            event = normalize(delivery.platform, delivery.event, payload)
        account = _github_account(payload) if event.platform is Platform.GITHUB else None
        wanted = await asyncio.to_thread(self.record, event, account=account)
        if self.sync is None or not wanted:
            log.info("delivery recorded", kind=event.kind.value, sync=False)
            return
        await self.sync(event, delivery)

    def record(self, event: Event, *, account: str | None = None) -> bool:
        """Store what the event says about installations and repositories; True if the event
        should go on to `sync` (the bot acts on it and the repository is still ours)."""
        now, platform = self.clock(), event.platform.value
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
        platform, action = event.platform.value, event.action
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
        from bot.core.templates import load_shipped
        from bot.jobs.checklist import ChecklistHandler
        from bot.platforms.factory import clients_from_settings

        clients = clients_from_settings(settings)
        if clients:
            sync = ChecklistHandler(
                engine,
                clients,
                load_shipped(),
                gitlab_defaults_project=settings.gitlab_defaults_project,
                command_limit=FloodLimit(
                    settings.command_rate_limit, timedelta(seconds=settings.command_rate_window_seconds)
                ),
            )
        else:
            log.warning(
                "no GitHub App (READINESS_GITHUB_APP_ID + READINESS_GITHUB_PRIVATE_KEY) and no "
                "READINESS_GITLAB_TOKEN: deliveries are recorded, but no checklist work is done"
            )
    return Dispatcher(engine, sync=sync)
