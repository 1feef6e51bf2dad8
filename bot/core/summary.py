"""Progress reports from item states and their history: the weekly summary and `/readiness status`.

Pure: states, history rows and `now` come in, markdown goes out. Progress "a week ago" is not
stored anywhere; it is rewound from the current states through the week's history (each item's
first change since then says what it was), so a missed week never leaves a wrong baseline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core import tracker
from bot.core.decide import APPLIES_ACTOR, CONFIG_ACTOR
from bot.core.resolve import ResolvedChecklist
from bot.core.rules import CI, All, Any, Contains, Files, Not, Rule
from bot.core.state import ItemState, Status
from bot.core.tracker import Progress, bar

LIST_LIMIT = 10  # lines per list in a summary; the rest is counted
NEXT_LIMIT = 5


@dataclass(frozen=True, slots=True)
class Change:
    """One history row (bot.store.models.ItemEvent) as the core sees it."""

    checklist: str
    item_id: str
    from_status: Status | None
    to_status: Status
    actor: str | None
    evidence: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class SectionView:
    key: str  # tracker.section_key
    title: str  # "Checklist · Section"
    progress: Progress
    open_items: tuple[tuple[str, str, str | None], ...]  # (checklist/item, title, evidence hint)


def describe_rule(rule: Rule) -> str:
    """What evidence would tick an item, in words."""
    if isinstance(rule, Files):
        return "a file matching " + " or ".join(f"`{g}`" for g in rule.globs[:3])
    if isinstance(rule, Contains):
        where = " or ".join(f"`{g}`" for g in rule.globs[:3])
        return f"{where} containing `{rule.pattern}`"
    if isinstance(rule, CI):
        return "a passing CI check named " + " or ".join(f"`{g}`" for g in rule.globs[:3])
    if isinstance(rule, All):
        return " and ".join(describe_rule(r) for r in rule.rules)
    if isinstance(rule, Any):
        return " or ".join(describe_rule(r) for r in rule.rules)
    if isinstance(rule, Not):
        return f"no {describe_rule(rule.rule)}"
    return "evidence in the repository"


def explain_item(checklist: ResolvedChecklist, item_id: str, state: ItemState) -> str:
    """The answer to `/readiness why <item>`: what the item asks, what would tick it, and why it
    is, or is not, ticked now."""
    template = checklist.template
    item = next(i for _, i in template.items() if i.id == item_id)
    rule = checklist.extra_rules.get(item_id)
    rules = [r for r in (item.rule, rule) if r is not None]
    lines = [f"**{item.title}** `{template.id}/{item_id}`: {item.why}"]
    if rules:
        looked = " or ".join(describe_rule(r) for r in rules)
        lines.append(f"- It ticks itself when the default branch has {looked}.")
    else:
        lines.append("- It is manual: no evidence can show it, so a person ticks it when it is done.")
    who = _who(state.actor)
    if state.status is Status.AUTO:
        lines.append(f"- Ticked automatically: {state.evidence or 'the evidence was found'}.")
    elif state.status is Status.DONE:
        note = f" ({state.reason})" if state.reason else ""
        lines.append(f"- Ticked {who}{_on(state)}{note}; evidence no longer changes it.")
    elif state.status is Status.SKIPPED and state.actor == APPLIES_ACTOR:
        lines.append(f"- Not applicable ({state.reason}). It does not count toward progress.")
    elif state.status is Status.SKIPPED:
        when = "" if state.actor == CONFIG_ACTOR else _on(state)
        lines.append(
            f"- Not applicable: skipped {who}{when} ({state.reason}). It does not count toward progress."
        )
    elif state.status is Status.PENDING:
        approvers = ", ".join(state.approvers) or "an approver"
        lines.append(
            f"- A skip {who}{_on(state)} ({state.reason}) waits for {approvers} to approve it; "
            "until then it counts as open."
        )
    elif state.actor:
        lines.append(f"- Unticked {who}{_on(state)}; evidence does not tick it again until a person does.")
    elif rules:
        lines.append("- Not ticked: the last check found none of that.")
    else:
        lines.append("- Not ticked yet.")
    return "\n".join(lines)


def _on(state: ItemState) -> str:
    return f" on {state.changed_at:%Y-%m-%d}" if state.changed_at else ""


def _state(states: Mapping[str, Mapping[str, ItemState]], checklist: str, item: str) -> ItemState:
    return states.get(checklist, {}).get(item) or ItemState(checklist=checklist, item_id=item)


def sections(
    checklists: Sequence[ResolvedChecklist], states: Mapping[str, Mapping[str, ItemState]]
) -> list[SectionView]:
    """Every section with its progress and open items (automatic ones first, with their hint)."""
    out: list[SectionView] = []
    for c in checklists:
        t = c.template
        for sec in t.sections:
            st = [_state(states, t.id, i.id) for i in sec.items]
            opened = []
            for item, s in zip(sec.items, st, strict=True):
                if s.status is Status.OPEN:
                    rule = c.extra_rules.get(item.id) or item.rule
                    hint = describe_rule(rule) if rule is not None else None
                    opened.append((f"{t.id}/{item.id}", item.title, hint))
            opened.sort(key=lambda o: o[2] is None)  # stable: automatic first, template order kept
            out.append(
                SectionView(
                    tracker.section_key(t.id, sec.id),
                    f"{t.title} · {sec.title}",
                    tracker.progress_of(st),
                    tuple(opened),
                )
            )
    return out


def total(views: Iterable[SectionView]) -> Progress:
    return sum((v.progress for v in views), Progress(0, 0, 0))


def next_items(
    views: Sequence[SectionView], numbers: Mapping[str, int], limit: int = NEXT_LIMIT
) -> list[str]:
    """Open items from the sections closest to done: finishing a section closes its issue."""
    todo = sorted(
        (v for v in views if v.open_items),
        key=lambda v: (-v.progress.percent, len(v.open_items)),
    )
    lines: list[str] = []
    for v in todo:
        link = f" (#{numbers[v.key]})" if v.key in numbers else ""
        for item_id, title, hint in v.open_items:
            how = f": ticks itself once there is {hint}" if hint else ": tick it by hand when done"
            lines.append(f"- **{title}** `{item_id}` in {v.title}{link}{how}")
            if len(lines) >= limit:
                return lines
    return lines


def _who(actor: str | None) -> str:
    if actor == CONFIG_ACTOR:
        return "in `.readiness.yml`"
    if actor == APPLIES_ACTOR:
        return "by the template's `applies_when`"
    return "by a person" if actor in (None, tracker.UNKNOWN_PERSON) else f"by @{actor}"


def net_changes(changes: Iterable[Change], since: datetime) -> dict[tuple[str, str], tuple[Change, Change]]:
    """(first, last) change of each item since `since`, leaving out items that ended where they began."""
    spans: dict[tuple[str, str], tuple[Change, Change]] = {}
    for ch in sorted((c for c in changes if c.at >= since), key=lambda c: c.at):
        key = (ch.checklist, ch.item_id)
        spans[key] = (spans[key][0], ch) if key in spans else (ch, ch)
    return {
        k: (a, b) for k, (a, b) in spans.items() if (a.from_status or Status.OPEN) != b.to_status or b.actor
    }


def describe_change(first: Change, last: Change, title: str, current: ItemState) -> tuple[str, str]:
    """(kind, markdown line) for one item's net change; kind groups the summary's lists."""
    before = first.from_status or Status.OPEN
    name = f"**{title}** `{last.checklist}/{last.item_id}`"
    if last.to_status is Status.AUTO:
        ev = f" ({last.evidence})" if last.evidence else ""
        return "done", f"- ✔ {name}: automatically{ev}"
    if last.to_status is Status.DONE:
        return "done", f"- ✔ {name}: ticked {_who(last.actor)}"
    if last.to_status is Status.SKIPPED and last.actor == APPLIES_ACTOR:
        why = f" ({current.reason})" if current.status is Status.SKIPPED and current.reason else ""
        return "skipped", f"- ➖ {name}: not applicable{why}"
    if last.to_status is Status.SKIPPED:
        why = f": {current.reason}" if current.status is Status.SKIPPED and current.reason else ""
        return "skipped", f"- ⏭ {name}: skipped {_who(last.actor)}{why}"
    if before is Status.SKIPPED:
        return "reopened", f"- ↩ {name}: no longer skipped"
    if last.actor:
        return "reopened", f"- ↩ {name}: unticked {_who(last.actor)}"
    if before is Status.AUTO:  # history rows carry the new evidence, so what went is not known here
        return "regressed", f"- ⚠ {name}: automatic evidence disappeared"
    return "reopened", f"- ↩ {name}: open again"


def progress_since(
    checklists: Sequence[ResolvedChecklist],
    states: Mapping[str, Mapping[str, ItemState]],
    changes: Iterable[Change],
    since: datetime,
) -> Progress:
    """Progress as it was at `since`: each changed item's first change says its status then."""
    first: dict[tuple[str, str], Status] = {}
    for ch in sorted((c for c in changes if c.at >= since), key=lambda c: c.at):
        first.setdefault((ch.checklist, ch.item_id), ch.from_status or Status.OPEN)
    then = []
    for c in checklists:
        for _, item in c.template.items():
            now_state = _state(states, c.template.id, item.id)
            status = first.get((c.template.id, item.id), now_state.status)
            then.append(ItemState(checklist=c.template.id, item_id=item.id, status=status))
    return tracker.progress_of(then)


