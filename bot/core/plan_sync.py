"""Pure planning for one repository's sync: observed state and `now` in, item states + [Action] out.

Every decision `bot.sync` used to make between platform calls lives here: the item states, the
section issues and the epic wanted, which owned issues retire, the invalid-configuration issue
and its check, the links under the epic, and the comments on regressions and expiries. The
epic is a second phase (`plan_epic`): its table needs the section numbers phase one created.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core import tracker
from bot.core.actions import (
    Action,
    Annotation,
    CheckReport,
    Create,
    EnsureLabels,
    LinkChild,
    PostComment,
    ReportCheck,
)
from bot.core.applicability import Facts
from bot.core.decide import Expired, Regression, apply_human_ticks, decide
from bot.core.owners import MAX_ASSIGNEES, mention
from bot.core.reconcile import Recorded, plan
from bot.core.resolve import ResolvedChecklist
from bot.core.rules import Verdict
from bot.core.settings import CONFIG_FILE
from bot.core.state import ItemState, RegressionPolicy
from bot.core.templates import not_applicable

CHECK_NAME = "readiness / configuration"
SECTION_GONE = "This section is no longer part of the configured checklists: closing it."
IN_ONE_ISSUE = (
    "The checklist now lives in one issue (`issues.layout: single`): closing this section. "
    "Item states are kept; switching back to `sections` reopens it."
)
SINGLE = "single"
States = dict[str, dict[str, ItemState]]  # checklist -> item id -> state


# ------------------------------------------------------------------------------- item states


@dataclass(frozen=True, slots=True)
class Decided:
    states: States
    changed: int
    regressions: tuple[Regression, ...] = ()
    expired: tuple[Expired, ...] = ()


def plan_states(
    checklists: Sequence[ResolvedChecklist],
    verdicts: Sequence[Mapping[str, Verdict]],
    before: Mapping[str, Mapping[str, ItemState]],
    *,
    policy: RegressionPolicy,
    now: datetime,
    facts: Facts | None = None,
) -> Decided:
    """Every chosen checklist's next item states from this commit's verdicts; with `facts`, items
    whose `applies_when` does not hold are set aside as not applicable."""
    states: States = {}
    regressions: list[Regression] = []
    expired: list[Expired] = []
    changed = 0
    for c, v in zip(checklists, verdicts, strict=True):
        items = [i for _, i in c.template.items()]
        d = decide(
            checklist=c.template.id,
            item_ids=[i.id for i in items],
            automatic={i.id for i in items if i.rule is not None or i.id in c.extra_rules},
            verdicts=v,
            current=before.get(c.template.id, {}),
            skips=c.skips,
            skip_until=c.skip_until,
            ttl_days=c.ttl_days,
            not_applicable=not_applicable(c.template, facts) if facts is not None else None,
            policy=policy,
            now=now,
        )
        states[c.template.id] = d.states
        regressions += d.regressions
        expired += d.expired
        changed += len(d.changed)
    return Decided(states, changed, tuple(regressions), tuple(expired))


def ticks_to_keep(
    *,
    last_written: str | None,
    current: str,
    states: Mapping[str, Mapping[str, ItemState]],
    now: datetime,
    intended: str | None = None,
) -> dict[tuple[str, str], ItemState]:
    """Ticks a person made in an issue since the bot last wrote it (a webhook we have not seen
    yet): their new states, keyed (checklist, item). Empty when nothing changed by hand.

    A box that already shows what the bot is about to write (`intended`) is not counted: it is
    most likely our own edit that the platform applied while we saw an error (a 502, a timeout),
    and taking it for a person's would turn an evidence tick into a manual one that no longer
    unticks. Were it a person's, the state is the same and their webhook still records them."""
    if last_written is None:
        return {}
    ticks = tracker.changed_boxes(tracker.parse_checkboxes(last_written), tracker.parse_checkboxes(current))
    if intended is not None:
        ours = tracker.parse_checkboxes(intended)
        ticks = {k: v for k, v in ticks.items() if ours.get(k) != v}
    if not ticks:
        return {}
    flat = {(c, i): st for c, cs in states.items() for i, st in cs.items()}
    return apply_human_ticks(current=flat, ticks=ticks, actor=tracker.UNKNOWN_PERSON, now=now)


# ---------------------------------------------------------------------------- section issues


