"""Statement helpers the store modules share, so no dialect switch is written twice.

SQLite (one process) and PostgreSQL (replicas) both have `INSERT … ON CONFLICT DO NOTHING`, but
SQLAlchemy builds it from each dialect's own `insert`; `insert_ignore` picks the right one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(on: Session | str, model: Any, keys: list[str]) -> Any:
    """`INSERT INTO model … ON CONFLICT (keys) DO NOTHING` for the session's database (or a
    dialect name, for statements built once and cached); the caller adds `.values(…)` or
    executemany parameters and, where wanted, `.returning(…)`."""
    dialect = on if isinstance(on, str) else on.get_bind().dialect.name
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return build(model).on_conflict_do_nothing(index_elements=keys)