def _titles(checklists: Sequence[ResolvedChecklist]) -> dict[tuple[str, str], str]:
    return {(c.template.id, i.id): i.title for c in checklists for _, i in c.template.items()}


def _capped(lines: list[str], limit: int = LIST_LIMIT) -> list[str]:
    return lines[:limit] + ([f"- … and {len(lines) - limit} more"] if len(lines) > limit else [])


def trend(now: Progress, then: Progress, regressions: int) -> str:
    delta = now.done - then.done
    left = now.total - now.skipped - now.done
    if now.complete:
        return "🎉 Everything is done or skipped: this repository is production ready."
    if delta > 0:
        weeks = math.ceil(left / delta)
        rest = f"the last {left} takes" if left == 1 else f"the remaining {left} take"
        return f"📈 {delta} more done this week; at this pace {rest} about {weeks} week{'s' * (weeks != 1)}."
    if delta < 0 or regressions:
        return f"📉 Progress went back this week ({regressions} lost their evidence); {left} to go."
    return f"➖ No progress this week; {left} to go."


TREND_WEEKS = 8
ENDING_SOON = timedelta(days=7)


def weekly_percent(
    checklists: Sequence[ResolvedChecklist],
    states: Mapping[str, Mapping[str, ItemState]],
    changes: Sequence[Change],
    now: datetime,
    weeks: int = TREND_WEEKS,
) -> list[tuple[date, int]]:
    """(day, percent done) at `now` and at each of the `weeks - 1` weeks before, oldest first.

    One pass back through the history: each change passed undoes itself (its item goes back to
    the status it came from), which is what `progress_since` gives for each point, in linear time.
    Weeks before the first recorded change show the state the history starts from."""
    status = {
        (c.template.id, item.id): _state(states, c.template.id, item.id).status
        for c in checklists
        for _, item in c.template.items()
    }
    back = sorted((ch for ch in changes if (ch.checklist, ch.item_id) in status), key=lambda ch: ch.at)
    points: list[tuple[date, int]] = []
    for k in range(weeks):
        at = now - timedelta(weeks=k)
        while back and back[-1].at >= at:
            ch = back.pop()
            status[(ch.checklist, ch.item_id)] = ch.from_status or Status.OPEN
        done = sum(1 for s in status.values() if s in (Status.AUTO, Status.DONE))
        skipped = sum(1 for s in status.values() if s is Status.SKIPPED)
        points.append((at.date(), Progress(done=done, skipped=skipped, total=len(status)).percent))
    return points[::-1]


