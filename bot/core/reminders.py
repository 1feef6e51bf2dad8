"""What the weekly summary asks people to do: attestations due, sections that have not moved,
and the owners to act, each mentioned at most once a week, with reminders that back off. Pure.

Backoff: an owner is reminded of the same open item in three summaries, then only every fourth
week after that; never once the item is done or skipped. A reminder "spell" starts when the item
last changed state, so an item that was done and regressed is reminded weekly again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.resolve import ResolvedChecklist
from bot.core.state import ItemState, Status

WEEKLY_REMINDERS = 3  # reminders of one open item in a row before backing off
BACKOFF = timedelta(weeks=4)
STALE_AFTER = timedelta(weeks=4)
DUE_WITHIN = timedelta(days=7)
# Mentions backoff never counts again: of items now done or skipped (a new spell starts when an
# item reopens), once older than the longest window backoff looks back over.
FINISHED = (Status.AUTO, Status.DONE, Status.SKIPPED)
MENTIONS_KEPT = BACKOFF
Key = tuple[str, str]  # (checklist, item)


@dataclass(frozen=True, slots=True)
class Reminder:
    owner: str  # "@alice" or "@org/team", as the owner was written
    items: tuple[Key, ...]


def _state(states: Mapping[str, Mapping[str, ItemState]], key: Key) -> ItemState:
    return states.get(key[0], {}).get(key[1]) or ItemState(checklist=key[0], item_id=key[1])


def attestations_due(
    checklists: Sequence[ResolvedChecklist], states: Mapping[str, Mapping[str, ItemState]], now: datetime
) -> list[tuple[Key, str, str | None, datetime]]:
    """(item, title, ticked by, expires at) for each person's tick of a `ttl` item that runs out
    within a week: the people who ticked it can re-check before it reopens."""
    out = []
    for c in checklists:
        for _, item in c.template.items():
            ttl = c.ttl_days.get(item.id)
            st = _state(states, (c.template.id, item.id))
            if not ttl or st.status is not Status.DONE or st.changed_at is None:
                continue
            expires = st.changed_at + timedelta(days=ttl)
            if now <= expires < now + DUE_WITHIN:
                out.append(((c.template.id, item.id), item.title, st.actor, expires))
    return out


def stale_sections(
    checklists: Sequence[ResolvedChecklist],
    states: Mapping[str, Mapping[str, ItemState]],
    now: datetime,
    tracked_since: datetime | None,
) -> list[tuple[str, str, datetime | None]]:
    """(section key, "Checklist · Section", last moved) for each unfinished section in which no
    item changed for four weeks (nor since tracking began, if that is longer ago)."""
    out = []
    for c in checklists:
        for section in c.template.sections:
            items = [_state(states, (c.template.id, i.id)) for i in section.items]
            if all(s.ticked or s.status is Status.SKIPPED for s in items):
                continue
            moved = max((s.changed_at for s in items if s.changed_at), default=None)
            last = moved or tracked_since
            if last is not None and now - last >= STALE_AFTER:
                key = f"section:{c.template.id}:{section.id}"
                out.append((key, f"{c.template.title} · {section.title}", moved))
    return out


def owners_to_act(
    owners: Mapping[Key, Sequence[str]],
    states: Mapping[str, Mapping[str, ItemState]],
    mentioned: Mapping[tuple[str, str, str], Sequence[datetime]],
    now: datetime,
) -> list[Reminder]:
    """Whom this week's summary mentions, for which of their open items.

    `mentioned` holds the earlier summaries' mentions: (owner, checklist, item) -> times."""
    by_owner: dict[str, list[Key]] = {}
    for key, names in owners.items():
        st = _state(states, key)
        if st.ticked or st.status is Status.SKIPPED:
            continue  # never after done or skip
        for owner in dict.fromkeys(names):
            spell = sorted(
                t for t in mentioned.get((owner, *key), ()) if st.changed_at is None or t >= st.changed_at
            )
            if due(spell, now):
                by_owner.setdefault(owner, []).append(key)
    return [Reminder(owner, tuple(items)) for owner, items in sorted(by_owner.items())]


def due(spell: Sequence[datetime], now: datetime) -> bool:
    """Whether an open item is reminded now, given this spell's earlier reminders (sorted)."""
    if not spell:
        return True
    last = spell[-1]
    if now - last < timedelta(days=6):  # at most once a week (a summary may post a day late)
        return False
    return len(spell) < WEEKLY_REMINDERS or now - last >= BACKOFF - timedelta(days=1)


def render(
    *,
    titles: Mapping[Key, str],
    numbers: Mapping[str, int],
    attestations: Sequence[tuple[Key, str, str | None, datetime]],
    stale: Sequence[tuple[str, str, datetime | None]],
    reminders: Sequence[Reminder],
) -> list[str]:
    """The summary's "Attestations due", "Not moved for four weeks" and "Owners to act" parts."""
    lines: list[str] = []
    if attestations:
        lines += ["", "### Attestations due"]
        for (checklist, item), title, actor, expires in attestations:
            who = f"@{actor}" if actor and actor != "?" else "a person"
            lines.append(
                f"- 🔁 **{title}** `{checklist}/{item}`: ticked by {who}; it reopens on {expires:%Y-%m-%d} "
                "unless ticked again"
            )
    if stale:
        lines += ["", "### Not moved for four weeks"]
        for key, title, moved in stale:
            link = f" #{numbers[key]}" if key in numbers else ""
            since = f"since {moved:%Y-%m-%d}" if moved else "since tracking began"
            lines.append(f"- 💤 {title}{link}: no item changed {since}")
    if reminders:
        lines += ["", "### Owners to act"]
        for r in reminders:
            items = ", ".join(f"**{titles.get(k, k[1])}** `{k[0]}/{k[1]}`" for k in r.items)
            lines.append(f"- {r.owner}: {items}")
    return lines
