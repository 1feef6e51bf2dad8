"""The durable delivery queue: verified webhooks (and internal events) waiting for the worker.

Rules the functions here keep, on SQLite and PostgreSQL alike:
- a delivery is stored once per (platform, delivery_id): redeliveries and races insert nothing;
- a claim is a lease: a worker killed mid-job leaves a `running` row whose lease expires, and
  the next claim takes it over, so nothing acknowledged is lost;
- one repository at a time, in order: only the oldest unfinished delivery of a `repo_key` can
  be claimed (null `repo_key` = independent);
- results are written only by the lease owner, so a worker that lost its lease cannot overwrite
  the work of the one that took it over.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, union_all, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from bot.metrics import DEAD_LETTERS, DELIVERIES
from bot.store.db import is_sqlite, session_scope
from bot.store.models import Delivery, utcnow
from bot.store.sql import insert_ignore

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"
STATUSES = (PENDING, RUNNING, DONE, DEAD)
ERROR_MAX_CHARS = 4000
_ENQUEUE_FIELDS = (
    "platform",
    "delivery_id",
    "event",
    "action",
    "installation_id",
    "repo_key",
    "payload",
    "normalized",
)


@lru_cache(maxsize=4)
def _enqueue_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the keys actually inserted: built once per
    dialect, so SQLAlchemy's compiled cache and insertmanyvalues batching apply."""
    # SQLModel's metaclass sets __table__ on table models; its class declaration does not name it.
    table = Delivery.__table__  # type: ignore[attr-defined]
    return insert_ignore(dialect, table, ["platform", "delivery_id"]).returning(
        Delivery.platform, Delivery.delivery_id
    )


def enqueue(
    session: Session,
    *,
    platform: str,
    delivery_id: str,
    event: str,
    action: str | None,
    installation_id: int | None,
    repo_key: str | None,
    payload: bytes,
    now: datetime | None = None,
) -> bool:
    """Store one delivery in the caller's transaction; False when it was already stored."""
    row = {
        "platform": platform,
        "delivery_id": delivery_id,
        "event": event,
        "action": action,
        "installation_id": installation_id,
        "repo_key": repo_key,
        "payload": payload,
    }
    return enqueue_many(session, [row], now=now)[0]


def enqueue_many(
    session: Session | Connection, rows: Sequence[Mapping[str, Any]], *, now: datetime | None = None
) -> list[bool]:
    """Store many deliveries in one statement (one commit for many requests). Returns, per row,
    True if it was new; a duplicate (already stored, or earlier in `rows`) gives False.

    The one enqueue: the webhook receiver's group commit passes its Connection (Core, no ORM
    work per row: it matters at thousands of deliveries a second), everyone else a Session."""
    if not rows:
        return []
    now = now or utcnow()
    first: dict[tuple[str, str], int] = {}
    values = []
    for i, row in enumerate(rows):
        key = (row["platform"], row["delivery_id"])
        if key in first:
            continue
        first[key] = i
        value = {name: row.get(name) for name in _ENQUEUE_FIELDS}
        value.update(status=PENDING, attempts=0, next_attempt_at=now, received_at=now)
        values.append(value)
    dialect = session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
    stmt = _enqueue_statement(dialect)
    # executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues") from one
    # cached compilation, within the drivers' parameter limits; ~4x a fresh VALUES list per call
    inserted = {(p, d) for p, d in session.execute(stmt, values)}
    return [
        first[(row["platform"], row["delivery_id"])] == i
        and (row["platform"], row["delivery_id"]) in inserted
        for i, row in enumerate(rows)
    ]


