"""The sync's planning functions as pure functions: observed state and `now` in, actions out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import tracker
from bot.core.actions import (
    Create,
    EnsureLabels,
    LinkChild,
    PostComment,
    React,
    ReportCheck,
    Retire,
    Update,
    describe,
)
from bot.core.decide import Expired, Regression
from bot.core.plan_sync import (
    SECTION_GONE,
    Sections,
    plan_config_deleted,
    plan_config_invalid,
    plan_config_valid,
    plan_epic,
    plan_evidence_comments,
    plan_links,
    plan_sections,
    plan_states,
    ticks_to_keep,
)
from bot.core.reconcile import Recorded
from bot.core.resolve import ResolvedChecklist
from bot.core.rules import Verdict
from bot.core.state import ItemState, RegressionPolicy, Status
from bot.core.templates import parse_template

TEMPLATE = """
id: svc
title: Service basics
version: 1
sections:
  - id: build
    title: Build
    items:
      - {id: container, title: "Container {image}", why: x, evidence: {files: [Dockerfile]}}
      - {id: sbom, title: SBOM published, why: x, manual: true}
  - id: ops
    title: Operations
    items:
      - {id: runbook, title: Runbook, why: x, evidence: {files: ["docs/runbooks/"]}}
"""
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SVC = ResolvedChecklist(parse_template(TEMPLATE, filename="svc.yaml"), {}, {})
SECTIONS = Sections((SVC,), labels=("readiness",))
BUILD, OPS = "section:svc:build", "section:svc:ops"


def recorded_as(desired: list[tracker.DesiredIssue], numbers: dict[str, int]) -> dict[str, Recorded]:
    return {d.key: Recorded(d.key, numbers[d.key], d.state, d.digest) for d in desired}


def states(**status: Status) -> dict[str, dict[str, ItemState]]:
    """Every item's state (as `plan_states` gives them): open unless named."""
    items = ("container", "sbom", "runbook")
    return {"svc": {i: ItemState("svc", i, status.get(i, Status.OPEN)) for i in items}}


OPEN = states()


def test_onboarding_ensures_labels_then_creates_every_section() -> None:
    actions = plan_sections(SECTIONS, OPEN, {})
    assert isinstance(actions[0], EnsureLabels) and actions[0].labels == ("readiness",)
    assert [a.issue.key for a in actions[1:] if isinstance(a, Create)] == [BUILD, OPS]
    assert len(actions) == 3


def test_the_epic_is_a_second_phase_that_links_the_new_section_numbers() -> None:
    rec = recorded_as(SECTIONS.desired(OPEN), {BUILD: 11, OPS: 12})
    (labels, create) = plan_epic(repo="o/r", sections=SECTIONS, states=OPEN, recorded=rec)
    assert isinstance(labels, EnsureLabels)
    assert isinstance(create, Create) and create.issue.key == tracker.EPIC_KEY
    assert "#11" in create.issue.body and "#12" in create.issue.body


def test_nothing_changed_plans_nothing() -> None:
    rec = recorded_as(SECTIONS.desired(OPEN), {BUILD: 11, OPS: 12})
    assert plan_sections(SECTIONS, OPEN, rec) == []


def test_a_changed_item_updates_only_its_section_and_a_complete_section_closes() -> None:
    rec = recorded_as(SECTIONS.desired(OPEN), {BUILD: 11, OPS: 12})
    (update,) = plan_sections(SECTIONS, states(runbook=Status.AUTO), rec)
    assert isinstance(update, Update) and update.number == 12 and update.issue.state == "closed"


def test_a_section_no_longer_configured_is_retired_with_a_reason() -> None:
    rec = recorded_as(SECTIONS.desired(OPEN), {BUILD: 11, OPS: 12})
    rec["section:old:gone"] = Recorded("section:old:gone", 9, "open", "x")
    assert plan_sections(SECTIONS, OPEN, rec) == [Retire("section:old:gone", 9, SECTION_GONE)]


def test_states_follow_evidence_and_report_a_regression() -> None:
    before = states(container=Status.AUTO)
    verdicts = [
        {
            "container": Verdict(False, ()),
            "runbook": Verdict(True, ("docs/runbooks/a.md",)),
        }
    ]
    d = plan_states([SVC], verdicts, before, policy=RegressionPolicy.REOPEN, now=NOW)
    assert d.states["svc"]["container"].status is Status.OPEN
    assert d.states["svc"]["runbook"].status is Status.AUTO
    assert d.changed == 2
    assert [r.item_id for r in d.regressions] == ["container"]


