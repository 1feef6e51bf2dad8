"""Item history and owned-issue numbers, read by the status reply and the weekly summary."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlmodel import Session, select

from bot.core import summary
from bot.core.state import Status
from bot.store.models import ItemEvent, OwnedIssue


def _aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC datetimes."""
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def changes_since(session: Session, *, repository_id: int, since: datetime) -> list[summary.Change]:
    rows = session.exec(
        select(ItemEvent).where(ItemEvent.repository_id == repository_id, ItemEvent.at >= since)
    )
    return [
        summary.Change(
            r.checklist,
            r.item_id,
            Status(r.from_status) if r.from_status else None,
            Status(r.to_status),
            r.actor,
            r.evidence,
            _aware(r.at) or r.at,
        )
        for r in rows
    ]


def numbers_of(rows: Mapping[str, OwnedIssue]) -> dict[str, int]:
    return {k: r.number for k, r in rows.items() if r.number is not None}
