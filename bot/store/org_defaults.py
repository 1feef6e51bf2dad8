"""The organisation default's memory, one row per (platform, source repository), shared by every
replica and kept across restarts: a replica that never asked still sends the validator another
one learnt, and a 404 is remembered once for all of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.store.models import OrgDefaultRow
from bot.store.sql import insert_ignore


@dataclass(frozen=True, slots=True)
class Remembered:
    """The validator and text of a default that exists, or (`text` None) that it is missing
    until `missing_until`."""

    etag: str | None = None
    text: str | None = None
    missing_until: datetime | None = None


def get(session: Session, *, platform: str, source: str) -> Remembered | None:
    row = session.exec(
        select(OrgDefaultRow).where(OrgDefaultRow.platform == platform, OrgDefaultRow.source == source)
    ).first()
    if row is None:
        return None
    until = row.missing_until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return Remembered(row.etag, row.text, until)


def put(session: Session, *, platform: str, source: str, remembered: Remembered, now: datetime) -> None:
    """Insert or replace the row (insert-or-ignore then update: two replicas may both learn it)."""
    values = {
        "etag": remembered.etag,
        "text": remembered.text,
        "missing_until": remembered.missing_until,
        "updated_at": now,
    }
    session.execute(
        insert_ignore(session, OrgDefaultRow, ["platform", "source"]).values(
            platform=platform, source=source, **values
        )
    )
    session.execute(
        update(OrgDefaultRow)
        .where(col(OrgDefaultRow.platform) == platform, col(OrgDefaultRow.source) == source)
        .values(**values)
    )


def forget_missing(session: Session, *, platform: str, source: str) -> None:
    """A push to the source may have added its default: the next sync asks again."""
    session.execute(
        update(OrgDefaultRow)
        .where(
            col(OrgDefaultRow.platform) == platform,
            col(OrgDefaultRow.source) == source,
            col(OrgDefaultRow.missing_until).is_not(None),
        )
        .values(missing_until=None)
    )
