"""Engines: the SQLite settings a shared file needs, and URLs as hosting providers write them."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from bot.store.db import make_engine, normalize_url, session_scope
from bot.store.migrate import upgrade
from bot.store.models import ItemStateRow, Repository, utcnow


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db:5432/bot", "postgresql+psycopg://u:p@db:5432/bot"),
        ("postgresql://u@db/bot?sslmode=require", "postgresql+psycopg://u@db/bot?sslmode=require"),
        ("postgresql+psycopg://u@db/bot", "postgresql+psycopg://u@db/bot"),
        ("sqlite:///readiness.db", "sqlite:///readiness.db"),
    ],
)
def test_postgres_urls_use_psycopg_3(given: str, used: str) -> None:
    assert normalize_url(given) == used
    if not given.startswith("sqlite"):
        assert make_engine(given).dialect.driver == "psycopg"


def test_sqlite_is_set_up_for_a_web_process_and_a_worker_sharing_one_file(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000, "synchronous": 2}
    engine.dispose()


def test_session_scope_commits_on_success_and_rolls_back_on_error(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(Repository(platform="github", full_name="acme/kept", created_at=utcnow(), updated_at=utcnow()))
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        s.add(Repository(platform="github", full_name="acme/lost"))
        s.flush()
        raise RuntimeError("handler failed")
    with session_scope(engine) as s:
        names = s.scalars(select(Repository.full_name)).all()
        assert names == ["acme/kept"]
        assert s.scalar(select(func.count()).select_from(Repository)) == 1


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(ItemStateRow(repository_id=999, checklist="production-readiness", item_id="backups"))


def test_sqlite_read_then_write_waits_its_turn_instead_of_failing(tmp_path: Path) -> None:
    """In WAL mode a deferred transaction that read before another connection committed cannot
    write any more ("database is locked", busy timeout or not); BEGIN IMMEDIATE queues it."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    engine = make_engine(url)
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            with session_scope(engine) as s:
                s.add(Repository(platform="gitlab", full_name="group/other"))
        except BaseException as exc:
            errors.append(exc)

    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Repository)) == 0  # read ...
        writer = threading.Thread(target=other_writer)
        writer.start()
        writer.join(timeout=0.2)  # give it the chance to commit in between, which it must not get
        s.add(Repository(platform="github", full_name="acme/api"))  # ... then write
    writer.join()
    assert errors == []
    with session_scope(engine, immediate=False) as s:
        assert sorted(s.scalars(select(Repository.full_name)).all()) == ["acme/api", "group/other"]
    engine.dispose()


def test_a_postgresql_engine_has_connections_for_every_job_it_runs() -> None:
    """bench/load.py: with 32 jobs at once, each holding its repository's advisory-lock
    connection and a session, SQLAlchemy's default pool (5 + 10) stalled every job for 30 s."""
    engine = make_engine("postgresql+psycopg://bot@db.invalid/readiness", jobs=32)  # never connects
    try:
        assert engine.pool.size() + engine.pool._max_overflow >= 2 * 32  # type: ignore[attr-defined]
    finally:
        engine.dispose()