def trend_chart(points: Sequence[tuple[date, int]]) -> list[str]:
    """A Mermaid `xychart-beta` line of weekly progress: GitHub and GitLab draw it in comments."""
    labels = ", ".join(f'"{d:%m-%d}"' for d, _ in points)
    values = ", ".join(str(v) for _, v in points)
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "Done, % of tracked items, last {len(points)} weeks"',
        f"    x-axis [{labels}]",
        '    y-axis "% done" 0 --> 100',
        f"    line [{values}]",
        "```",
    ]


def ending_exemptions(
    checklists: Sequence[ResolvedChecklist], states: Mapping[str, Mapping[str, ItemState]], today: date
) -> list[str]:
    """Skips whose last day is within a week, each naming (and so notifying) who decided it."""
    out = []
    for c in checklists:
        for _, item in c.template.items():
            st = _state(states, c.template.id, item.id)
            if (
                st.status is Status.SKIPPED
                and st.until is not None
                and today <= st.until < today + ENDING_SOON
            ):
                out.append(
                    f"- ⏳ **{item.title}** `{c.template.id}/{item.id}`: the skip {_who(st.actor)} "
                    f"ends {st.until} ({st.reason}); from the day after it is tracked again"
                )
    return out


def _line(p: Progress) -> str:
    skipped = f" · {p.skipped} skipped" if p.skipped else ""
    return f"`{bar(p)}` **{p.done} / {p.total - p.skipped} done ({p.percent}%)**{skipped}"


