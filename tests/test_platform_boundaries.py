"""Platform knowledge lives in the platform packages: nothing else branches on a platform's name.

Read from the source with `ast`: a comparison with `"github"`/`"gitlab"` or `Platform("github")`
(`==`, `!=`, `is`, `in (…)`), or a look-up keyed by one (`clients["gitlab"]`), outside
`bot/platforms/github/`, `bot/platforms/gitlab/` and the registry is a platform decision made in
the wrong place: put it in the platform's `PlatformSpec` instead. The core, the settings and the
app go further: they name no platform at all (a platform's identity is a registered name, its
settings live in its package), so a third platform needs no edit there.
"""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"
NAMES = frozenset({"github", "gitlab"})
ALLOWED = (BOT / "platforms" / "github", BOT / "platforms" / "gitlab", BOT / "platforms" / "registry.py")


def _names_a_platform(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value in NAMES
    if isinstance(node, ast.Attribute):
        return (
            node.attr in ("GITHUB", "GITLAB")
            and isinstance(node.value, ast.Name)
            and node.value.id == "Platform"
        )
    if isinstance(node, ast.Call):  # Platform("github")
        return (
            isinstance(node.func, ast.Name)
            and node.func.id == "Platform"
            and any(_names_a_platform(a) for a in node.args)
        )
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_names_a_platform(e) for e in node.elts)
    return False


def platform_branches(source: str, filename: str = "<source>") -> list[int]:
    """Lines that compare with, or look up by, a platform's name."""
    lines = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if (
            (
                isinstance(node, ast.Compare)
                and any(_names_a_platform(n) for n in [node.left, *node.comparators])
            )
            or (isinstance(node, ast.Subscript) and _names_a_platform(node.slice))
            or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and _names_a_platform(node.args[0])
            )
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_nothing_outside_the_platform_packages_branches_on_a_platform_name() -> None:
    found = [
        f"{path.relative_to(BOT.parent)}:{line}"
        for path in sorted(BOT.rglob("*.py"))
        if not any(path == a or a in path.parents for a in ALLOWED)
        for line in platform_branches(path.read_text(), str(path))
    ]
    assert found == [], "ask the platform's PlatformSpec (bot/platforms/registry.py) instead"


def test_the_scan_sees_each_form_of_branch() -> None:
    source = (
        'if platform == "github":\n'
        "    pass\n"
        "x = a if event.platform is Platform.GITLAB else b\n"
        'y = 1 if event.platform == Platform("github") else 2\n'
        'ok = name in ("github", "gitlab")\n'
        'client = clients["gitlab"]\n'
        'other = clients.get("github")\n'
        "fine = spec_for(name).client_settings\n"
    )
    assert platform_branches(source) == [1, 3, 4, 5, 6, 7]


# Modules a new platform must not have to touch: they mention no platform's name in code
# (docstrings and comments aside).
NAME_FREE = (BOT / "core", BOT / "config.py", BOT / "app.py", BOT / "jobs" / "handlers.py")


def platform_names(source: str, filename: str = "<source>") -> list[int]:
    """Lines with a string constant that is a platform's name or contains `github`/`gitlab` as
    a settings field would (`github_app_id`), docstrings excepted."""
    tree = ast.parse(source, filename=filename)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if node.value in NAMES or any(node.value.startswith(f"{n}_") for n in NAMES):
                found.append(node.lineno)
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if any(name.lower().startswith(f"{n}_") for n in NAMES) or name in ("GITHUB", "GITLAB"):
                found.append(node.lineno)
    return sorted(set(found))


def test_the_core_settings_and_app_name_no_platform() -> None:
    paths = [p for base in NAME_FREE for p in ([base] if base.is_file() else sorted(base.rglob("*.py")))]
    found = [
        f"{path.relative_to(BOT.parent)}:{line}"
        for path in paths
        for line in platform_names(path.read_text(), str(path))
    ]
    assert found == [], "a platform's identity is its registered name; its settings live in its package"


def test_the_name_scan_sees_fields_members_and_constants() -> None:
    source = (
        '"""Docstrings may say github."""\n'
        "github_app_id: int | None = None\n"
        "x = Platform.GITLAB\n"
        'y = "gitlab"\n'
        "z = settings.github_api_url\n"
        "fine = spec.name\n"
    )
    assert platform_names(source) == [2, 3, 4, 5]
