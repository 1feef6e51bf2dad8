"""Owners mentioned in weekly summaries, per open item: what reminder backoff counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlmodel import Session, select

from bot.core.reminders import Reminder
from bot.store.models import OwnerMention


def load_mentions(session: Session, *, repository_id: int) -> dict[tuple[str, str, str], list[datetime]]:
    """(owner, checklist, item) -> when each earlier summary mentioned them, oldest first."""
    out: dict[tuple[str, str, str], list[datetime]] = {}
    rows = session.exec(
        select(OwnerMention).where(OwnerMention.repository_id == repository_id).order_by(OwnerMention.at)  # type: ignore[arg-type]
    )
    for r in rows:
        at = r.at.replace(tzinfo=UTC) if r.at.tzinfo is None else r.at
        out.setdefault((r.owner, r.checklist, r.item_id), []).append(at)
    return out


def record_mentions(
    session: Session, *, repository_id: int, reminders: Iterable[Reminder], at: datetime
) -> None:
    for r in reminders:
        for checklist, item in r.items:
            session.add(
                OwnerMention(
                    repository_id=repository_id, owner=r.owner, checklist=checklist, item_id=item, at=at
                )
            )
