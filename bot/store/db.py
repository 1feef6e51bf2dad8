"""Engines and sessions for SQLite (default, one process) and PostgreSQL (several replicas).

SQLite is tuned for a web process plus a worker sharing one file: WAL (readers never block the
writer), a busy timeout (writers queue instead of failing), foreign keys on, synchronous=FULL.
Python's sqlite3 driver would otherwise open transactions lazily and on its own terms, so the
driver is put in autocommit mode and SQLAlchemy emits BEGIN itself: BEGIN IMMEDIATE by default.
In WAL mode a deferred transaction that reads and then writes fails at once with "database is
locked" when another connection committed in between (the busy timeout does not apply to that
case), and with the receiver committing all the time that would be the common case. Taking the
write lock at BEGIN makes such transactions wait their turn instead. Read-only work that should
not queue behind writers passes `immediate=False`. Keep transactions short: never hold a session
across an `await` of network I/O.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000
_DEFERRED = "readiness_sqlite_deferred"
# transactions opened by `session_scope`, per engine: the budget tests count them (a sync that
# changes nothing opens at most two), and nothing else reads them
_opened: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` (what hosting providers hand out) use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, jobs: int | None = None, **kwargs: Any) -> Engine:
    """A sync SQLAlchemy engine for `url`, configured for this bot's access pattern.

    `jobs`: how many worker jobs run at once on this engine. On PostgreSQL each holds up to two
    connections (its repository's advisory lock, and a session), so the pool is sized for them
    plus the receiver; SQLAlchemy's default (5 + 10 overflow) stalled every job for the pool's
    30 s timeout once READINESS_WORKER_CONCURRENCY was above 7 (bench/load.py)."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        if jobs is not None:
            kwargs.setdefault("pool_size", max(5, 2 * jobs + 2))
        return create_engine(url, **kwargs)

    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        if make_url(url).database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit is on disk (fsync of the WAL), so an acknowledged delivery survives a
        # power cut too, as on PostgreSQL; batching deliveries per commit pays for it
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        deferred = conn.get_execution_options().get(_DEFERRED, False)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine


def checkpoint_wal(engine: Engine) -> tuple[int, int, int]:
    """SQLite: copy what it can of the WAL into the database file, without waiting for or
    blocking anyone (PASSIVE). Returns SQLite's (busy, WAL frames, frames checkpointed).

    It runs on the raw driver connection, outside any transaction: through SQLAlchemy the pool's
    `begin` hook would open BEGIN IMMEDIATE first, and SQLite refuses to checkpoint from inside a
    transaction ("database table is locked"), which made every checkpoint fail and the WAL grow."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            row = cursor.fetchone()
            assert row is not None  # the pragma always answers with one row
            busy, frames, done = row
        finally:
            cursor.close()
    finally:
        raw.close()
    return int(busy), int(frames), int(done)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def session_scope(engine: Engine, *, immediate: bool = True) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on error. Objects stay usable after
    commit (no expiry), so callers can return rows they loaded.

    SQLite: `immediate=False` (read-only work) does not take the write lock at BEGIN."""
    _opened[engine] = _opened.get(engine, 0) + 1
    with engine.connect() as conn:
        if not immediate and is_sqlite(engine):
            conn = conn.execution_options(**{_DEFERRED: True})
        with Session(bind=conn, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


def transactions(engine: Engine) -> int:
    """How many transactions `session_scope` has opened on `engine` (a test hook for budgets)."""
    return _opened.get(engine, 0)
