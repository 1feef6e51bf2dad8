"""Item state decisions: evidence ticks and unticks, people outrank evidence, config skips."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.decide import CONFIG_ACTOR, UNKNOWN_PERSON, apply_human_ticks, decide
from bot.core.rules import Verdict
from bot.core.state import ItemState, RegressionPolicy, Status

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _decide(verdicts, current=None, skips=None, policy=RegressionPolicy.REOPEN, items=("a", "b")):
    return decide(
        checklist="cl",
        item_ids=list(items),
        automatic={"a"},
        verdicts=verdicts,
        current=current or {},
        skips=skips or {},
        policy=policy,
        now=NOW,
    )


def test_evidence_ticks_an_open_item_and_records_what_was_found():
    d = _decide({"a": Verdict(True, ("found `Dockerfile`",))})
    assert d.states["a"].status is Status.AUTO
    assert d.states["a"].evidence == "found `Dockerfile`"
    assert d.states["a"].changed_at == NOW
    assert d.changed == ("a",)
    assert d.states["b"].status is Status.OPEN  # manual item untouched


def test_unchanged_evidence_is_not_a_change():
    cur = {"a": ItemState("cl", "a", Status.AUTO, evidence="found `Dockerfile`")}
    d = _decide({"a": Verdict(True, ("found `Dockerfile`",))}, current=cur)
    assert d.changed == ()


def test_lost_evidence_follows_the_policy():
    cur = {"a": ItemState("cl", "a", Status.AUTO, evidence="found `Dockerfile`")}
    gone = {"a": Verdict(False, ("no file matches `Dockerfile`",))}
    reopen = _decide(gone, current=cur, policy=RegressionPolicy.REOPEN)
    assert reopen.states["a"].status is Status.OPEN
    assert [r.lost_evidence for r in reopen.regressions] == ["found `Dockerfile`"]
    untick = _decide(gone, current=cur, policy=RegressionPolicy.UNTICK)
    assert untick.states["a"].status is Status.OPEN and untick.regressions == ()
    keep = _decide(gone, current=cur, policy=RegressionPolicy.KEEP)
    assert keep.states["a"].status is Status.AUTO and keep.changed == ()


def test_a_persons_untick_is_never_reversed_by_evidence():
    cur = {"a": ItemState("cl", "a", Status.OPEN, actor="alice")}
    d = _decide({"a": Verdict(True, ("found `Dockerfile`",))}, current=cur)
    assert d.states["a"].status is Status.OPEN and d.states["a"].actor == "alice"
    assert d.changed == ()


def test_a_persons_tick_survives_missing_evidence():
    cur = {"a": ItemState("cl", "a", Status.DONE, actor="alice")}
    d = _decide({"a": Verdict(False, ())}, current=cur)
    assert d.states["a"].status is Status.DONE


def test_config_skip_applies_and_lifting_it_returns_to_evidence():
    d = _decide({"a": Verdict(True, ("x",))}, skips={"a": "no traffic"})
    assert d.states["a"].status is Status.SKIPPED
    assert d.states["a"].reason == "no traffic" and d.states["a"].actor == CONFIG_ACTOR
    lifted = _decide({"a": Verdict(True, ("x",))}, current=d.states)
    assert lifted.states["a"].status is Status.AUTO and lifted.states["a"].actor is None


def test_human_ticks_only_record_real_changes():
    cur = {("cl", "a"): ItemState("cl", "a", Status.AUTO, evidence="e"), ("cl", "b"): ItemState("cl", "b")}
    out = apply_human_ticks(current=cur, ticks={("cl", "a"): True, ("cl", "b"): True}, actor="bob", now=NOW)
    assert list(out) == [("cl", "b")]
    assert out[("cl", "b")].status is Status.DONE and out[("cl", "b")].actor == "bob"
    out = apply_human_ticks(current=cur, ticks={("cl", "a"): False}, actor="bob", now=NOW)
    assert out[("cl", "a")].status is Status.OPEN and out[("cl", "a")].actor == "bob"


def test_a_late_tick_webhook_names_the_person_the_bot_saw_tick_anonymously():
    """Faults suite (seed 1): the bot re-read the issue and kept a tick before the `issues.edited`
    webhook arrived; when it arrives, the tick is credited to its author, not 'a person'."""
    earlier = datetime(2026, 1, 1, tzinfo=UTC)
    seen = ItemState("cl", "a", Status.DONE, actor=UNKNOWN_PERSON, changed_at=earlier)
    out = apply_human_ticks(current={("cl", "a"): seen}, ticks={("cl", "a"): True}, actor="octocat", now=NOW)
    assert out[("cl", "a")].actor == "octocat" and out[("cl", "a")].status is Status.DONE
    assert out[("cl", "a")].changed_at == earlier  # when it happened, not when we heard
    known = ItemState("cl", "a", Status.DONE, actor="alice", changed_at=earlier)
    assert (
        apply_human_ticks(current={("cl", "a"): known}, ticks={("cl", "a"): True}, actor="bob", now=NOW) == {}
    )
