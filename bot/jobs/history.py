"""Item history and owned-issue numbers, read by the status reply and the weekly summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.core import summary
from bot.core.state import ItemState, Status
from bot.store import tracking
from bot.store.models import OwnedIssue


def _aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC datetimes."""
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def changes_since(session: Session, *, repository_id: int, since: datetime) -> list[summary.Change]:
    return changes_since_for(session, [repository_id], since=since).get(repository_id, [])


def changes_since_for(
    session: Session, repository_ids: Sequence[int], *, since: datetime
) -> dict[int, list[summary.Change]]:
    """repository id -> its history rows from `since` on, oldest first (ties in insertion order),
    in one query for all of them (plain columns, no ORM objects)."""
    out: dict[int, list[summary.Change]] = {rid: [] for rid in repository_ids}
    rows = tracking.history_rows_for(session, repository_ids, since=since)
    status = Status  # local: looked up 50 times per repository
    for rid, checklist, item_id, frm, to, actor, evidence, at in rows:
        out[rid].append(
            summary.Change(
                checklist,
                item_id,
                status(frm) if frm else None,
                status(to),
                actor,
                evidence,
                _aware(at) or at,
            )
        )
    return out


def summary_inputs(
    session: Session, repository_ids: Sequence[int], *, since: datetime
) -> dict[int, tuple[dict[str, dict[str, ItemState]], list[summary.Change]]]:
    """What `summary.render_summary` needs for each of these repositories (states, and the history
    the trend chart reaches back to from `since`), in two queries for the whole chunk."""
    history = since - timedelta(weeks=summary.TREND_WEEKS - 1)
    states = tracking.load_states_for(session, repository_ids)
    changes = changes_since_for(session, repository_ids, since=history)
    return {rid: (states[rid], changes[rid]) for rid in repository_ids}


def began_for(session: Session, repository_ids: Sequence[int]) -> dict[int, datetime | None]:
    """repository id -> when tracking began (its first history row), in one query for the chunk:
    a section that never moved is stale from then on."""
    out: dict[int, datetime | None] = dict.fromkeys(repository_ids)
    for rid, first in tracking.first_events_for(session, repository_ids):
        out[rid] = _aware(first)
    return out


def numbers_of(rows: Mapping[str, OwnedIssue]) -> dict[str, int]:
    return {k: r.number for k, r in rows.items() if r.number is not None}
