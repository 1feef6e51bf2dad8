"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401
from bot.store.migrate import (
    SchemaOutdated,
    current_revision,
    ensure_schema,
    head_revision,
    schema_is_current,
    upgrade,
    upgrade_engine,
)

TABLES = {
    "installations",
    "repositories",
    "deliveries",
    "item_states",
    "item_events",
    "owned_issues",
    "summary_posts",
}


def _empty(engine: Engine) -> None:
    """Drop everything the fixture migrated, leaving an empty database."""
    with engine.begin() as conn:
        names = set(inspect(conn).get_table_names())
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
        for name in names:
            conn.execute(text(f'DROP TABLE "{name}"{cascade}'))


def test_upgrade_head_on_an_empty_database_builds_the_schema(engine: Engine, db_url: str) -> None:
    _empty(engine)
    assert current_revision(db_url) is None
    assert not schema_is_current(engine)

    before, after = upgrade(db_url)

    assert (before, after) == (None, head_revision())
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert schema_is_current(engine)


def test_autogenerate_finds_no_difference_after_upgrade(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    head = head_revision()
    assert upgrade_engine(engine) == (head, head)


def test_old_schema_is_refused_unless_auto_migrating(engine: Engine) -> None:
    _empty(engine)
    try:
        ensure_schema(engine, auto_migrate=False)
    except SchemaOutdated as exc:
        assert "run `readiness migrate`" in str(exc)
    else:
        raise AssertionError("an empty database was accepted as current")

    ensure_schema(engine, auto_migrate=True)
    assert schema_is_current(engine)
