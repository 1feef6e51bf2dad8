"""Decide each item's next state from evidence, people's decisions, config skips and policy.

People outrank evidence: once a person has ticked, unticked or skipped an item, evidence never
changes it again; only another person (or the config file, which people also wrote) does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.core.rules import Verdict
from bot.core.state import ItemState, RegressionPolicy, Status

CONFIG_ACTOR = ".readiness.yml"
APPLIES_ACTOR = "applies_when"  # the template rules the item out for this repository
UNKNOWN_PERSON = "?"  # a tick seen in the issue body whose author the platform did not tell us


@dataclass(frozen=True, slots=True)
class Regression:
    """Automatic evidence for a ticked item disappeared (reported under the `reopen` policy)."""

    checklist: str
    item_id: str
    lost_evidence: str | None


@dataclass(frozen=True, slots=True)
class Expired:
    """A person's tick of a re-attested (`ttl`) item ran out: the item is open again."""

    checklist: str
    item_id: str
    ticked_by: str | None
    ticked_at: datetime | None
    ttl_days: int


@dataclass(frozen=True, slots=True)
class Decisions:
    states: dict[str, ItemState]  # item id -> new state (every item of the checklist)
    changed: tuple[str, ...]  # item ids whose state changed
    regressions: tuple[Regression, ...]
    expired: tuple[Expired, ...] = ()


_EXEMPT = (Status.SKIPPED, Status.PENDING)


def ended(state: ItemState, now: datetime) -> ItemState:
    """An exemption past its last day: open again, and the item says whose skip ended and why."""
    who = "`.readiness.yml`" if state.actor == CONFIG_ACTOR else f"@{state.actor}" if state.actor else "?"
    what = "skip" if state.status is Status.SKIPPED else "pending skip"
    note = f"the {what} by {who} ended after {state.until}: {state.reason}"
    return replace(
        state,
        status=Status.OPEN,
        reason=note,
        actor=None,
        until=None,
        approved_by=None,
        approvers=(),
        changed_at=now,
    )


def human_decided(state: ItemState) -> bool:
    """True when a person (not evidence, not config, not the template) set this state."""
    return state.actor is not None and state.actor not in (CONFIG_ACTOR, APPLIES_ACTOR)


def decide(
    *,
    checklist: str,
    item_ids: list[str],
    automatic: set[str],
    verdicts: Mapping[str, Verdict],
    current: Mapping[str, ItemState],
    skips: Mapping[str, str],
    policy: RegressionPolicy,
    now: datetime,
    skip_until: Mapping[str, date] | None = None,
    ttl_days: Mapping[str, int] | None = None,
    not_applicable: Mapping[str, str] | None = None,
) -> Decisions:
    """The next state of every item of one checklist. Pure.

    A skip with an end (`until`, from a comment or the config file) holds through that day; the
    day after, the item is tracked again and evidence may tick it.

    A person's tick of an item with a `ttl` lasts that many days; then the item reopens. It is the
    one case where a person's decision is undone automatically, and only where `ttl` says so.

    An item the template's `applies_when` rules out (`not_applicable`: id -> why) is skipped
    like a config skip, whatever a person decided before: it no longer asks anything of the
    repository. When it applies again, it is tracked from evidence again."""
    today = now.date()
    ends = skip_until or {}
    ttls = ttl_days or {}
    expired: list[Expired] = []
    states: dict[str, ItemState] = {}
    changed: list[str] = []
    regressions: list[Regression] = []
    for item_id in item_ids:
        old = current.get(item_id) or ItemState(checklist=checklist, item_id=item_id)
        reason = skips.get(item_id)
        if reason is not None and item_id in ends and ends[item_id] < today:
            reason = None  # the config file's exemption has ended
        if old.status in _EXEMPT and old.until is not None and old.until < today:
            old = ended(old, now)
        ttl = ttls.get(item_id)
        if (
            ttl
            and old.status is Status.DONE
            and human_decided(old)
            and old.changed_at is not None
            and now - old.changed_at >= timedelta(days=ttl)
        ):
            expired.append(Expired(checklist, item_id, old.actor, old.changed_at, ttl))
            old = replace(old, status=Status.OPEN, reason=None, actor=None)
        ruled_out = (not_applicable or {}).get(item_id) if reason is None else None
        new = _next(old, item_id in automatic, verdicts.get(item_id), reason, policy, ruled_out)
        if reason is not None:
            new = replace(new, until=ends.get(item_id))
        if new.status is Status.OPEN and old.status is Status.AUTO and policy is RegressionPolicy.REOPEN:
            regressions.append(Regression(checklist, item_id, old.evidence))
        if _differs(old, new):
            new = replace(new, changed_at=now)
            changed.append(item_id)
        states[item_id] = new
    return Decisions(states, tuple(changed), tuple(regressions), tuple(expired))


def _next(
    old: ItemState,
    automatic: bool,
    verdict: Verdict | None,
    skip_reason: str | None,
    policy: RegressionPolicy,
    not_applicable: str | None = None,
) -> ItemState:
    if skip_reason is not None:
        return replace(old, status=Status.SKIPPED, reason=skip_reason, actor=CONFIG_ACTOR, evidence=None)
    if not_applicable is not None:
        return replace(
            old, status=Status.SKIPPED, reason=not_applicable, actor=APPLIES_ACTOR, evidence=None, until=None
        )
    if old.actor in (CONFIG_ACTOR, APPLIES_ACTOR):  # no longer skipped nor ruled out: back to evidence
        old = replace(old, status=Status.OPEN, reason=None, actor=None, until=None)
    if human_decided(old) or not automatic or verdict is None:
        return old
    evidence = "; ".join(verdict.evidence) or None
    if verdict.passed:
        return replace(old, status=Status.AUTO, evidence=evidence)
    if old.status is Status.AUTO and policy is not RegressionPolicy.KEEP:
        return replace(old, status=Status.OPEN, evidence=None)
    return old


def _differs(a: ItemState, b: ItemState) -> bool:
    return a.key() != b.key()


def shown_checked(state: ItemState) -> bool:
    """Whether the issue body shows this item's box as checked (skipped items are, struck through)."""
    return state.status in (Status.AUTO, Status.DONE, Status.SKIPPED)


def apply_human_ticks(
    *,
    current: Mapping[tuple[str, str], ItemState],
    ticks: Mapping[tuple[str, str], bool],
    actor: str,
    now: datetime,
) -> dict[tuple[str, str], ItemState]:
    """States after a person ticked (True) or unticked (False) boxes; keyed (checklist, item).

    A box the bot already saw changed in the issue body (recorded as UNKNOWN_PERSON, because the
    webhook saying who did it had not arrived yet) gets its author when that webhook arrives."""
    out: dict[tuple[str, str], ItemState] = {}
    for (checklist, item_id), checked in ticks.items():
        old = current.get((checklist, item_id)) or ItemState(checklist=checklist, item_id=item_id)
        if checked == shown_checked(old):
            if old.actor == UNKNOWN_PERSON and actor != UNKNOWN_PERSON:
                out[(checklist, item_id)] = replace(old, actor=actor)
            continue
        status = Status.DONE if checked else Status.OPEN
        out[(checklist, item_id)] = ItemState(
            checklist=checklist, item_id=item_id, status=status, actor=actor, changed_at=now
        )
    return out
