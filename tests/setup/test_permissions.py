"""app.yml asks for exactly what the code uses: events the normaliser handles, permissions the
API routes the GitHub adapter calls need."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.platforms.github.normalize import EVENT_KINDS
from bot.setup.manifest import load_manifest
from bot.setup.permissions import ROUTE_PERMISSIONS, required_permissions

ADAPTER = Path(__file__).resolve().parents[2] / "bot" / "platforms" / "github"
DEFAULT_EVENTS = {"ping", "installation", "installation_repositories"}  # every App gets these


def adapter_routes() -> set[tuple[str, str]]:
    """(method, template) of every call in bot/platforms/github/: `_call("M", "t")`, `_pages("t")`, `request("M", "t")`."""
    routes: set[tuple[str, str]] = set()
    for path in ADAPTER.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            name = node.func.attr
            if name in ("_call", "request") and len(args) >= 2 and args[0].isupper():
                routes.add((args[0], args[1]))
            elif name in ("_pages", "paginate") and args:
                routes.add(("GET", args[0]))
    return routes


def test_events_are_exactly_those_the_normaliser_handles() -> None:
    assert set(load_manifest()["default_events"]) == set(EVENT_KINDS) - DEFAULT_EVENTS


def test_every_adapter_route_has_a_known_permission() -> None:
    routes = adapter_routes()
    assert routes, "no routes found: the adapter's call style changed, update adapter_routes()"
    unknown = {
        r
        for r in routes
        if r not in ROUTE_PERMISSIONS and r[1] != "/app/installations/{installation_id}/access_tokens"
    }
    assert not unknown, f"add these routes to bot/setup/permissions.py: {sorted(unknown)}"
    stale = set(ROUTE_PERMISSIONS) - routes
    assert not stale, f"routes no longer called, remove them: {sorted(stale)}"


def test_permissions_are_exactly_those_the_routes_need() -> None:
    assert load_manifest()["default_permissions"] == required_permissions()