def enqueue_batch(engine: Engine, rows: Sequence[Mapping[str, Any]], *, now: datetime) -> list[bool]:
    """`enqueue_many` in a transaction of its own on a Core connection: the receiver's group
    commit, where per-row ORM work would cost about twice the CPU."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            # No WAL checkpoint inside an acknowledgement's commit: the Ingestor checkpoints
            # off the write path (a checkpoint fsyncs the database file and can stall for 100s of ms).
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        return enqueue_many(conn, rows, now=now)


def claim(
    engine: Engine,
    *,
    owner: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    max_attempts: int | None = None,
) -> list[Delivery]:
    """Lease up to `limit` due deliveries to `owner`, at most one per repository (its oldest
    unfinished one). A `running` row whose lease has expired is taken over. Each claim counts
    as an attempt, so a delivery that keeps killing its worker is dead-lettered after
    `max_attempts` takeovers instead of looping forever."""
    if limit <= 0:
        return []
    # The head of each repository's line: computed once over unfinished rows (an uncorrelated
    # subquery), so a claim costs in proportion to the backlog, not to the history of done rows.
    older = aliased(Delivery)
    unfinished = col(older.status).in_((PENDING, RUNNING))
    heads = union_all(
        select(func.min(older.id).label("id"))
        .where(unfinished, col(older.repo_key).is_not(None))
        .group_by(older.repo_key),
        select(col(older.id)).where(unfinished, col(older.repo_key).is_(None)),
    ).subquery("heads")
    due = or_(
        and_(col(Delivery.status) == PENDING, col(Delivery.next_attempt_at) <= now),
        and_(col(Delivery.status) == RUNNING, col(Delivery.lease_until) <= now),
    )
    query = (
        select(Delivery)
        .join(heads, col(Delivery.id) == heads.c.id)
        .where(due)
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    if not is_sqlite(engine):  # SQLite: BEGIN IMMEDIATE serialises claimers instead
        query = query.with_for_update(skip_locked=True, of=Delivery)
    until = now + timedelta(seconds=lease_seconds)
    claimed: list[Delivery] = []
    with session_scope(engine, immediate=True) as session:
        for delivery in session.scalars(query).all():
            if max_attempts is not None and delivery.status == RUNNING and delivery.attempts >= max_attempts:
                delivery.status, delivery.finished_at = DEAD, now
                delivery.lease_owner = delivery.lease_until = None
                delivery.last_error = (
                    f"lease expired {delivery.attempts} times (the worker died or hung on this delivery)"
                    + (f"; last error: {delivery.last_error}" if delivery.last_error else "")
                )[:ERROR_MAX_CHARS]
                DEAD_LETTERS.inc()  # no worker is alive to count this one
                DELIVERIES.labels(delivery.platform, delivery.event, "dead").inc()
                continue
            delivery.status, delivery.attempts = RUNNING, delivery.attempts + 1
            delivery.lease_owner, delivery.lease_until = owner, until
            claimed.append(delivery)
    return claimed


def _owned(session: Session, delivery_id: int, owner: str) -> Delivery | None:
    delivery = session.get(Delivery, delivery_id, with_for_update=not is_sqlite(session.get_bind()))
    if delivery is None or delivery.status != RUNNING or delivery.lease_owner != owner:
        return None
    return delivery


def complete(engine: Engine, delivery_id: int, *, owner: str, now: datetime) -> bool:
    """Mark done; False when `owner` no longer holds the lease (someone took it over)."""
    with session_scope(engine, immediate=True) as session:
        delivery = _owned(session, delivery_id, owner)
        if delivery is None:
            return False
        delivery.status, delivery.finished_at = DONE, now
        delivery.lease_owner = delivery.lease_until = None
        return True


def fail(
    engine: Engine,
    delivery_id: int,
    *,
    owner: str,
    error: str,
    now: datetime,
    retry_at: datetime | None,
    count_attempt: bool = True,
) -> str | None:
    """Record a failed attempt: back to pending until `retry_at`, or dead when `retry_at` is
    None. `count_attempt=False` (rate limits) gives the attempt back: waiting is not failing.
    Returns the new status, or None when `owner` no longer holds the lease."""
    with session_scope(engine, immediate=True) as session:
        delivery = _owned(session, delivery_id, owner)
        if delivery is None:
            return None
        delivery.last_error = error[:ERROR_MAX_CHARS]
        delivery.lease_owner = delivery.lease_until = None
        if not count_attempt:
            delivery.attempts = max(0, delivery.attempts - 1)
        if retry_at is None:
            delivery.status, delivery.finished_at = DEAD, now
        else:
            delivery.status, delivery.next_attempt_at = PENDING, retry_at
        return delivery.status


def backoff_seconds(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempts-1))]."""
    return rng.uniform(0, min(cap, base * 2 ** max(0, attempts - 1)))


def next_retry(
    attempts: int, *, max_attempts: int, now: datetime, base: float, cap: float, rng: random.Random
) -> datetime | None:
    """When to try again after `attempts` failed attempts; None = give up (dead letter)."""
    if attempts >= max_attempts:
        return None
    return now + timedelta(seconds=backoff_seconds(attempts, base=base, cap=cap, rng=rng))


def extend(engine: Engine, delivery_id: int, *, owner: str, until: datetime) -> bool:
    """Renew a lease while a long job runs; False when it was lost."""
    with session_scope(engine) as session:
        result = session.execute(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery_id,
                col(Delivery.status) == RUNNING,
                col(Delivery.lease_owner) == owner,
            )
            .values(lease_until=until)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def claim_owners(engine: Engine) -> list[str]:
    """Who holds claims now (distinct `lease_owner` of running rows)."""
    with session_scope(engine, immediate=False) as session:
        query = select(col(Delivery.lease_owner)).where(col(Delivery.status) == RUNNING).distinct()
        return [owner for owner in session.scalars(query) if owner]


