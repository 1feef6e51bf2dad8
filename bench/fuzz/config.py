"""Fuzz the `.readiness.yml` loader: any bytes either parse or raise ConfigError, never another
exception (a traceback in `readiness check`, a dead-lettered delivery in the bot).

Usage: `.venv/bin/python bench/fuzz/config.py -max_total_time=60` (see bench/fuzz/common.py).
"""

from __future__ import annotations

import re
import sys

import atheris
from common import ROOT, run

with atheris.instrument_imports(include=["bot"]):  # our code; not yaml, pydantic, re2
    from bot.core.errors import InputError
    from bot.core.settings import config_data, parse_config
    from bot.resources import load_shipped

SHIPPED = frozenset(load_shipped())


def samples() -> list[bytes]:
    """Every ```yaml block of docs/configuration.md, plus a few small configurations."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    blocks = re.findall(r"```ya?ml\n(.*?)```", text, flags=re.S)
    blocks += ["checklists: [production-readiness]\n", "checklists:\n  - path: .github/x.yml\n"]
    return [b.encode() for b in blocks]


def test_one_input(data: bytes) -> None:
    for parse in (lambda: parse_config(data, shipped_ids=SHIPPED), lambda: config_data(data)):
        try:
            parse()
        except InputError as exc:
            assert "\n" not in str(exc), f"a multi-line error: {exc!r}"


if __name__ == "__main__":
    run(test_one_input, samples)
    sys.exit(0)
