"""Item states, their history, and the issues the bot owns: small keyword-only queries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlalchemy import select as select_columns  # more columns than sqlmodel.select types
from sqlmodel import Session, col, select

from bot.core.reconcile import Recorded
from bot.core.state import ItemState, Status
from bot.store.models import ItemEvent, ItemStateRow, OwnedIssue, Repository, utcnow


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def load_states(session: Session, *, repository_id: int) -> dict[str, dict[str, ItemState]]:
    """checklist -> item id -> state."""
    return load_states_for(session, [repository_id]).get(repository_id, {})


def load_states_for(
    session: Session, repository_ids: Sequence[int]
) -> dict[int, dict[str, dict[str, ItemState]]]:
    """repository id -> checklist -> item id -> state, in one query for all of them: the weekly
    summaries of 10,000 repositories load their states per chunk, not per repository. Plain
    columns, not ORM objects (nothing here is written back)."""
    t = ItemStateRow
    cols = (
        t.repository_id,
        t.checklist,
        t.item_id,
        t.status,
        t.evidence,
        t.actor,
        t.reason,
        t.changed_at,
        t.until,
        t.approved_by,
        t.approvers,
    )
    out: dict[int, dict[str, dict[str, ItemState]]] = {rid: {} for rid in repository_ids}
    if not repository_ids:
        return out
    rows = session.execute(
        select_columns(*(col(c) for c in cols)).where(col(t.repository_id).in_(repository_ids))
    )
    for row in rows:
        rid, checklist, item_id, status, evidence, actor, reason, changed_at, until = row[:9]
        approved_by, approvers = row[9:]
        out[rid].setdefault(checklist, {})[item_id] = ItemState(
            checklist=checklist,
            item_id=item_id,
            status=Status(status),
            evidence=evidence,
            actor=actor,
            reason=reason,
            changed_at=_aware(changed_at),
            until=until,
            approved_by=approved_by,
            approvers=tuple((approvers or "").split()),
        )
    return out


def save_states(
    session: Session,
    *,
    repository_id: int,
    states: Iterable[ItemState],
    previous: dict[str, dict[str, ItemState]],
    now: datetime,
) -> int:
    """Upsert changed states and append one history row per change; returns how many changed."""
    existing = {
        (r.checklist, r.item_id): r
        for r in session.exec(select(ItemStateRow).where(ItemStateRow.repository_id == repository_id))
    }
    n = 0
    for s in states:
        old = previous.get(s.checklist, {}).get(s.item_id)
        if old is not None and old.key() == s.key():
            continue
        row = existing.get((s.checklist, s.item_id))
        if row is None:
            if s.status is Status.OPEN and s.actor is None and old is None:
                continue  # the implicit default: no row needed
            row = ItemStateRow(repository_id=repository_id, checklist=s.checklist, item_id=s.item_id)
        row.status, row.evidence, row.actor, row.reason = s.status.value, s.evidence, s.actor, s.reason
        row.until = s.until
        row.approved_by, row.approvers = s.approved_by, " ".join(s.approvers) or None
        row.changed_at = s.changed_at or now
        session.add(row)
        session.add(
            ItemEvent(
                repository_id=repository_id,
                checklist=s.checklist,
                item_id=s.item_id,
                from_status=old.status.value if old else None,
                to_status=s.status.value,
                actor=s.approved_by if s.approved_by and s.status is Status.SKIPPED else s.actor,
                evidence=s.evidence,
                reason=s.reason,
                at=now,
            )
        )
        n += 1
    return n


def any_changed(states: Iterable[ItemState], previous: dict[str, dict[str, ItemState]]) -> bool:
    """Whether `save_states` would write anything (no SQL: a sync that changed nothing opens no
    transaction for its states)."""
    for s in states:
        old = previous.get(s.checklist, {}).get(s.item_id)
        if old is None:
            if s.status is not Status.OPEN or s.actor is not None:
                return True
        elif old.key() != s.key():
            return True
    return False


def owned_issues(session: Session, *, repository_id: int) -> dict[str, OwnedIssue]:
    rows = session.exec(select(OwnedIssue).where(OwnedIssue.repository_id == repository_id))
    return {r.key: r for r in rows}


def as_recorded(rows: dict[str, OwnedIssue]) -> dict[str, Recorded]:
    return {k: Recorded(k, r.number, r.state, r.body_hash) for k, r in rows.items()}


def record_intent(session: Session, *, repository_id: int, key: str) -> OwnedIssue:
    """Written and committed *before* the create call: a crash afterwards leaves a trace to adopt."""
    row = session.exec(
        select(OwnedIssue).where(OwnedIssue.repository_id == repository_id, OwnedIssue.key == key)
    ).first()
    if row is None:
        row = OwnedIssue(repository_id=repository_id, key=key, state="intent")
        session.add(row)
    return row


def record_issue(
    session: Session,
    *,
    repository_id: int,
    key: str,
    number: int,
    platform_issue_id: int,
    state: str,
    digest: str | None,
    body: str | None,
    parent_linked: bool | None = None,
) -> OwnedIssue:
    row = session.exec(
        select(OwnedIssue).where(OwnedIssue.repository_id == repository_id, OwnedIssue.key == key)
    ).first() or OwnedIssue(repository_id=repository_id, key=key)
    row.number, row.platform_issue_id, row.state = number, platform_issue_id, state
    row.body_hash, row.body = digest, body
    if parent_linked is not None:
        row.parent_linked = parent_linked
    row.updated_at = utcnow()
    session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class Exemption:
    """A current skip, as an auditor reads it."""

    platform: str
    repository: str
    item: str  # checklist/item
    reason: str
    skipped_by: str  # a login, or ".readiness.yml"
    since: datetime | None
    until: date | None
    status: str = "skipped"  # "skipped", or "pending" while it waits for an approver
    approved_by: str | None = None
    approvers: tuple[str, ...] = ()


def current_exemptions(session: Session, *, org: str | None = None) -> Iterator[Exemption]:
    """Every skipped item, and every skip pending approval, of every active repository (of `org`,
    the path before the last `/`), streamed in repository and item order."""
    query = (
        select(ItemStateRow, Repository)
        .join(Repository, Repository.id == ItemStateRow.repository_id)  # type: ignore[arg-type]
        .where(
            ItemStateRow.status.in_([Status.SKIPPED.value, Status.PENDING.value]),  # type: ignore[attr-defined]
            Repository.active == True,  # noqa: E712
        )
        .order_by(Repository.platform, Repository.full_name, ItemStateRow.checklist, ItemStateRow.item_id)
    )
    if org:
        prefix = org.strip("/").lower() + "/"
        query = query.where(func.lower(Repository.full_name).startswith(prefix, autoescape=True))
    for row, repo in session.exec(query).yield_per(500):
        yield Exemption(
            platform=repo.platform,
            repository=repo.full_name,
            item=f"{row.checklist}/{row.item_id}",
            reason=row.reason or "",
            skipped_by=row.actor or "",
            since=_aware(row.changed_at),
            until=row.until,
            status=row.status,
            approved_by=row.approved_by,
            approvers=tuple((row.approvers or "").split()),
        )


def events_since(session: Session, *, repository_id: int, since: datetime) -> list[ItemEvent]:
    """The repository's item history from `since` on (what summaries are made of)."""
    return list(
        session.exec(select(ItemEvent).where(ItemEvent.repository_id == repository_id, ItemEvent.at >= since))
    )