def expire_claims(engine: Engine, owners: Iterable[str], *, now: datetime) -> int:
    """End the leases of `owners` (dead processes) now, so the next claim takes their deliveries
    over at once. Unlike `release` the attempt is not refunded: a delivery that keeps killing
    its worker is still dead-lettered after `max_attempts`. Returns how many were expired."""
    owners = list(owners)
    if not owners:
        return 0
    with session_scope(engine) as session:
        result = session.execute(
            update(Delivery)
            .where(col(Delivery.status) == RUNNING, col(Delivery.lease_owner).in_(owners))
            .values(lease_until=now)
        )
        return result.rowcount  # type: ignore[attr-defined]


def release(engine: Engine, owner: str, *, ids: Iterable[int] | None = None) -> int:
    """Give back `owner`'s claims (graceful shutdown): running → pending, the attempt refunded,
    due at once for the next worker. Returns how many were released."""
    with session_scope(engine) as session:
        stmt = update(Delivery).where(col(Delivery.status) == RUNNING, col(Delivery.lease_owner) == owner)
        if ids is not None:
            stmt = stmt.where(col(Delivery.id).in_(list(ids)))
        result = session.execute(
            stmt.values(
                status=PENDING,
                attempts=func.max(Delivery.attempts - 1, 0)
                if is_sqlite(engine)
                else func.greatest(Delivery.attempts - 1, 0),
                lease_owner=None,
                lease_until=None,
            )
        )
        return result.rowcount  # type: ignore[attr-defined]


def retry(engine: Engine, delivery_id: int, *, now: datetime | None = None) -> Delivery | None:
    """Operator retry: a dead delivery becomes pending again with its attempts reset. Returns
    the delivery as it is now (unchanged if it was not dead), or None if unknown."""
    with session_scope(engine, immediate=True) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.status != DEAD:
            return delivery
        delivery.status, delivery.attempts = PENDING, 0
        delivery.next_attempt_at, delivery.finished_at = now or utcnow(), None
        return delivery


def prune(engine: Engine, *, finished_before: datetime) -> int:
    """Delete deliveries done before `finished_before` (their effects are recorded elsewhere);
    dead ones stay until an operator retries them. Returns how many were deleted."""
    with session_scope(engine) as session:
        result = session.execute(
            delete(Delivery).where(col(Delivery.status) == DONE, col(Delivery.finished_at) < finished_before)
        )
        return result.rowcount  # type: ignore[attr-defined]


def get(engine: Engine, delivery_id: int) -> Delivery | None:
    with session_scope(engine, immediate=False) as session:
        return session.get(Delivery, delivery_id)


def list_deliveries(engine: Engine, *, status: str | None = None, limit: int = 50) -> list[Delivery]:
    """Newest first."""
    query = select(Delivery).order_by(col(Delivery.id).desc()).limit(limit)
    if status is not None:
        query = query.where(col(Delivery.status) == status)
    with session_scope(engine, immediate=False) as session:
        return list(session.scalars(query).all())


def stats(engine: Engine, *, now: datetime) -> tuple[int, float]:
    """(deliveries pending or running, age in seconds of the oldest pending one or 0)."""
    with session_scope(engine, immediate=False) as session:
        depth = session.scalar(select(func.count()).where(col(Delivery.status).in_((PENDING, RUNNING))))
        oldest = session.scalar(
            select(func.min(col(Delivery.received_at))).where(col(Delivery.status) == PENDING)
        )
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return int(depth or 0), age


def pending_for_repo(engine: Engine, *, repo_key: str, after_id: int) -> list[Delivery]:
    """The pending deliveries queued behind `after_id` for one repository, oldest first."""
    query = (
        select(Delivery)
        .where(
            col(Delivery.repo_key) == repo_key, col(Delivery.status) == PENDING, col(Delivery.id) > after_id
        )
        .order_by(col(Delivery.id))
    )
    with session_scope(engine, immediate=False) as session:
        return list(session.scalars(query).all())


def coalesce(engine: Engine, ids: Iterable[int], *, covered_by: int, now: datetime) -> int:
    """Mark pending deliveries done because delivery `covered_by`'s sync covers them; how many."""
    ids = list(ids)
    if not ids:
        return 0
    with session_scope(engine, immediate=True) as session:
        result = session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(ids), col(Delivery.status) == PENDING)
            .values(status=DONE, finished_at=now, covered_by=covered_by)
        )
        return int(getattr(result, "rowcount", 0) or 0)
