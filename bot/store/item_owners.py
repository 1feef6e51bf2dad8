"""Item owners as the last sync resolved them: the weekly summary's source, so it reads no
CODEOWNERS file (the sync read it anyway, at the commit the issues show)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select as select_columns  # plain columns, no ORM objects
from sqlmodel import Session, col, select

from bot.store.models import ItemOwners

Key = tuple[str, str]  # (checklist, item)


def save_owners(session: Session, *, repository_id: int, owners: Mapping[Key, Sequence[str]]) -> None:
    """Make the stored owners exactly `owners` (items without owners have no row); rows that did
    not change are not written, so a sync that changed nothing writes nothing here."""
    wanted = {key: " ".join(names) for key, names in owners.items() if names}
    rows = session.exec(select(ItemOwners).where(col(ItemOwners.repository_id) == repository_id)).all()
    for row in rows:
        text = wanted.pop((row.checklist, row.item_id), None)
        if text is None:
            session.delete(row)
        elif text != row.owners:
            row.owners = text
            session.add(row)
    for (checklist, item), text in wanted.items():
        session.add(ItemOwners(repository_id=repository_id, checklist=checklist, item_id=item, owners=text))


def load_owners(session: Session, *, repository_id: int) -> dict[Key, tuple[str, ...]]:
    return load_owners_for(session, [repository_id])[repository_id]


def load_owners_for(session: Session, repository_ids: Sequence[int]) -> dict[int, dict[Key, tuple[str, ...]]]:
    """repository id -> (checklist, item) -> owners, in one query for a chunk of repositories."""
    out: dict[int, dict[Key, tuple[str, ...]]] = {rid: {} for rid in repository_ids}
    if not repository_ids:
        return out
    t = ItemOwners
    rows = session.execute(
        select_columns(col(t.repository_id), col(t.checklist), col(t.item_id), col(t.owners)).where(
            col(t.repository_id).in_(repository_ids)
        )
    )
    for rid, checklist, item, text in rows:
        out[rid][(checklist, item)] = tuple(text.split())
    return out
