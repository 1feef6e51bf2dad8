"""Platform knowledge lives in the platform packages: nothing else branches on a platform's name.

Read from the source with `ast`: a comparison with `"github"`/`"gitlab"` or `Platform.GITHUB`/
`Platform.GITLAB` (`==`, `!=`, `is`, `in (…)`), or a look-up keyed by one (`clients["gitlab"]`),
outside `bot/platforms/github/`, `bot/platforms/gitlab/` and the registry is a platform decision
made in the wrong place: put it in the platform's `PlatformSpec` instead.
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
        'ok = name in ("github", "gitlab")\n'
        'client = clients["gitlab"]\n'
        'other = clients.get("github")\n'
        "fine = spec_for(name).client_settings\n"
    )
    assert platform_branches(source) == [1, 3, 4, 5, 6]
