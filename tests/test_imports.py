"""The shape of `bot/`'s imports: no cycles, and a core that depends on nothing else of the bot.

Read from the source with `ast` (nothing is imported), counting every import: module level,
inside functions, and under `if TYPE_CHECKING:` too. A cycle through a type-only import is still
two modules that cannot be understood, tested or moved apart; the fix is to move the shared part
down or depend on a small Protocol, not to hide the import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"

# Cycles that exist on purpose for now, each a set of modules with the reason it stays.
# Cycles tolerated for now, each with the issue that removes it (none today).
ALLOWED_CYCLES: dict[frozenset[str], str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for path in BOT.rglob("*.py"):
        parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The bot module a dotted name lives in (`bot.core.rules.Rule` -> `bot.core.rules`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """(bot module, line) for every import in a module, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # `from bot.core import yamlload` imports the module bot.core.yamlload
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
            ]
        else:
            continue
        for name in names:
            owner = _owner(name) if name == "bot" or name.startswith("bot.") else None
            if owner is not None and owner != module:
                yield owner, node.lineno


def import_graph() -> dict[str, set[str]]:
    return {module: {target for target, _ in _imported(module, path)} for module, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def _describe(component: frozenset[str], graph: dict[str, set[str]]) -> str:
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & component))}" for m in sorted(component))


def test_the_cycle_finder_finds_cycles_and_only_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e", "f"}, "f": set()}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]


def test_relative_and_submodule_imports_are_resolved() -> None:
    # bot.core.settings imports `from bot.core import settings_errors, settings_schema, yamlload`
    assert {"bot.core.settings_errors", "bot.core.yamlload"} <= import_graph()["bot.core.settings"]


def test_no_import_cycle_inside_bot() -> None:
    graph = import_graph()
    unexpected = [c for c in cycles(graph) if c not in ALLOWED_CYCLES]
    assert not unexpected, "import cycles:\n" + "\n".join(_describe(c, graph) for c in unexpected)


def test_allowed_cycles_still_exist() -> None:
    """An allow-list entry whose cycle is gone must go too, or it would excuse the next one."""
    found = set(cycles(import_graph()))
    assert [sorted(c) for c in ALLOWED_CYCLES if c not in found] == []


def test_core_imports_nothing_from_the_rest_of_bot() -> None:
    """The core is plain functions over plain data: it must run (and be tested) without the
    store, the platforms, the settings of the process or the file layout of an installation."""
    outside = [
        f"{MODULES[module].relative_to(BOT.parent)}:{line}: imports {target}"
        for module, path in MODULES.items()
        if module == "bot.core" or module.startswith("bot.core.")
        for target, line in _imported(module, path)
        if not (target == "bot.core" or target.startswith("bot.core."))
    ]
    assert outside == []
