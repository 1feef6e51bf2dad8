"""Installations and repositories: small keyword-only queries used by the handlers and scheduler.

Upserts insert with ON CONFLICT DO NOTHING and then update, because deliveries of different
repositories (and of an installation) run in parallel and may both see a repository first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.store.models import Installation, Repository
from bot.store.sql import insert_ignore


def repo_key(platform: str, full_name: str) -> str:
    """The queue's ordering key for a repository (same as the webhook receiver's)."""
    return f"{platform}:{full_name}"


def _insert_ignore(session: Session, model: type, values: Mapping[str, Any], keys: list[str]) -> None:
    session.execute(insert_ignore(session, model, keys).values(**values))


def _apply(row: Any, changes: Mapping[str, Any], now: datetime) -> None:
    changed = False
    for name, value in changes.items():
        if value is not None and getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.updated_at = now


def upsert_installation(
    session: Session,
    *,
    platform: str,
    installation_id: int,
    now: datetime,
    account: str | None = None,
    suspended: bool | None = None,
    deleted: bool | None = None,
) -> Installation:
    """Create or update an installation; None leaves a field as it is."""
    _insert_ignore(
        session,
        Installation,
        {
            "platform": platform,
            "installation_id": installation_id,
            "account": account or "",
            "suspended": bool(suspended),
            "deleted": bool(deleted),
            "created_at": now,
            "updated_at": now,
        },
        ["platform", "installation_id"],
    )
    row = session.exec(
        select(Installation).where(
            Installation.platform == platform, Installation.installation_id == installation_id
        )
    ).one()
    _apply(row, {"account": account or None, "suspended": suspended, "deleted": deleted}, now)
    return row


def get_installation(session: Session, *, platform: str, installation_id: int) -> Installation | None:
    return session.exec(
        select(Installation).where(
            Installation.platform == platform, Installation.installation_id == installation_id
        )
    ).first()


def get_repository(session: Session, *, platform: str, full_name: str) -> Repository | None:
    return session.exec(
        select(Repository).where(Repository.platform == platform, Repository.full_name == full_name)
    ).first()


def upsert_repository(
    session: Session,
    *,
    platform: str,
    full_name: str,
    now: datetime,
    platform_id: int | None = None,
    installation_id: int | None = None,
    default_branch: str | None = None,
    active: bool | None = None,
    topics: Sequence[str] | None = None,
) -> Repository:
    """Create or update a repository; None leaves a field as it is. A repository renamed on the
    platform (same platform id, new name) keeps its row, and with it its checklist state."""
    if platform_id is not None and get_repository(session, platform=platform, full_name=full_name) is None:
        renamed = session.exec(
            select(Repository).where(Repository.platform == platform, Repository.platform_id == platform_id)
        ).first()
        if renamed is not None:
            renamed.full_name = full_name
            session.flush()
    _insert_ignore(
        session,
        Repository,
        {
            "platform": platform,
            "full_name": full_name,
            "platform_id": platform_id,
            "installation_id": installation_id,
            "default_branch": default_branch,
            "active": True if active is None else active,
            "config_status": "none",
            "created_at": now,
            "updated_at": now,
        },
        ["platform", "full_name"],
    )
    row = get_repository(session, platform=platform, full_name=full_name)
    assert row is not None
    _apply(
        row,
        {
            "platform_id": platform_id,
            "installation_id": installation_id,
            "default_branch": default_branch,
            "active": active,
            "topics": None if topics is None else json.dumps(sorted(topics)),
        },
        now,
    )
    return row


def repository_topics(row: Repository) -> tuple[str, ...] | None:
    """The stored topics; None when no payload has stated them (then they rule nothing out)."""
    if row.topics is None:
        return None
    try:
        topics = json.loads(row.topics)
    except ValueError:
        return None
    return tuple(t for t in topics if isinstance(t, str)) if isinstance(topics, list) else None


def deactivate_installation(session: Session, *, platform: str, installation_id: int, now: datetime) -> int:
    """The app was uninstalled: none of its repositories is ours any more. Returns how many."""
    result = session.execute(
        update(Repository)
        .where(
            col(Repository.platform) == platform,
            col(Repository.installation_id) == installation_id,
            col(Repository.active).is_(True),
        )
        .values(active=False, updated_at=now)
    )
    return result.rowcount  # type: ignore[attr-defined]


def active_repositories(session: Session, *, platform: str | None = None) -> list[Repository]:
    """Repositories the bot looks after: active, and not under a suspended or removed installation."""
    blocked = select(Installation.installation_id).where(
        Installation.platform == Repository.platform,
        (Installation.suspended.is_(True)) | (Installation.deleted.is_(True)),  # type: ignore[attr-defined]
    )
    query = select(Repository).where(
        Repository.active.is_(True),  # type: ignore[attr-defined]
        Repository.installation_id.is_(None) | Repository.installation_id.not_in(blocked),  # type: ignore[union-attr]
    )
    if platform is not None:
        query = query.where(Repository.platform == platform)
    return list(session.exec(query.order_by(col(Repository.id))).all())
