"""Every report format says the same thing: counts, skipped items apart, evidence for ticked items."""

from __future__ import annotations

import json

from bot.core.state import Status
from bot.report import (
    ChecklistResult,
    ItemResult,
    Report,
    SectionResult,
    Tally,
    render_json,
    render_markdown,
    render_sarif,
    render_text,
)


def _report() -> Report:
    build = SectionResult(
        "build",
        "Build & ship",
        (
            ItemResult("dockerfile", "Container image", Status.AUTO, False, evidence="found `Dockerfile`"),
            ItemResult("ci-lint", "Lint in CI", Status.OPEN, False, why="Style issues fail fast"),
            ItemResult("load-testing", "Load tests", Status.SKIPPED, False, reason="Batch job"),
        ),
    )
    people = SectionResult(
        "people", "People | process", (ItemResult("on-call", "On-call rota", Status.OPEN, True),)
    )
    checklist = ChecklistResult("team", "Team checklist", (build, people), source="checks/team.yml")
    return Report((checklist,), notes=("looked at 3 files",), commit="1a2b3c4d5e", files=3)


def test_tally_counts_skipped_items_apart() -> None:
    report = _report()
    assert report.tally == Tally(done=1, skipped=1, total=4)
    assert report.tally.applicable == 3
    assert round(report.tally.percent, 1) == 33.3
    assert Tally().percent == 100.0  # nothing applicable: nothing left to do


def test_text_shows_bars_marks_evidence_and_summary() -> None:
    text = render_text(_report())
    assert "Team checklist  [team]" in text
    assert "1/3  33% (1 skipped)" in text
    assert "█" in text and "░" in text
    assert "✓ Container image — found `Dockerfile`" in text
    assert "✗ Lint in CI" in text
    assert "– Load tests — skipped: Batch job" in text
    assert "✗ On-call rota (manual)" in text
    assert (
        "Overall: 1 of 3 applicable items done (33%), 1 skipped; 1 checklist(s) over 3 files at 1a2b3c4"
        in text
    )
    assert "\x1b[" not in text  # no colour codes unless asked


def test_json_has_a_stable_shape() -> None:
    data = json.loads(render_json(_report()))
    assert data["schema"] == "readiness-report/v1"
    assert data["summary"] == {"done": 1, "open": 2, "skipped": 1, "total": 4, "percent": 33.3}
    section = data["checklists"][0]["sections"][0]
    assert section["summary"]["percent"] == 50.0
    assert section["items"][0] == {
        "id": "dockerfile",
        "title": "Container image",
        "status": "auto",
        "manual": False,
        "evidence": "found `Dockerfile`",
        "reason": None,
        "missing": None,
        "applicable": True,
    }
    assert section["items"][2]["status"] == "skipped" and section["items"][2]["reason"] == "Batch job"


def test_markdown_has_a_table_and_task_lists() -> None:
    md = render_markdown(_report())
    assert "| Team checklist (`team`) | 1 | 2 | 1 | 33% |" in md
    assert "### People \\| process — 0/1   0%" in md
    assert "- [x] Container image — found `Dockerfile`" in md
    assert "- [ ] Lint in CI" in md
    assert "- [ ] ~~Load tests~~ — skipped: Batch job" in md
    assert "- [ ] On-call rota _(manual)_" in md


def test_sarif_reports_only_open_automatic_items() -> None:
    sarif = json.loads(render_sarif(_report()))
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["name"] == "readiness"
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == ["team/dockerfile", "team/ci-lint", "team/load-testing"]
    [result] = run["results"]
    assert result["ruleId"] == "team/ci-lint"
    assert rule_ids[result["ruleIndex"]] == "team/ci-lint"
    assert result["level"] == "warning"
    assert result["message"]["text"].startswith("Lint in CI: no evidence found")
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == ".readiness.yml"
    assert location["region"]["startLine"] == 1
