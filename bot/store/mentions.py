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
    query = (
        select(OwnerMention.owner, OwnerMention.checklist, OwnerMention.item_id, OwnerMention.at)
        .where(OwnerMention.repository_id == repository_id)
        .order_by(OwnerMention.at)  # type: ignore[arg-type]
    )
    for owner, checklist, item, at in session.exec(query):
        out.setdefault((owner, checklist, item), []).append(
            at.replace(tzinfo=UTC) if at.tzinfo is None else at
        )
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
