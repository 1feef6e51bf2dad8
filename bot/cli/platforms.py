"""`--platform NAME`: any registered platform, checked against the registry (no closed list here)."""

from __future__ import annotations

from typing import Any

import typer

from bot.core.events import Platform
from bot.platforms.registry import PLATFORMS, UnknownPlatform, platform_named

DEFAULT = next(iter(PLATFORMS))  # the first registered: GitHub


def _known(value: str) -> Platform:
    try:
        return platform_named(value)
    except UnknownPlatform:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(map(repr, PLATFORMS))}") from None


def platform_option(help: str) -> Any:
    return typer.Option(DEFAULT, callback=_known, help=help)
