"""Owners mentioned in weekly summaries, per open item: what reminder backoff counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, delete
from sqlalchemy import select as select_columns  # plain columns, no ORM objects
from sqlmodel import Session, col

from bot.core.reminders import Reminder
from bot.core.state import Status
from bot.store.models import ItemStateRow, OwnerMention

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


def prune_mentions(
    session: Session, *, repository_id: int, finished: Iterable[Status], before: datetime, limit: int
) -> int:
    """Delete at most `limit` of the repository's mentions that backoff no longer counts: of
    items whose state is now one of `finished`, made before `before`. Returns how many went."""
    m, s = OwnerMention, ItemStateRow
    doomed = (
        select_columns(col(m.id))
        .join(
            s,
            and_(
                col(s.repository_id) == col(m.repository_id),
                col(s.checklist) == col(m.checklist),
                col(s.item_id) == col(m.item_id),
            ),
        )
        .where(
            col(m.repository_id) == repository_id,
            col(m.at) < before,
            col(s.status).in_([f.value for f in finished]),
        )
        .order_by(col(m.id))
        .limit(limit)
    )
    ids = list(session.execute(doomed).scalars())
    if ids:
        session.execute(delete(m).where(col(m.id).in_(ids)))
    return len(ids)
