"""The operator's documents point only inside the repository, and name what exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", REPO / "deploy" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve_inside_the_repository(doc: Path) -> None:
    prose = re.sub(r"```.*?```|`[^`\n]*`", "", doc.read_text(), flags=re.S)  # code is not a link
    for target in LINK.findall(prose):
        if re.match(r"[a-z]+:", target):
            continue  # absolute URLs
        resolved = (doc.parent / target).resolve()
        assert resolved.is_relative_to(REPO), f"{doc.name} points outside the repository: {target}"
        assert resolved.exists(), f"{doc.name}: {target} does not exist"
    assert "../shared" not in doc.read_text(), doc.name


def test_operations_names_every_metric_the_bot_exports() -> None:
    metrics = re.findall(r'"(readiness_[a-z_]+)"', (REPO / "bot" / "metrics.py").read_text())
    text = (REPO / "docs" / "operations.md").read_text()
    assert metrics and [m for m in metrics if m not in text] == []


def test_architecture_names_every_module() -> None:
    text = (REPO / "docs" / "architecture.md").read_text()
    modules = [p for p in (REPO / "bot").rglob("*.py") if p.name != "__init__.py"]
    missing = [str(p.relative_to(REPO)) for p in modules if p.stem not in text]
    assert missing == [], "add a line for each of these modules to docs/architecture.md"
