"""Engines and sessions for SQLite (default, one process) and PostgreSQL (several replicas).

SQLite is tuned for a web process plus a worker sharing one file: WAL (readers never block the
writer), a busy timeout (writers queue instead of failing), foreign keys on. Python's sqlite3
driver would otherwise open transactions lazily and on its own terms, so the driver is put in
autocommit mode and SQLAlchemy emits BEGIN itself; `immediate=True` asks for BEGIN IMMEDIATE
where a transaction reads and then writes (claiming work), so two writers cannot both read the
same state and then collide on the upgrade to a write lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "readiness_sqlite_immediate"


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` (what hosting providers hand out) use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A sync SQLAlchemy engine for `url`, configured for this bot's access pattern."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
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
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def session_scope(engine: Engine, *, immediate: bool = False) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on error. Objects stay usable after
    commit (no expiry), so callers can return rows they loaded.

    `immediate=True` takes SQLite's write lock at BEGIN (no effect on PostgreSQL)."""
    with engine.connect() as conn:
        if immediate and is_sqlite(engine):
            conn = conn.execution_options(**{_IMMEDIATE: True})
        with Session(bind=conn, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
