"""The shipped templates must represent every item of the seed checklists they were built from.

Item lines are extracted from the seeds mechanically, with one rule set for all five seeds:
markdown table rows (minus header and separator rows), bullet and checkbox lines, numbered list
items, and free-standing question lines. Each must be listed in some template item's
`source.lines`, so a seed item can only be dropped on purpose, never by accident.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.core.rules import compile_checklist
from bot.core.templates import parse_template

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKLISTS = REPO_ROOT / "checklists"
SEEDS = REPO_ROOT.parent / "shared" / "seeds"

# template id -> seed file it must be built from
SHIPPED = {
    "backend-build": "000_9d6a854f36bb874e.txt",
    "production-readiness": "001_c099c3216489ccf6.txt",
    "backend-blueprint": "002_dd61071fa7481e4b.txt",
    "architecture-docs": "003_1e2852395c559083.txt",
    "python-backend": "004_a7234301bea736e0.txt",
}
# seed 000 is UTF-8 that was once mis-decoded as Mac Roman; this restores the original text
MOJIBAKE_SEEDS = {"000_9d6a854f36bb874e.txt"}

needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed checklists not present at {SEEDS}")

TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
SEPARATOR_ROW = re.compile(r"^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$")
BULLET = re.compile(r"^\s*[-*+]\s+(\[[ xX]\]\s+)?\S")  # also `- [ ] task`; `---` rules have no space
NUMBERED = re.compile(r"^\s*\d+[.)]\s+\S")
HEADING = re.compile(r"^\s*#")


def seed_lines(name: str) -> list[str]:
    text = (SEEDS / name).read_text(encoding="utf-8")
    if name in MOJIBAKE_SEEDS:
        text = text.encode("mac_roman").decode("utf-8")
    return text.splitlines()


def item_line_numbers(lines: list[str]) -> list[int]:
    """1-based numbers of the lines that are checklist items."""
    found = []
    for i, line in enumerate(lines):
        if TABLE_ROW.match(line):
            if SEPARATOR_ROW.match(line):
                continue
            if i + 1 < len(lines) and SEPARATOR_ROW.match(lines[i + 1]):
                continue  # header row
            found.append(i + 1)
        elif HEADING.match(line):
            continue
        elif BULLET.match(line) or NUMBERED.match(line) or line.rstrip().endswith("?"):
            found.append(i + 1)
    return found


def load(template_id: str) -> dict:
    path = CHECKLISTS / f"{template_id}.yaml"
    assert path.is_file(), f"shipped template {path} is missing"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def items(doc: dict) -> list[dict]:
    return [item for section in doc["sections"] for item in section["items"]]


def test_extraction_recognises_each_item_shape() -> None:
    lines = [
        "## 1. Heading",  # 1 heading
        "| Element | Description | Why |",  # 2 header row
        "|---------|-------------|-----|",  # 3 separator
        "| Tech Specs | Plan | Clarity |",  # 4 row
        "- [ ] Configure connection pooling.",  # 5 checkbox
        "**Purpose:** not an item",  # 6 prose
        "- What is the business value?",  # 7 bullet question
        "  - **Bulkhead Pattern:** per-dependency pools",  # 8 nested bullet
        "---",  # 9 rule
        "1. Numbered item",  # 10 numbered
        "Does a prototype exist?",  # 11 question line
        "",  # 12 blank
    ]
    assert item_line_numbers(lines) == [4, 5, 7, 8, 10, 11]


@pytest.mark.parametrize("template_id", sorted(SHIPPED))
def test_template_names_its_seed(template_id: str) -> None:
    doc = load(template_id)
    assert doc["id"] == template_id
    assert doc["source"] == SHIPPED[template_id]
    assert doc["version"] >= 1 and doc["title"].strip() and doc["description"].strip()


@pytest.mark.parametrize("template_id", sorted(SHIPPED))
def test_item_ids_unique_and_every_item_says_why(template_id: str) -> None:
    doc = load(template_id)
    ids = [item["id"] for item in items(doc)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"{template_id}: duplicate item ids {dupes}"
    no_why = [item["id"] for item in items(doc) if not str(item.get("why") or "").strip()]
    assert not no_why, f"{template_id}: items without `why`: {no_why}"
    unclear = [item["id"] for item in items(doc) if ("evidence" in item) == bool(item.get("manual"))]
    assert not unclear, f"{template_id}: need exactly one of evidence / manual: true: {unclear}"


def test_at_least_half_of_all_items_have_evidence() -> None:
    all_items = [item for tid in SHIPPED for item in items(load(tid))]
    with_evidence = sum("evidence" in item for item in all_items)
    assert with_evidence * 2 >= len(all_items), f"{with_evidence} of {len(all_items)} items have evidence"


@needs_seeds
@pytest.mark.parametrize("seed", sorted(SHIPPED.values()))
def test_every_seed_item_maps_to_a_template_item(seed: str) -> None:
    lines = seed_lines(seed)
    covered: set[int] = set()
    for path in sorted(CHECKLISTS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("source") == seed:
            covered.update(n for item in items(doc) for n in item["source"]["lines"])
    expected = item_line_numbers(lines)
    assert expected, f"no items extracted from {seed}; the extraction is broken"
    missing = [n for n in expected if n not in covered]
    report = "\n".join(f"  {n:4d}: {lines[n - 1].strip()[:100]}" for n in missing)
    assert not missing, f"{len(missing)} of {len(expected)} item lines of {seed} in no template:\n{report}"


@needs_seeds
@pytest.mark.parametrize("template_id", sorted(SHIPPED))
def test_source_lines_point_at_seed_content(template_id: str) -> None:
    doc = load(template_id)
    lines = seed_lines(doc["source"])
    bad = [
        (item["id"], n)
        for item in items(doc)
        for n in item["source"]["lines"]
        if not (1 <= n <= len(lines)) or not lines[n - 1].strip() or HEADING.match(lines[n - 1])
    ]
    assert not bad, f"{template_id}: source.lines outside the seed, blank or a heading: {bad}"


@pytest.mark.parametrize("template_id", sorted(SHIPPED))
def test_shipped_template_loads_with_the_bot_loader(template_id: str) -> None:
    path = CHECKLISTS / f"{template_id}.yaml"
    template = parse_template(path.read_bytes(), filename=path.name)
    compiled = compile_checklist(template)
    assert template.id == template_id
    assert len(list(template.items())) == len(items(load(template_id)))
    assert {item_id for item_id, _ in compiled.rules} == {
        item["id"] for item in items(load(template_id)) if "evidence" in item
    }