def test_an_invalid_config_fails_the_commit_and_opens_the_error_issue_once() -> None:
    kw = {
        "file": ".readiness.yml",
        "line": 3,
        "message": "bad key",
        "error": "bad key at line 3",
        "commit": "c1",
        "nonces": tracker.Nonces("o/r", "salt"),
    }
    check, create = plan_config_invalid(**kw, recorded={})
    assert isinstance(check, ReportCheck) and check.report.conclusion == "failure"
    assert check.report.annotations[0].line == 3
    assert isinstance(create, Create) and create.issue.key == tracker.CONFIG_ERROR_KEY
    rec = {create.issue.key: Recorded(create.issue.key, 5, "open", create.issue.digest)}
    assert plan_config_invalid(**kw, recorded=rec) == []  # the same error: said once already


def test_a_fixed_config_passes_the_commit_and_closes_the_open_error_issue() -> None:
    rec = {tracker.CONFIG_ERROR_KEY: Recorded(tracker.CONFIG_ERROR_KEY, 5, "open", "d")}
    check, retire = plan_config_valid(commit="abcdef123", recorded=rec)
    assert isinstance(check, ReportCheck) and check.report.conclusion == "success"
    assert retire == Retire(tracker.CONFIG_ERROR_KEY, 5, "Fixed in abcdef1: closing.")
    closed = {tracker.CONFIG_ERROR_KEY: Recorded(tracker.CONFIG_ERROR_KEY, 5, "closed", None)}
    assert plan_config_valid(commit="abcdef123", recorded=closed) == []


def test_a_deleted_config_retires_the_epic_only() -> None:
    rec = {
        tracker.EPIC_KEY: Recorded(tracker.EPIC_KEY, 1, "open", "d"),
        BUILD: Recorded(BUILD, 11, "open", "d"),
    }
    (retire,) = plan_config_deleted(recorded=rec)
    assert isinstance(retire, Retire) and retire.number == 1
    assert plan_config_deleted(recorded={}) == []


def test_links_only_numbered_sections_not_yet_linked_and_only_with_an_epic() -> None:
    numbered = {BUILD: True, OPS: False, tracker.EPIC_KEY: False}
    assert plan_links([BUILD, OPS, "section:x:y"], numbered=numbered, has_epic=True) == [
        LinkChild(tracker.EPIC_KEY, OPS)
    ]
    assert plan_links([OPS], numbered=numbered, has_epic=False) == []


def test_regressions_and_expiries_are_one_comment_per_section_and_reason() -> None:
    comments = plan_evidence_comments(
        regressions=[Regression("svc", "container", "Dockerfile {x}"), Regression("svc", "runbook", None)],
        expired=[Expired("svc", "sbom", "alice", NOW - timedelta(days=90), 90)],
        checklists=[SVC],
        numbers={BUILD: 11},  # the ops section has no issue: nothing to comment on
    )
    assert [c.number for c in comments if isinstance(c, PostComment)] == [11, 11]
    lost, due = (c.body for c in comments if isinstance(c, PostComment))
    assert lost.startswith("Reopened because evidence went away:")
    assert "**Container {image}**: automatic evidence disappeared (was: Dockerfile {x})" in lost
    assert "Runbook" not in lost
    assert due.startswith("Re-attestation due")
    assert "ticked by @alice on 2026-08-25; it is re-attested every 90 days" in due


def test_owners_are_assignees_of_their_sections_beside_the_configured_ones() -> None:
    owned = Sections((SVC,), assignees=("lead", "carol"), owner_assignees={OPS: ("carol", "erin")})
    actions = plan_sections(owned, OPEN, {})
    by_key = {a.issue.key: a.issue.assignees for a in actions if isinstance(a, Create)}
    assert by_key == {BUILD: ("lead", "carol"), OPS: ("lead", "carol", "erin")}  # once each
    # a new owner later: the recorded section issue is updated to be assigned to them too
    numbers = {BUILD: 11, OPS: 12}
    recorded = recorded_as(SECTIONS.desired(OPEN), numbers)
    later = Sections((SVC,), labels=("readiness",), owner_assignees={BUILD: ("dave",)})
    [update] = [a for a in plan_sections(later, OPEN, recorded) if isinstance(a, Update)]
    assert (update.number, update.issue.assignees) == (11, ("dave",))


