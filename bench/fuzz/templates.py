"""Fuzz the checklist template loader: any bytes either parse or raise TemplateError, never
another exception, and a parsed template compiles (its globs and patterns) within its budget.

Usage: `.venv/bin/python bench/fuzz/templates.py -max_total_time=60` (see bench/fuzz/common.py).
"""

from __future__ import annotations

import sys

import atheris
from common import ROOT, run

with atheris.instrument_imports(include=["bot"]):  # our code; not yaml, pydantic, re2
    from bot.core.errors import InputError
    from bot.core.rules import compile_checklist
    from bot.core.templates import parse_template


def samples() -> list[bytes]:
    return [p.read_bytes() for p in sorted((ROOT / "checklists").glob("*.yaml"))]


def test_one_input(data: bytes) -> None:
    try:
        template = parse_template(data, filename="t.yml")
        compile_checklist(template)
    except InputError as exc:
        assert "\n" not in str(exc), f"a multi-line error: {exc!r}"


if __name__ == "__main__":
    run(test_one_input, samples)
    sys.exit(0)
