"""The store owns every SQL statement: no module outside bot/store builds or runs one.

An AST scan, so it sees what the code does, not what it says: importing a statement builder
from SQLAlchemy/SQLModel (`select`, `insert`, `update`, `delete`, `text`, the dialects'
`insert`), or, in a module that uses SQLAlchemy or SQLModel, calling `.exec(…)`, `.execute(…)`
or `.exec_driver_sql(…)`.
"""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
BUILDERS = {"select", "insert", "update", "delete", "text", "union_all"}
RUNNERS = {"exec", "execute", "exec_driver_sql"}


def sql_in(path: Path) -> list[str]:
    """What builds or runs SQL in `path`; `.execute(…)` counts in modules that use SQLAlchemy
    or SQLModel at all (a GraphQL client's `execute` is not a query)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    uses_sql = any(
        isinstance(n, (ast.Import, ast.ImportFrom))
        and any(
            name.split(".")[0] in ("sqlalchemy", "sqlmodel")
            for name in ([n.module or ""] if isinstance(n, ast.ImportFrom) else [a.name for a in n.names])
        )
        for n in ast.walk(tree)
    )
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
            "sqlalchemy",
            "sqlmodel",
        ):
            found += [f"imports {a.name}" for a in node.names if a.name in BUILDERS]
            if node.module in ("sqlalchemy.dialects",) and any(
                a.name in ("postgresql", "sqlite") for a in node.names
            ):
                found.append("imports a dialect's insert")
        elif (
            uses_sql
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RUNNERS
        ):
            found.append(f"calls .{node.func.attr}() at line {node.lineno}")
    return found


def test_no_module_outside_the_store_builds_sql() -> None:
    offenders = {
        str(p.relative_to(BOT.parent)): sql_in(p)
        for p in sorted(BOT.rglob("*.py"))
        if "store" not in p.relative_to(BOT).parts[:1] and sql_in(p)
    }
    assert offenders == {}, "move these queries into bot/store (a function per query)"


def test_the_scan_sees_a_query(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from sqlmodel import select\n\ndef f(s):\n    return s.exec(select(1))\n")
    assert sql_in(module) == ["imports select", "calls .exec() at line 4"]