def _changed_lines(
    checklists: Sequence[ResolvedChecklist],
    states: Mapping[str, Mapping[str, ItemState]],
    changes: Iterable[Change],
    since: datetime,
) -> list[tuple[str, str]]:
    """(kind, line) per changed item, latest first."""
    titles = _titles(checklists)
    spans = net_changes(changes, since)
    return [
        describe_change(first, last, titles[key], _state(states, *key))
        for key, (first, last) in sorted(spans.items(), key=lambda kv: kv[1][1].at, reverse=True)
        if key in titles  # items no longer in the configured checklists are left out
    ]


SUMMARY_MARKER = "<!-- readiness:summary {week} -->"
_GROUPS = (
    ("done", "Done"),
    ("skipped", "Skipped as not applicable"),
    ("reopened", "Reopened by people"),
    ("regressed", "Regressions"),
)


def render_summary(
    *,
    week: str,
    checklists: Sequence[ResolvedChecklist],
    states: Mapping[str, Mapping[str, ItemState]],
    changes: Sequence[Change],
    numbers: Mapping[str, int],
    since: datetime,
    chart_weeks: int = 0,
    governance: Sequence[str] = (),
) -> str:
    """The weekly comment on the epic: progress and its delta, a trend chart of the last
    `chart_weeks` weeks (`changes` must reach back that far), what changed, exemptions ending
    soon, `governance` (attestations due, stale sections, owners to act: bot.core.reminders),
    what is next."""
    views = sections(checklists, states)
    now_p, then_p = total(views), progress_since(checklists, states, changes, since)
    done_delta, points = now_p.done - then_p.done, now_p.percent - then_p.percent
    grouped: dict[str, list[str]] = {}
    for kind, line in _changed_lines(checklists, states, changes, since):
        grouped.setdefault(kind, []).append(line)
    lines = [
        SUMMARY_MARKER.format(week=week),
        f"## Weekly readiness summary · {week}",
        "",
        _line(now_p),
        f"Since {since:%Y-%m-%d}: {then_p.done} / {then_p.total - then_p.skipped} ({then_p.percent}%) → "
        f"**{done_delta:+d} done, {points:+d} points**",
        "",
        trend(now_p, then_p, len(grouped.get("regressed", []))),
        "",
    ]
    if chart_weeks > 1:
        now = since + timedelta(weeks=1)
        lines += [*trend_chart(weekly_percent(checklists, states, changes, now, chart_weeks)), ""]
    lines += ["### What changed"]
    if not grouped:
        lines.append("Nothing changed this week.")
    for kind, heading in _GROUPS:
        if grouped.get(kind):
            lines += ["", f"**{heading}**", *_capped(grouped[kind])]
    ending = ending_exemptions(checklists, states, (since + timedelta(weeks=1)).date())
    if ending:
        lines += ["", "### Exemptions ending soon", *_capped(ending)]
    lines += governance
    nxt = next_items(views, numbers)
    lines += ["", "### What is next", *(nxt or ["Nothing: every item is done or skipped."])]
    lines += [
        "",
        "<sub>Posted weekly by readiness-bot (`summary:` in `.readiness.yml` sets when; `summary: off` "
        "stops it). Comment `/readiness status` for the current state.</sub>",
    ]
    return "\n".join(lines)


def render_status(
    *,
    repo: str,
    checklists: Sequence[ResolvedChecklist],
    states: Mapping[str, Mapping[str, ItemState]],
    changes: Sequence[Change],
    numbers: Mapping[str, int],
    since: datetime,
) -> str:
    """The reply to `/readiness status`: short enough to read in a notification."""
    views = sections(checklists, states)
    lines = [f"**Readiness of `{repo}`**: {_line(total(views))}", ""]
    for v in views:
        link = f" · #{numbers[v.key]}" if v.key in numbers else ""
        p = v.progress
        mark = "✅" if p.complete else "⬜"
        lines.append(f"- {mark} {v.title}: {p.done}/{p.total - p.skipped} ({p.percent}%){link}")
    recent = [line for _, line in _changed_lines(checklists, states, changes, since)]
    lines += ["", f"**Changed since {since:%Y-%m-%d}**"]
    lines += _capped(recent, NEXT_LIMIT) if recent else ["Nothing."]
    nxt = next_items(views, numbers)
    lines += ["", "**Next**", *(nxt or ["Nothing: every item is done or skipped."])]
    return "\n".join(lines)
