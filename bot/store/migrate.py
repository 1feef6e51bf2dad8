"""Schema migrations (Alembic, configured here so no alembic.ini is needed to run them).

SQLite deployments migrate on start; PostgreSQL deployments run `readiness migrate` once per
release and every replica refuses to start on an old schema, so replicas never race to migrate.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from bot.resources import data_dir
from bot.store.db import make_engine

MIGRATIONS = data_dir("migrations")


class SchemaOutdated(Exception):
    """The database schema is not the one this version of the bot needs."""


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS}"
    return head


def _current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_engine(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply migrations up to `revision`; returns (revision before, revision after)."""
    before = _current(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return before, _current(engine)


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    engine = make_engine(url)
    try:
        return upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return _current(engine)
    finally:
        engine.dispose()


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration (what /readyz and replicas check)."""
    return _current(engine) == head_revision()


def ensure_schema(engine: Engine, *, auto_migrate: bool) -> None:
    """Migrate (SQLite, a single process) or refuse to run on an old schema (PostgreSQL)."""
    current, head = _current(engine), head_revision()
    if current == head:
        return
    if auto_migrate:
        upgrade_engine(engine)
        return
    raise SchemaOutdated(
        f"database schema is at {current or 'nothing (empty database)'}, this version needs {head}: "
        "run `readiness migrate`"
    )


def database_problem(engine: Engine) -> str | None:
    """None when the database answers and its schema is current, else why not (one short line):
    what /readyz of the web process and of a worker report."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if not schema_is_current(engine):
            return "database schema is not current: run `readiness migrate`"
    except Exception as exc:
        return f"database unreachable: {type(exc).__name__}"
    return None
