"""Checks that keep the pipeline's shape: one writer, and handlers that do not know each other."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"
# Every method of the Platform protocol that changes something on GitHub or GitLab.
WRITE_METHODS = frozenset(
    {
        "create_issue",
        "update_issue",
        "ensure_labels",
        "link_child",
        "unlink_child",
        "create_comment",
        "update_comment",
        "add_reaction",
        "report_check",
    }
)
WRITER = BOT / "apply.py"
PLATFORMS = BOT / "platforms"  # the implementations of those methods (and their wrappers)
HANDLERS = ("checklist", "commands", "summaries", "installations")


def _modules() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


def write_calls(path: Path) -> list[str]:
    """`obj.<write method>(…)` calls in one module, as `file:line name`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(BOT.parent)}:{node.lineno} {node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in WRITE_METHODS
    ]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):  # includes imports under `if TYPE_CHECKING:` and in functions
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_no_platform_write_method_is_called_outside_apply() -> None:
    outside = [
        call
        for path in _modules()
        if path != WRITER and PLATFORMS not in path.parents
        for call in write_calls(path)
    ]
    assert outside == [], "write through bot/apply.py (an Action), not the platform directly"


def test_the_scan_sees_the_writer_calls() -> None:
    """The scan above would pass vacuously if it found no calls at all: it must see apply's."""
    # no Action unlinks a child or edits a comment (a marked reply is adopted, not edited): the
    # protocol keeps both methods for its contract suite
    assert {c.rsplit(" ", 1)[1] for c in write_calls(WRITER)} == WRITE_METHODS - {
        "unlink_child",
        "update_comment",
    }


def test_handlers_do_not_import_each_other() -> None:
    found = {}
    for name in HANDLERS:
        others = {f"bot.jobs.{o}" for o in HANDLERS if o != name}
        hits = imported_modules(BOT / "jobs" / f"{name}.py") & others
        if hits:
            found[name] = sorted(hits)
    assert found == {}, "handlers share through bot/jobs/context.py, never through each other"
