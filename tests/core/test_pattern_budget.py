"""RE2 patterns cost memory (issue 12, finding 2): one pattern and one template are bounded, and
the error names the item (file, line)."""

from __future__ import annotations

import pytest

from bot.core.errors import TemplateError
from bot.core.templates import parse_template


def template(patterns: list[str]) -> str:
    items = "".join(
        f"      - id: i{n}\n        title: t\n        why: w\n        evidence:\n"
        f"          contains: {{files: ['*.py'], pattern: '{p}'}}\n"
        for n, p in enumerate(patterns)
    )
    return f"id: x\ntitle: x\nversion: 1\nsections:\n  - id: s\n    title: s\n    items:\n{items}"


def test_one_huge_pattern_is_refused_naming_its_line() -> None:
    with pytest.raises(TemplateError) as err:
        parse_template(template(["ok", r"\pL{446}"]), filename="t.yml")
    assert str(err.value).startswith("t.yml:17:")
    assert "sections[0].items[1].evidence.contains.pattern" in str(err.value)
    assert "too large" in str(err.value)


def test_many_large_patterns_are_refused_once_over_the_template_budget() -> None:
    with pytest.raises(TemplateError) as err:
        parse_template(template([rf"\pL{{15}}x{n}" for n in range(300)]), filename="t.yml")
    assert "sections[0].items[" in str(err.value) and "together" in str(err.value)


def test_ordinary_patterns_pass() -> None:
    parsed = parse_template(template([rf"secret_?key{n}" for n in range(300)]), filename="t.yml")
    assert len(parsed.sections[0].items) == 300
