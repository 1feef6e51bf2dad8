"""Exactly-once records: a weekly summary per repository and week, an answer per command comment.

Both are a unique row written with insert-or-ignore, so a redelivered webhook, a retried job or a
second replica finds the row and does nothing twice. Both are claimed before the comment is
posted and finished after it, so only a retry of an interrupted post has to look for one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from bot.store.models import CommandComment, SummaryPost, utcnow
from bot.store.sql import insert_ignore

STALE_SUMMARY_CLAIM = timedelta(hours=1)  # far longer than posting one comment takes


def claim_summary_week(
    session: Session,
    *,
    repository_id: int,
    week: str,
    now: datetime,
    stale_after: timedelta = STALE_SUMMARY_CLAIM,
) -> bool:
    """True if this caller may post `week`'s summary: it inserted the claim, or took over one
    whose replica died mid-post (compare-and-set on the claim time, so only one replica can)."""
    stmt = (
        insert_ignore(session, SummaryPost, ["repository_id", "week"])
        .values(repository_id=repository_id, week=week, posted_at=now)
        .returning(SummaryPost.id)
    )
    if session.execute(stmt).first() is not None:  # (psycopg reports rowcount -1 here)
        return True
    stale = update(SummaryPost).where(
        col(SummaryPost.repository_id) == repository_id,
        col(SummaryPost.week) == week,
        col(SummaryPost.comment_id).is_(None),
        col(SummaryPost.posted_at) < now - stale_after,
    )
    return session.execute(stale.values(posted_at=now)).rowcount == 1  # type: ignore[attr-defined]


def command_answered(session: Session, *, repository_id: int, comment_id: int) -> bool:
    """A `/readiness` comment already answered (or refused by the flood limit); a reply that
    was claimed but not finished is not an answer yet."""
    found = session.exec(
        select(CommandComment.id).where(
            CommandComment.repository_id == repository_id,
            CommandComment.comment_id == comment_id,
            col(CommandComment.replying).is_(False),
        )
    ).first()
    return found is not None


def claim_reply(
    session: Session,
    *,
    repository_id: int,
    comment_id: int,
    issue_number: int,
    sender: str | None,
    at: datetime,
) -> bool:
    """Claim the reply to a command comment before posting it. False when an earlier attempt
    claimed it and did not finish: that attempt may have posted, so the caller looks for it."""
    values = {
        "repository_id": repository_id,
        "comment_id": comment_id,
        "issue_number": issue_number,
        "sender": sender,
        "reply_id": None,
        "processed_at": at,
        "replying": True,
    }
    stmt = (
        insert_ignore(session, CommandComment, ["repository_id", "comment_id"])
        .values(**values)
        .returning(CommandComment.id)
    )
    return session.execute(stmt).first() is not None  # (psycopg reports rowcount -1 here)


def record_command(
    session: Session,
    *,
    repository_id: int,
    comment_id: int,
    issue_number: int,
    sender: str | None,
    reply_id: int | None,
    at: datetime | None = None,
    throttled: bool = False,
) -> None:
    """Remember a command comment as answered, finishing its claim if there is one; a second
    record of an answered comment changes nothing."""
    values = {
        "repository_id": repository_id,
        "comment_id": comment_id,
        "issue_number": issue_number,
        "sender": sender,
        "reply_id": reply_id,
        "processed_at": at or utcnow(),
        "throttled": throttled,
    }
    session.execute(insert_ignore(session, CommandComment, ["repository_id", "comment_id"]).values(**values))
    claimed = (
        update(CommandComment)
        .where(
            col(CommandComment.repository_id) == repository_id,
            col(CommandComment.comment_id) == comment_id,
            col(CommandComment.replying).is_(True),
        )
        .values(reply_id=reply_id, processed_at=values["processed_at"], throttled=throttled, replying=False)
    )
    session.execute(claimed)


def summary_posted(session: Session, *, repository_id: int, week: str) -> bool:
    """`week`'s summary is posted or claimed (the scheduler enqueues no second one)."""
    found = session.exec(
        select(SummaryPost.id).where(SummaryPost.repository_id == repository_id, SummaryPost.week == week)
    ).first()
    return found is not None


def give_back_summary_week(session: Session, *, repository_id: int, week: str) -> None:
    """The post failed: drop the claim, so the next delivery tries the week again."""
    session.execute(
        delete(SummaryPost).where(
            SummaryPost.repository_id == repository_id,  # type: ignore[arg-type]
            SummaryPost.week == week,  # type: ignore[arg-type]
        )
    )


def summary_comment_posted(session: Session, *, repository_id: int, week: str, comment_id: int) -> None:
    """The claimed week's comment exists: record its id (the claim is then no longer stale)."""
    row = session.exec(
        select(SummaryPost).where(SummaryPost.repository_id == repository_id, SummaryPost.week == week)
    ).one()
    row.comment_id = comment_id
    session.add(row)


def last_summary_at(session: Session, *, repository_id: int) -> datetime | None:
    """When the latest summary that has a comment was posted."""
    return session.exec(
        select(SummaryPost.posted_at)
        .where(SummaryPost.repository_id == repository_id, SummaryPost.comment_id.is_not(None))  # type: ignore[union-attr]
        .order_by(SummaryPost.posted_at.desc())  # type: ignore[attr-defined]
    ).first()


def commands_sent_since(
    session: Session, *, repository_id: int, sender: str | None, since: datetime
) -> list[datetime]:
    """When `sender`'s counted (not throttled) commands since `since` were answered."""
    return list(
        session.exec(
            select(CommandComment.processed_at).where(
                CommandComment.repository_id == repository_id,
                CommandComment.sender == sender,
                CommandComment.processed_at >= since,
                CommandComment.throttled == False,  # noqa: E712 - SQL, not Python
            )
        ).all()
    )


def throttle_told_since(session: Session, *, repository_id: int, sender: str | None, since: datetime) -> bool:
    """`sender` was already told about the flood limit since `since` (a throttled row with a reply)."""
    told = session.exec(
        select(CommandComment.id).where(
            CommandComment.repository_id == repository_id,
            CommandComment.sender == sender,
            CommandComment.processed_at >= since,
            CommandComment.throttled == True,  # noqa: E712
            CommandComment.reply_id != None,  # noqa: E711
        )
    ).first()
    return told is not None