@dataclass(frozen=True, slots=True)
class Sections:
    """What renders the section issues (a pure value apply can re-render with kept ticks)."""

    checklists: tuple[ResolvedChecklist, ...]
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    layout: str = "sections"  # or "single": everything in the epic, a heading per section
    repo: str = ""
    owner_assignees: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # section key -> logins
    nonces: tracker.Nonces | None = None  # None: derived from `repo` alone (tests, benches)
    _by_id: Mapping[str, ResolvedChecklist] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.template.id: c for c in self.checklists})

    @property
    def single(self) -> bool:
        return self.layout == SINGLE

    def nonce(self, key: str) -> str:
        """The issue's nonce: kept from its body, else derived (see `tracker.derive_nonce`)."""
        return (self.nonces or tracker.Nonces(self.repo))(key)

    def keys(self) -> list[str]:
        """The section issues wanted (none in the single layout)."""
        return [] if self.single else self._section_keys()

    def desired(self, states: Mapping[str, Mapping[str, ItemState]]) -> list[tracker.DesiredIssue]:
        if self.single:
            return []
        return [
            self.section(c.template.id, sec.id, states)
            for c in self.checklists
            for sec in c.template.sections
        ]

    def for_key(self, key: str, states: Mapping[str, Mapping[str, ItemState]]) -> tracker.DesiredIssue | None:
        """The issue with item lines for an owned key (a wanted section, or the epic in the single
        layout), or None when that key shows no items."""
        if key == tracker.EPIC_KEY and self.single:
            return self.single_issue(states)
        if self.single or not key.startswith(tracker.SECTION_PREFIX):
            return None
        checklist, section = key.split(":", 2)[1:]
        c = self._by_id.get(checklist)
        if c is None or all(s.id != section for s in c.template.sections):
            return None
        return self.section(checklist, section, states)

    def _manual(self, c: ResolvedChecklist) -> set[str]:
        return {i.id for _, i in c.template.items() if i.rule is None and i.id not in c.extra_rules}

    def single_issue(self, states: Mapping[str, Mapping[str, ItemState]]) -> tracker.DesiredIssue:
        """`issues.layout: single`: the epic with every item, a heading per section."""
        last = max(
            (s.changed_at for cs in states.values() for s in cs.values() if s.changed_at), default=None
        )
        nonce = self.nonce(tracker.EPIC_KEY)
        body = tracker.render_single(
            repo=self.repo,
            checklists=[(c.template, self._manual(c)) for c in self.checklists],
            states=states,
            last_change=last,
            nonce=nonce,
        )
        owners = [login for key in self._section_keys() for login in self.owner_assignees.get(key, ())]
        assignees = tuple(dict.fromkeys((*self.assignees, *owners)))[:MAX_ASSIGNEES]  # every section's
        return tracker.DesiredIssue(
            tracker.EPIC_KEY, tracker.epic_title(self.repo), body, "open", self.labels, assignees, nonce
        )

    def _section_keys(self) -> list[str]:
        return [
            tracker.section_key(c.template.id, s.id) for c in self.checklists for s in c.template.sections
        ]

    def section(
        self, checklist: str, section: str, states: Mapping[str, Mapping[str, ItemState]]
    ) -> tracker.DesiredIssue:
        c = self._by_id[checklist]
        t = c.template
        sec = next(s for s in t.sections if s.id == section)
        manual = self._manual(c)
        st = states.get(t.id, {})
        done = bool(sec.items) and tracker.progress_of(st[i.id] for i in sec.items if i.id in st).complete
        key = tracker.section_key(t.id, sec.id)
        nonce = self.nonce(key)
        return tracker.DesiredIssue(
            key,
            tracker.section_title(t, sec),
            tracker.render_section(t, sec, st, manual=manual, nonce=nonce),
            "closed" if done else "open",
            self.labels,
            tuple(dict.fromkeys(self.assignees + self.owner_assignees.get(key, ()))),  # and its owners
            nonce,
        )


def _with_labels(actions: list[Action], labels: tuple[str, ...]) -> list[Action]:
    """Labels must exist before an issue is created with them (apply ensures them once a run)."""
    if labels and any(isinstance(a, Create) for a in actions):
        return [EnsureLabels(labels), *actions]
    return actions


def plan_sections(
    sections: Sections, states: Mapping[str, Mapping[str, ItemState]], recorded: Mapping[str, Recorded]
) -> list[Action]:
    """Phase one: create or edit the wanted section issues, retire the ones no longer wanted."""
    wanted = set(sections.keys())
    why = IN_ONE_ISSUE if sections.single else SECTION_GONE
    retire = {k: why for k in recorded if k.startswith(tracker.SECTION_PREFIX) and k not in wanted}
    return _with_labels(list(plan(sections.desired(states), recorded, retire=retire)), sections.labels)


def plan_epic(
    *,
    repo: str,
    sections: Sections,
    states: Mapping[str, Mapping[str, ItemState]],
    recorded: Mapping[str, Recorded],
) -> list[Action]:
    """Phase two: the epic, whose table links the section numbers phase one created (in the
    single layout, the one issue with every item)."""
    if sections.single:
        return _with_labels(list(plan([sections.single_issue(states)], recorded)), sections.labels)
    numbers = {k: r.number for k, r in recorded.items() if r.number is not None}
    last = max((s.changed_at for cs in states.values() for s in cs.values() if s.changed_at), default=None)
    nonce = sections.nonce(tracker.EPIC_KEY)
    epic = tracker.DesiredIssue(
        tracker.EPIC_KEY,
        tracker.epic_title(repo),
        tracker.render_epic(
            repo=repo,
            templates=[c.template for c in sections.checklists],
            states=states,
            numbers=numbers,
            last_change=last,
            nonce=nonce,
        ),
        "open",
        sections.labels,
        sections.assignees,
        nonce,
    )
    return _with_labels(list(plan([epic], recorded)), sections.labels)