HistoryRow = tuple[int, str, str, str | None, str, str | None, str | None, datetime]


def history_rows_for(
    session: Session, repository_ids: Sequence[int], *, since: datetime
) -> Iterator[HistoryRow]:
    """(repository id, checklist, item, from, to, actor, evidence, at) from `since` on, for all of
    these repositories in one query: oldest first, ties in insertion order (plain columns)."""
    if not repository_ids:
        return iter(())
    e = ItemEvent
    cols = (e.repository_id, e.checklist, e.item_id, e.from_status, e.to_status, e.actor, e.evidence, e.at)
    rows = session.execute(
        select_columns(*(col(c) for c in cols))
        .where(col(e.repository_id).in_(repository_ids), col(e.at) >= since)
        .order_by(col(e.repository_id), col(e.at), col(e.id))
    )
    return (tuple(r) for r in rows)


def tracked_since(session: Session, *, repository_id: int) -> datetime | None:
    """The first history row's time: when the bot began tracking the repository."""
    return session.exec(select(func.min(ItemEvent.at)).where(ItemEvent.repository_id == repository_id)).one()


def first_events_for(session: Session, repository_ids: Sequence[int]) -> list[tuple[int, datetime]]:
    """(repository id, its first history row's time) for those of these repositories with
    history, in one query for the chunk."""
    if not repository_ids:
        return []
    e = ItemEvent
    rows = session.execute(
        select_columns(col(e.repository_id), func.min(col(e.at)))
        .where(col(e.repository_id).in_(repository_ids))
        .group_by(col(e.repository_id))
    )
    return [(rid, first) for rid, first in rows]
