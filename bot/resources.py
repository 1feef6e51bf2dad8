"""Where the shipped data lives: the packages `bot.checklists` and `bot.migrations`.

pyproject maps the top-level `checklists/` and `migrations/` directories to those package names, so
a wheel carries them inside `bot/` wherever pip installs it (virtualenv, `--target`, `--user`), and an
editable install's import hook points at the checkout's directories. importlib.resources finds
them either way; nothing depends on `sys.prefix`.
"""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path

from bot.core.templates import Template, load_templates

_PACKAGES = {"checklists": "bot.checklists", "migrations": "bot.migrations"}
_CHECKOUT = Path(__file__).resolve().parents[1]


class MissingData(RuntimeError):
    """The installation lacks its shipped data (a broken or partial install)."""


def data_dir(name: str) -> Path:
    """The directory of `checklists` or `migrations` as a real path (Alembic and the loader need one)."""
    try:
        found = importlib.resources.files(_PACKAGES[name])
    except ModuleNotFoundError:
        # Running from a source tree that was never installed (PYTHONPATH=.): use the checkout's copy.
        found = _CHECKOUT / name
    path = Path(str(found))
    if not isinstance(found, Path) or not path.is_dir():
        raise MissingData(f"readiness-bot's {name} are missing at {found}: reinstall the package")
    return path


def shipped_dir() -> Path:
    """The shipped templates' directory (the checkout's `checklists/`, or the installed copy)."""
    return data_dir("checklists")


@functools.lru_cache(maxsize=4)
def _load_cached(directory: Path) -> dict[str, Template]:
    return load_templates(directory)


def load_shipped(directory: Path | None = None) -> dict[str, Template]:
    """The shipped templates, parsed once per process (a fresh dict each call, so callers may edit it)."""
    return dict(_load_cached(directory or shipped_dir()))