def plan_links(wanted: Iterable[str], *, numbered: Mapping[str, bool], has_epic: bool) -> list[Action]:
    """Phase three: link section issues not yet linked under the epic. `numbered` maps each owned
    key with an issue number to whether it is already linked."""
    if not has_epic:
        return []
    return [LinkChild(tracker.EPIC_KEY, k) for k in wanted if k in numbered and not numbered[k]]


# -------------------------------------------------------------------------------- configuration


def plan_config_invalid(
    *,
    file: str,
    line: int | None,
    message: str,
    error: str,
    commit: str,
    recorded: Mapping[str, Recorded],
    nonces: tracker.Nonces,
) -> list[Action]:
    """A new or different configuration error: a failing check on the commit and the error issue."""
    nonce = nonces(tracker.CONFIG_ERROR_KEY)
    body = tracker.render_config_error(filename=file, error=error, nonce=nonce)
    desired = tracker.DesiredIssue(
        tracker.CONFIG_ERROR_KEY, tracker.CONFIG_ERROR_TITLE, body, "open", nonce=nonce
    )
    issue = list(plan([desired], recorded))
    if not issue:
        return []  # the same error as last time: said once already
    check = CheckReport(
        name=CHECK_NAME,
        commit=commit,
        conclusion="failure",
        title=f"{file} is invalid",
        summary=error,
        annotations=(Annotation(file, line or 1, message),),
    )
    return [ReportCheck(check), *issue]


def plan_config_valid(*, commit: str, recorded: Mapping[str, Recorded]) -> list[Action]:
    """The configuration is valid again: a passing check, and the open error issue closed."""
    rec = recorded.get(tracker.CONFIG_ERROR_KEY)
    if rec is None or rec.state == "closed" or rec.number is None:
        return []
    check = CheckReport(
        CHECK_NAME, commit, "success", f"{CONFIG_FILE} is valid", "The checklist is tracked again."
    )
    retire = plan([], recorded, retire={tracker.CONFIG_ERROR_KEY: f"Fixed in {commit[:7]}: closing."})
    return [ReportCheck(check), *retire]


def plan_config_deleted(*, recorded: Mapping[str, Recorded]) -> list[Action]:
    msg = (
        f"`{CONFIG_FILE}` was removed from the default branch, so this checklist is no longer tracked. "
        "Item states are kept: restoring the file restores the checklist."
    )
    return list(plan([], recorded, retire={tracker.EPIC_KEY: msg}))


# ------------------------------------------------------------------------------------ comments

REOPENED = "Reopened because evidence went away:"
REATTEST = "Re-attestation due, so these items are open again:"


def plan_evidence_comments(
    *,
    regressions: Iterable[Regression],
    expired: Iterable[Expired],
    checklists: Sequence[ResolvedChecklist],
    numbers: Mapping[str, int],
    owners: Mapping[tuple[str, str], tuple[str, ...]] | None = None,
) -> list[Action]:
    """One comment per section issue and reason: evidence that went away (`reopen` policy), and
    re-attested items whose ticks ran out (naming who ticked them). Sections with no issue are
    skipped. An item's `owners` are cc'd on its regression and asked to confirm its expired tick:
    owners hear of their own items only."""
    owned = owners or {}
    titles = {(c.template.id, i.id): (sec.id, i.title) for c in checklists for sec, i in c.template.items()}

    def grouped(found: Iterable[tuple[str, str, str]], heading: str) -> list[Action]:
        by_number: dict[int, list[str]] = {}
        for checklist, item_id, text in found:
            sec_id, title = titles[(checklist, item_id)]
            number = numbers.get(tracker.section_key(checklist, sec_id))
            if number is not None:
                by_number.setdefault(number, []).append(text.format(title=title))
        return [PostComment(n, f"{heading}\n\n" + "\n".join(lines)) for n, lines in by_number.items()]

    def lost(r: Regression) -> tuple[str, str, str]:
        what = f" (was: {r.lost_evidence})" if r.lost_evidence else ""
        names = owned.get((r.checklist, r.item_id))
        cc = f" · cc {mention(names)}" if names else ""
        return r.checklist, r.item_id, "- **{title}**: automatic evidence disappeared" + _braces(what + cc)

    def due(e: Expired) -> tuple[str, str, str]:
        who = f"@{e.ticked_by}" if e.ticked_by and e.ticked_by != tracker.UNKNOWN_PERSON else "a person"
        when = f" on {e.ticked_at:%Y-%m-%d}" if e.ticked_at else ""
        names = owned.get((e.checklist, e.item_id))
        ask = f"{mention(names)}, please" if names else "Please"
        text = (
            f"`{e.checklist}/{e.item_id}`: ticked by {who}{when}; it is re-attested every {e.ttl_days} "
            f"days. {ask} check it still holds and tick it again."
        )
        return e.checklist, e.item_id, "- **{title}** " + _braces(text)

    return grouped(map(lost, regressions), REOPENED) + grouped(map(due, expired), REATTEST)


def _braces(text: str) -> str:
    """Repository text kept literal through `str.format`."""
    return text.replace("{", "{{").replace("}", "}}")
