"""Where the shipped data lives: next to `bot/` in a checkout (and editable installs), or under
`<prefix>/share/readiness-bot/` when installed from a wheel (pyproject's data-files)."""

from __future__ import annotations

import sys
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]
_INSTALLED = Path(sys.prefix) / "share" / "readiness-bot"


def data_dir(name: str) -> Path:
    """`checklists` or `migrations`: the checkout's copy when present, else the installed one."""
    here = _CHECKOUT / name
    return here if here.is_dir() else _INSTALLED / name
