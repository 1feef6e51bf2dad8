"""Shared fixtures. Database fixtures honour READINESS_TEST_DATABASE_URL (PostgreSQL in CI).

Every test that asks for `db_url` / `engine` gets its own, migrated database state:
- SQLite (default): a copy of a database migrated once per session, in the test's tmp_path.
- PostgreSQL: a schema private to this pytest process, migrated once; every table is emptied
  and its id sequence restarted before each test. A private schema lets several pytest runs share one server.
A PostgreSQL URL that is set but unreachable stops the run: it must never silently become SQLite.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import bot.platforms.registry  # declares every platform's settings to load_settings, as the entry points do
import bot.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.store.db import make_engine, normalize_url
from bot.store.migrate import upgrade

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
WEBHOOK_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "webhooks"
TEST_DATABASE_ENV = "READINESS_TEST_DATABASE_URL"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


def _test_database_url() -> str | None:
    url = os.environ.get(TEST_DATABASE_ENV, "").strip()
    return normalize_url(url) if url else None


@pytest.fixture(autouse=True, scope="session")
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`readiness check` keeps compiled globs under $XDG_CACHE_HOME: the suite (and the CLI
    processes it starts, which inherit the environment) never writes into the user's cache."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache-home"))


def pytest_configure(config: pytest.Config) -> None:
    url = _test_database_url()
    if url is None:
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise pytest.UsageError(
            f"{TEST_DATABASE_ENV} is set but the database cannot be reached "
            f"({make_url(url).render_as_string(hide_password=True)}): {exc}"
        ) from None
    finally:
        engine.dispose()


def pytest_report_header(config: pytest.Config) -> str:
    url = _test_database_url()
    shown = make_url(url).render_as_string(hide_password=True) if url else "SQLite (tmp_path)"
    return f"test database: {shown}"


@pytest.fixture(scope="session")
def _migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite: path of a migrated template file. PostgreSQL: URL of a migrated private schema."""
    url = _test_database_url()
    if url is None:
        template = tmp_path_factory.mktemp("db-template") / "template.db"
        upgrade(f"sqlite:///{template}")  # the engine is disposed: the WAL is checkpointed
        yield str(template)
        return

    schema = f"readiness_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    schema_url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    schema_url_str = schema_url.render_as_string(hide_password=False)
    try:
        upgrade(schema_url_str)
        yield schema_url_str
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db_url(_migrated_database: str, tmp_path: Path) -> str:
    """The URL of an isolated, migrated, empty database for this test."""
    if _test_database_url() is None:
        path = tmp_path / "readiness.db"
        shutil.copyfile(_migrated_database, path)
        return f"sqlite:///{path}"

    engine = make_engine(_migrated_database)
    try:
        with engine.begin() as conn:
            # DELETE, children first, is far faster than TRUNCATE on the few rows a test leaves
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())
                if "id" in table.c and table.c.id.autoincrement is not False:
                    conn.execute(
                        text("SELECT setval(pg_get_serial_sequence(:t, 'id'), 1, false)"), {"t": table.name}
                    )
    finally:
        engine.dispose()
    return _migrated_database


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()
