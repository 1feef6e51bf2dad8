"""The shipped checklists parse, and their rules are specific enough not to tick on an ordinary repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.rules import compile_checklist, evaluate_many
from bot.core.snapshot import RepoSnapshot
from bot.core.templates import load_templates, parse_template
from bot.resources import load_shipped, shipped_dir

TEMPLATE_FILES = sorted([*shipped_dir().glob("*.yaml"), *shipped_dir().glob("*.yml")])

# A plain Python package: nothing about it is production-ready beyond "it has tests".
ORDINARY = {
    "README.md": b"# pkg\n\nA small library that adds numbers.\n\n## Install\n\n    pip install pkg\n",
    "LICENSE": b"MIT License\n\nCopyright (c) 2024 Someone\n",
    "setup.py": b"from setuptools import setup\n\nsetup(name='pkg', package_dir={'': 'src'})\n",
    "src/pkg/__init__.py": b'"""pkg."""\n__version__ = "0.1.0"\n',
    "src/pkg/app.py": b"def add(a: int, b: int) -> int:\n    return a + b\n",
    "tests/test_app.py": b"from pkg.app import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    ".gitignore": b"__pycache__/\n*.pyc\n.venv/\ndist/\n",
}
MAX_TICKS_PER_TEMPLATE = 3


def test_there_are_shipped_templates() -> None:
    assert TEMPLATE_FILES, f"no templates in {shipped_dir()}"


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_each_shipped_template_parses_and_compiles(path: Path) -> None:
    template = parse_template(path.read_bytes(), filename=path.name)
    assert template.id == path.stem, "file name and template id should agree"
    items = [item for _, item in template.items()]
    assert items, "a template without items"
    assert all(item.why for item in items)
    compile_checklist(template)


def test_shipped_template_ids_are_unique_and_load_shipped_caches() -> None:
    assert sorted(load_templates(shipped_dir())) == sorted(p.stem for p in TEMPLATE_FILES)
    first, second = load_shipped(), load_shipped()
    assert first == second
    assert first is not second  # callers get their own dict
    assert next(iter(first.values())) is next(iter(second.values()))  # parsed once


def test_at_least_half_of_all_items_have_evidence() -> None:
    items = [item for t in load_shipped().values() for _, item in t.items()]
    automatic = sum(not item.manual for item in items)
    assert automatic * 2 >= len(items), f"{automatic} of {len(items)} items have evidence"


def test_an_ordinary_repository_ticks_only_a_few_items() -> None:
    templates = load_shipped()
    compiled = [compile_checklist(t) for t in templates.values()]
    snap = RepoSnapshot(paths=sorted(ORDINARY), read=ORDINARY.get)
    ticked = {
        c.template_id: {item: v.evidence for item, v in verdicts.items() if v.passed}
        for c, verdicts in zip(compiled, evaluate_many(compiled, snap), strict=True)
    }
    for template_id, items in ticked.items():
        print(template_id, items)
    too_many = {t: sorted(items) for t, items in ticked.items() if len(items) > MAX_TICKS_PER_TEMPLATE}
    assert not too_many, f"rules tick on an ordinary repository: {too_many}"
