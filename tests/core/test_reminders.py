"""What the weekly summary asks people to do, on a controllable clock: attestations due, sections
that have not moved, owners to act and their backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.reminders import Reminder, attestations_due, owners_to_act, render, stale_sections
from bot.core.resolve import ResolvedChecklist
from bot.core.state import ItemState, Status
from bot.core.templates import parse_template

TEMPLATE = """
id: svc
title: Service basics
sections:
  - id: build
    title: Build
    items:
      - {id: container, title: Container image, why: x, evidence: {files: [Dockerfile]}}
  - id: ops
    title: Operations
    items:
      - {id: runbook, title: Runbook, why: x, evidence: {files: ["docs/runbooks/"]}}
      - {id: oncall, title: On-call rota, why: x, manual: true, ttl: 90d}
"""
T0 = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)  # a Monday
CHECKLISTS = [
    ResolvedChecklist(parse_template(TEMPLATE, filename="svc.yaml"), {}, {}, ttl_days={"oncall": 90})
]
RUNBOOK = ("svc", "runbook")
OWNERS = {RUNBOOK: ("@octo-org/sre",), ("svc", "container"): ("@dave",)}


def states(**items: ItemState) -> dict[str, dict[str, ItemState]]:
    return {"svc": dict(items)}


def weekly(open_states, weeks: int, *, owners=OWNERS) -> list[list[Reminder]]:
    """Run `weeks` weekly summaries, recording each one's mentions as the job does."""
    said: dict[tuple[str, str, str], list[datetime]] = {}
    out = []
    for week in range(weeks):
        now = T0 + timedelta(weeks=week)
        found = owners_to_act(owners, open_states, said, now)
        for r in found:
            for key in r.items:
                said.setdefault((r.owner, *key), []).append(now)
        out.append(found)
    return out


def test_an_owner_is_reminded_three_weeks_running_then_every_four_weeks() -> None:
    runs = weekly(states(), 12)
    sre = [w for w, found in enumerate(runs) if any(r.owner == "@octo-org/sre" for r in found)]
    assert sre == [0, 1, 2, 6, 10]


def test_each_owner_is_mentioned_once_with_all_their_open_items() -> None:
    both = {RUNBOOK: ("@alice",), ("svc", "container"): ("@alice", "@dave")}
    [first] = weekly(states(), 1, owners=both)
    assert first == [
        Reminder("@alice", (RUNBOOK, ("svc", "container"))),
        Reminder("@dave", (("svc", "container"),)),
    ]


def test_no_reminder_after_the_item_is_done_or_skipped() -> None:
    done = states(
        runbook=ItemState("svc", "runbook", Status.AUTO, evidence="found", changed_at=T0),
        container=ItemState(
            "svc", "container", Status.SKIPPED, actor="maria", reason="no image", changed_at=T0
        ),
    )
    assert weekly(done, 3) == [[], [], []]


def test_a_second_summary_in_the_same_week_mentions_nobody_again() -> None:
    said = {("@octo-org/sre", *RUNBOOK): [T0]}
    assert owners_to_act({RUNBOOK: ("@octo-org/sre",)}, states(), said, T0 + timedelta(days=2)) == []


def test_an_item_that_changed_since_starts_a_new_spell_of_weekly_reminders() -> None:
    said = {("@octo-org/sre", *RUNBOOK): [T0, T0 + timedelta(weeks=1), T0 + timedelta(weeks=2)]}
    regressed = states(runbook=ItemState("svc", "runbook", Status.OPEN, changed_at=T0 + timedelta(weeks=3)))
    now = T0 + timedelta(weeks=4)
    assert owners_to_act({RUNBOOK: ("@octo-org/sre",)}, states(), said, now) == []  # backing off
    assert owners_to_act({RUNBOOK: ("@octo-org/sre",)}, regressed, said, now) == [
        Reminder("@octo-org/sre", (RUNBOOK,))
    ]


def test_attestations_due_within_a_week_name_who_ticked() -> None:
    ticked = states(oncall=ItemState("svc", "oncall", Status.DONE, actor="carol", changed_at=T0))
    assert attestations_due(CHECKLISTS, ticked, T0 + timedelta(days=80)) == []
    [(key, title, actor, expires)] = attestations_due(CHECKLISTS, ticked, T0 + timedelta(days=85))
    assert (key, title, actor, expires) == (
        ("svc", "oncall"),
        "On-call rota",
        "carol",
        T0 + timedelta(days=90),
    )


def test_sections_not_moved_for_four_weeks_are_listed_until_finished() -> None:
    moved = states(runbook=ItemState("svc", "runbook", Status.OPEN, actor="dave", changed_at=T0))
    now = T0 + timedelta(weeks=4)
    assert stale_sections(CHECKLISTS, moved, now - timedelta(days=1), T0) == []
    stale = stale_sections(CHECKLISTS, moved, now, T0)
    assert stale == [
        ("section:svc:build", "Service basics · Build", None),
        ("section:svc:ops", "Service basics · Operations", T0),
    ]
    finished = states(
        container=ItemState("svc", "container", Status.AUTO, changed_at=T0 - timedelta(weeks=9))
    )
    assert [k for k, _, _ in stale_sections(CHECKLISTS, finished, now, T0)] == ["section:svc:ops"]


def test_the_summary_parts_mention_owners_once_and_link_stale_sections() -> None:
    lines = render(
        titles={RUNBOOK: "Runbook"},
        numbers={"section:svc:ops": 12},
        attestations=[(("svc", "oncall"), "On-call rota", "carol", T0)],
        stale=[("section:svc:ops", "Service basics · Operations", None)],
        reminders=[Reminder("@octo-org/sre", (RUNBOOK,))],
    )
    text = "\n".join(lines)
    assert "- 🔁 **On-call rota** `svc/oncall`: ticked by @carol; it reopens on 2026-09-07" in text
    assert "- 💤 Service basics · Operations #12: no item changed since tracking began" in text
    assert text.count("@octo-org/sre") == 1
    assert "- @octo-org/sre: **Runbook** `svc/runbook`" in text