def test_in_the_single_layout_the_one_issue_is_assigned_to_every_sections_owners() -> None:
    single = Sections(
        (SVC,),
        assignees=("lead",),
        layout="single",
        owner_assignees={OPS: ("carol", "lead"), BUILD: ("dave",)},
    )
    [epic] = [
        a for a in plan_epic(repo="o/r", sections=single, states=OPEN, recorded={}) if isinstance(a, Create)
    ]
    assert epic.issue.assignees == ("lead", "dave", "carol")  # configured first, then sections in order
    many = Sections((SVC,), layout="single", owner_assignees={BUILD: tuple(f"u{i}" for i in range(12))})
    [big] = [
        a for a in plan_epic(repo="o/r", sections=many, states=OPEN, recorded={}) if isinstance(a, Create)
    ]
    assert len(big.issue.assignees) == 10  # GitHub assigns at most ten people to an issue


def test_owners_hear_only_of_their_own_items_regression_and_expiry() -> None:
    comments = plan_evidence_comments(
        regressions=[Regression("svc", "container", None), Regression("svc", "runbook", None)],
        expired=[Expired("svc", "sbom", "alice", NOW - timedelta(days=90), 90)],
        checklists=[SVC],
        numbers={BUILD: 11, OPS: 12},
        owners={("svc", "container"): ("@dave",), ("svc", "sbom"): ("@octo-org/sre", "@olga")},
    )
    bodies = {(c.number, c.body.split(":")[0]): c.body for c in comments if isinstance(c, PostComment)}
    assert (
        "**Container {image}**: automatic evidence disappeared · cc @dave"
        in bodies[(11, "Reopened because evidence went away")]
    )
    assert "cc" not in bodies[(12, "Reopened because evidence went away")]  # the runbook has no owner
    assert (
        "@octo-org/sre, @olga, please check it still holds"
        in bodies[(11, "Re-attestation due, so these items are open again")]
    )


def test_ticks_made_since_our_last_write_are_kept_as_a_persons_decision() -> None:
    before = SECTIONS.section("svc", "build", OPEN)
    n = SECTIONS.nonce(BUILD)
    ticked = before.body.replace(
        f"- [ ] <!-- readiness:item svc/sbom n={n} -->", f"- [x] <!-- readiness:item svc/sbom n={n} -->"
    )
    assert ticked != before.body
    kept = ticks_to_keep(last_written=before.body, current=ticked, states=OPEN, now=NOW)
    assert kept[("svc", "sbom")].status is Status.DONE
    assert kept[("svc", "sbom")].actor == tracker.UNKNOWN_PERSON
    assert ticks_to_keep(last_written=None, current=ticked, states=OPEN, now=NOW) == {}
    assert ticks_to_keep(last_written=before.body, current=before.body, states=OPEN, now=NOW) == {}


def test_our_own_edit_applied_despite_an_error_is_not_taken_for_a_persons_tick() -> None:
    """The platform applied the bot's edit but answered 502; the retry re-reads the issue and
    finds the bot's own ticks there, which must stay evidence, not become a person's."""
    before = SECTIONS.section("svc", "build", OPEN)
    auto = ItemState("svc", "container", Status.AUTO, evidence="Dockerfile")
    evidenced = {"svc": {**OPEN["svc"], "container": auto}}
    ours = SECTIONS.section("svc", "build", evidenced).body
    assert tracker.changed_boxes(tracker.parse_checkboxes(before.body), tracker.parse_checkboxes(ours))
    kept = ticks_to_keep(last_written=before.body, current=ours, states=evidenced, now=NOW, intended=ours)
    assert kept == {}
    # a person's tick of another item in the same edit window is still kept
    person = ItemState("svc", "sbom", Status.DONE, actor="x")
    both = SECTIONS.section("svc", "build", {"svc": {**evidenced["svc"], "sbom": person}}).body
    kept = ticks_to_keep(last_written=before.body, current=both, states=evidenced, now=NOW, intended=ours)
    assert set(kept) == {("svc", "sbom")}
    assert kept[("svc", "sbom")].actor == tracker.UNKNOWN_PERSON


def test_every_action_has_a_one_line_description() -> None:
    desired = SECTIONS.section("svc", "build", OPEN)
    actions = [
        Create(desired),
        Update(desired, 3),
        Retire(BUILD, 3, "why\nmore"),
        LinkChild(tracker.EPIC_KEY, BUILD),
        EnsureLabels(("a", "b")),
        PostComment(-2, "hello\nworld"),
        React(3, 7, "eyes"),
    ]
    lines = [describe(a) for a in actions]
    assert all("\n" not in line for line in lines)
    assert lines[0] == "create issue 'Readiness · Service basics: Build' with labels readiness"
    assert lines[5] == "comment on (new issue 2): hello"
    assert lines[2] == "close #3 (section:svc:build): why"
