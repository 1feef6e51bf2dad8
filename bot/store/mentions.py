"""Owners mentioned in weekly summaries, per open item: what reminder backoff counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select as select_columns  # plain columns, no ORM objects
from sqlmodel import Session, col

from bot.core.reminders import Reminder
from bot.store.models import OwnerMention

Said = dict[tuple[str, str, str], list[datetime]]  # (owner, checklist, item) -> mentions, oldest first


def load_mentions(session: Session, *, repository_id: int) -> Said:
    """(owner, checklist, item) -> when each earlier summary mentioned them, oldest first."""
    return load_mentions_for(session, [repository_id])[repository_id]


def load_mentions_for(session: Session, repository_ids: Sequence[int]) -> dict[int, Said]:
    """repository id -> its mentions, in one query for the whole chunk: the weekly summaries of
    10,000 repositories read them per chunk, not per repository."""
    out: dict[int, Said] = {rid: {} for rid in repository_ids}
    if not repository_ids:
        return out
    m = OwnerMention
    rows = session.execute(
        select_columns(col(m.repository_id), col(m.owner), col(m.checklist), col(m.item_id), col(m.at))
        .where(col(m.repository_id).in_(repository_ids))
        .order_by(col(m.repository_id), col(m.at), col(m.id))
    )
    for rid, owner, checklist, item, at in rows:
        out[rid].setdefault((owner, checklist, item), []).append(
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
