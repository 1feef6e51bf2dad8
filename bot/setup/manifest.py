"""The GitHub App manifest (`bot/setup/app.yml`, linked as `app.yml` at the repository root)
with a bot's public URL filled in, and the github.com / GitHub Enterprise Server URLs the
manifest flow needs. Pure functions over strings: the routes and `readiness app-manifest` share them."""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

PLACEHOLDER = "https://readiness.example.com"
GITHUB_COM = "https://github.com"
_ORG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


class ManifestError(ValueError):
    """A URL or organisation name the flow cannot use; the message says which and why."""


def load_manifest() -> dict[str, Any]:
    return yaml.safe_load(files("bot.setup").joinpath("app.yml").read_text(encoding="utf-8"))


def base_url(value: str, what: str = "--url") -> str:
    """`https://host[:port][/path]` without a trailing slash; http only for localhost."""
    parts = urlsplit(value.strip())
    local = parts.hostname in ("localhost", "127.0.0.1")
    if parts.scheme not in ("https", "http") or not parts.hostname or (parts.scheme == "http" and not local):
        raise ManifestError(f"{what}: expected an https:// URL, got {value!r}")
    if parts.query or parts.fragment or parts.username:
        raise ManifestError(f"{what}: expected a plain URL (no query, fragment or user), got {value!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def check_org(org: str | None) -> str | None:
    if not org:
        return None
    if not _ORG.match(org):
        raise ManifestError(f"organisation: expected a GitHub organisation login, got {org!r}")
    return org


def manifest_for(public_url: str, *, name: str | None = None) -> dict[str, Any]:
    """The manifest with every placeholder URL pointing at `public_url`."""
    url = base_url(public_url)
    manifest = load_manifest()
    manifest["url"] = manifest["url"].replace(PLACEHOLDER, url)
    manifest["redirect_url"] = manifest["redirect_url"].replace(PLACEHOLDER, url)
    manifest["hook_attributes"]["url"] = manifest["hook_attributes"]["url"].replace(PLACEHOLDER, url)
    if name:
        manifest["name"] = name
    return manifest


def new_app_url(github_url: str, org: str | None) -> str:
    """Where the manifest form posts: the user's or the organisation's "new App" page."""
    web = base_url(github_url, "GitHub URL")
    org = check_org(org)
    if org:
        return f"{web}/organizations/{quote(org)}/settings/apps/new"
    return f"{web}/settings/apps/new"


def api_url_for(github_url: str) -> str:
    """REST base for a web URL: api.github.com for github.com, `<host>/api/v3` for GHES."""
    web = base_url(github_url, "GitHub URL")
    return "https://api.github.com" if web == GITHUB_COM else f"{web}/api/v3"
