"""The weekly summary and status texts, from states and a week of history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.decide import CONFIG_ACTOR
from bot.core.resolve import ResolvedChecklist
from bot.core.state import ItemState, Status
from bot.core.summary import Change, progress_since, render_status, render_summary, trend
from bot.core.templates import parse_template
from bot.core.tracker import Progress

TEMPLATE = """
id: svc
title: Service basics
version: 1
sections:
  - id: build
    title: Build
    items:
      - {id: container, title: Container image, why: x, evidence: {files: [Dockerfile]}}
      - {id: ci-tests, title: Tests in CI, why: x, evidence: {ci: ["test*"]}}
      - {id: sbom, title: SBOM published, why: x, manual: true}
  - id: ops
    title: Operations
    items:
      - {id: runbook, title: Runbook, why: x, evidence: {files: ["docs/runbooks/"]}}
      - {id: oncall, title: On-call rota, why: x, manual: true}
      - {id: backups, title: Backups tested, why: x, manual: true}
      - {id: alerts, title: Alerts, why: x, evidence: {files: [alerts.yml]}}
"""
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=7)
CHECKLISTS = [ResolvedChecklist(parse_template(TEMPLATE, filename="svc.yaml"), {}, {})]
NUMBERS = {"section:svc:build": 11, "section:svc:ops": 12}


def st(item: str, status: Status, **kw) -> ItemState:
    return ItemState("svc", item, status, **kw)


def ch(item: str, frm: Status | None, to: Status, days_ago: float, actor=None, evidence=None) -> Change:
    return Change("svc", item, frm, to, actor, evidence, NOW - timedelta(days=days_ago))


STATES = {
    "svc": {
        "container": st("container", Status.AUTO, evidence="found `Dockerfile`"),
        "ci-tests": st("ci-tests", Status.AUTO, evidence="CI `test` passed"),
        "sbom": st("sbom", Status.SKIPPED, actor="maria", reason="internal tool, no distribution"),
        "runbook": st("runbook", Status.OPEN),
        "oncall": st("oncall", Status.DONE, actor="carol"),
        "backups": st("backups", Status.OPEN, actor="dave"),
    }
}
CHANGES = [
    ch("container", None, Status.AUTO, 20, evidence="found `Dockerfile`"),  # before the week: not listed
    ch("ci-tests", Status.OPEN, Status.AUTO, 3, evidence="CI `test` passed"),
    ch("sbom", None, Status.SKIPPED, 2, actor="maria"),
    ch("oncall", None, Status.DONE, 1, actor="carol"),
    ch("backups", None, Status.DONE, 5, actor="dave"),
    ch("backups", Status.DONE, Status.OPEN, 4, actor="dave"),
    ch("runbook", None, Status.AUTO, 20, evidence="found `docs/runbooks/db.md`"),
    ch("alerts", None, Status.AUTO, 6, evidence="found `alerts.yml`"),  # came and went: not listed
    ch("alerts", Status.AUTO, Status.OPEN, 5),
    ch("runbook", Status.AUTO, Status.OPEN, 0.5, evidence=None),
]


def summary() -> str:
    return render_summary(
        week="2026-W48", checklists=CHECKLISTS, states=STATES, changes=CHANGES, numbers=NUMBERS, since=SINCE
    )


def test_progress_a_week_ago_is_rewound_from_the_history():
    then = progress_since(CHECKLISTS, STATES, CHANGES, SINCE)
    assert then == Progress(done=2, skipped=0, total=7)  # the container and the runbook


def test_summary_shows_progress_delta_changes_by_whom_and_regressions():
    text = summary()
    assert text.startswith("<!-- readiness:summary 2026-W48 -->\n## Weekly readiness summary · 2026-W48")
    assert "**3 / 6 done (50%)** · 1 skipped" in text
    assert "Since 2026-11-16: 2 / 7 (28%) → **+1 done, +22 points**" in text
    done = text.split("**Done**")[1].split("\n\n")[0]
    assert "On-call rota** `svc/oncall`: ticked by @carol" in text
    assert "Tests in CI** `svc/ci-tests`: automatically (CI `test` passed)" in done
    assert "Container image" not in text.split("### What changed")[1].split("### What is next")[0]
    assert "⏭ **SBOM published** `svc/sbom`: skipped by @maria: internal tool, no distribution" in text
    assert "↩ **Backups tested** `svc/backups`: unticked by @dave" in text
    assert "⚠ **Runbook** `svc/runbook`: automatic evidence disappeared" in text
    assert "`svc/alerts`" not in text.split("### What is next")[0]  # came and went within the week
    assert "📈 1 more done this week; at this pace the remaining 3 take about 3 weeks." in text


def test_next_items_come_from_the_section_closest_to_done():
    nxt = summary().split("### What is next")[1]
    # build is 2/2 applicable (complete); ops is 1/4: its open items, automatic ones first
    assert nxt.index("`svc/runbook`") < nxt.index("`svc/alerts`") < nxt.index("`svc/backups`")
    assert "(#12): ticks itself once there is a file matching `docs/runbooks/`" in nxt


def test_a_quiet_week_says_so():
    quiet = render_summary(
        week="2026-W48", checklists=CHECKLISTS, states=STATES, changes=[], numbers={}, since=SINCE
    )
    assert "Nothing changed this week." in quiet
    assert "➖ No progress this week; 3 to go." in quiet


def test_trend_lines():
    assert trend(Progress(5, 0, 10), Progress(6, 0, 10), 1).startswith("📉 Progress went back")
    assert trend(Progress(9, 1, 10), Progress(6, 0, 10), 0).startswith("🎉")
    assert "about 1 week." in trend(Progress(8, 0, 10), Progress(6, 0, 10), 0)


def test_config_skips_are_credited_to_the_file():
    states = {
        "svc": {
            **STATES["svc"],
            "alerts": st("alerts", Status.SKIPPED, actor=CONFIG_ACTOR, reason="no alerts"),
        }
    }
    changes = [ch("alerts", None, Status.SKIPPED, 1, actor=CONFIG_ACTOR)]
    text = render_summary(
        week="W", checklists=CHECKLISTS, states=states, changes=changes, numbers={}, since=SINCE
    )
    assert "`svc/alerts`: skipped in `.readiness.yml`: no alerts" in text


def test_status_lists_sections_recent_changes_and_next():
    text = render_status(
        repo="octo-org/widgets",
        checklists=CHECKLISTS,
        states=STATES,
        changes=CHANGES,
        numbers=NUMBERS,
        since=SINCE,
    )
    assert "- ✅ Service basics · Build: 2/2 (100%) · #11" in text
    assert "- ⬜ Service basics · Operations: 1/4 (25%) · #12" in text
    recent = text.split("**Changed since 2026-11-16**")[1].split("**Next**")[0]
    assert (
        recent.index("svc/runbook") < recent.index("svc/oncall") < recent.index("svc/backups")
    )  # latest first
    assert recent.count("\n- ") == 5


def test_the_trend_chart_shows_each_weeks_progress_rewound_from_history():
    from bot.core.summary import weekly_percent

    points = weekly_percent(CHECKLISTS, STATES, CHANGES, NOW, weeks=4)
    assert [d.isoformat() for d, _ in points] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    # three weeks ago neither the container nor the runbook had been found; then both; now 3 of 6
    assert [p for _, p in points] == [0, 28, 28, 50]
    text = render_summary(
        week="2026-W48",
        checklists=CHECKLISTS,
        states=STATES,
        changes=CHANGES,
        numbers=NUMBERS,
        since=SINCE,
        chart_weeks=4,
    )
    chart = text.split("```mermaid\n")[1].split("```")[0]
    assert chart.splitlines()[0] == "xychart-beta"
    assert '    x-axis ["11-02", "11-09", "11-16", "11-23"]' in chart
    assert "    line [0, 28, 28, 50]" in chart
    assert "```mermaid" not in summary()  # only when asked for


def test_exemptions_ending_within_a_week_are_announced_with_who_decided():
    from datetime import date

    states = {"svc": dict(STATES["svc"])}
    states["svc"]["sbom"] = st(
        "sbom", Status.SKIPPED, actor="maria", reason="no distribution", until=date(2026, 11, 27)
    )
    states["svc"]["alerts"] = st(
        "alerts", Status.SKIPPED, actor=CONFIG_ACTOR, reason="later", until=date(2026, 12, 31)
    )
    text = render_summary(
        week="2026-W48", checklists=CHECKLISTS, states=states, changes=CHANGES, numbers=NUMBERS, since=SINCE
    )
    ending = text.split("### Exemptions ending soon\n")[1].split("\n\n")[0]
    assert ending == (
        "- ⏳ **SBOM published** `svc/sbom`: the skip by @maria ends 2026-11-27 (no distribution); "
        "from the day after it is tracked again"
    )
    assert "### Exemptions ending soon" not in summary()
