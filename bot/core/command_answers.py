"""What a read-only `/readiness` command answers (status, why, help, sync), as pure functions
over what the last sync left (`Seen`): the handler gathers it once, after any state change and
sync the same comment asked for, and replies with the answers in the comment's order.

Every command is one entry in one of two tables: `ANSWERS` here (reads only) or
`bot.core.command_effects.DECIDERS` (changes an item). Adding a command is its usage line in
`bot.core.commands.USAGE` (the parser's list of names), one function and one entry here or
there; `tests/core/test_command_answers.py` checks the tables cover the parser's names exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import commands, summary
from bot.core.commands import Command
from bot.core.resolve import ResolvedChecklist
from bot.core.state import ItemState

RECENT = timedelta(days=7)  # the status reply's "recent changes"


@dataclass(frozen=True, slots=True)
class Seen:
    """The repository as the last sync left it, as read-only answers see it."""

    repo: str
    checklists: Sequence[ResolvedChecklist] | None  # None: no valid `.readiness.yml`
    states: Mapping[str, Mapping[str, ItemState]]
    changes: Sequence[summary.Change]  # since `now - RECENT`
    numbers: Mapping[str, int]  # owned issue key -> number
    now: datetime


@dataclass(frozen=True, slots=True)
class ReadOnly:
    """A read-only command: its answer (None: nothing to say), and whether the repository is
    synced before the answers are given (the handler then reacts 👍 when done)."""

    answer: Callable[[Command, Seen], str | None]
    syncs: bool = False


def _status(_: Command, seen: Seen) -> str:
    if seen.checklists is None:
        return "This repository has no valid `.readiness.yml` right now, so there is nothing to report."
    return summary.render_status(
        repo=seen.repo,
        checklists=seen.checklists,
        states=seen.states,
        changes=seen.changes,
        numbers=seen.numbers,
        since=seen.now - RECENT,
    )


def _why(cmd: Command, seen: Seen) -> str:
    """Anyone may ask why: it reads, never changes."""
    if seen.checklists is None:
        return "This repository has no valid `.readiness.yml` right now, so there is nothing to explain."
    found = commands.resolve_item(cmd.target or "", known_items(seen.checklists))
    if isinstance(found, str):
        return f"`/readiness why {cmd.target}`: {found}"
    checklist_id, item = found
    resolved = next(c for c in seen.checklists if c.template.id == checklist_id)
    state = seen.states.get(checklist_id, {}).get(item) or ItemState(checklist=checklist_id, item_id=item)
    return summary.explain_item(resolved, item, state)


def _help(_: Command, __: Seen) -> str:
    return commands.help_text()


def _sync(_: Command, __: Seen) -> None:
    return None  # the sync is the answer: a 👍 on the comment when it is done


ANSWERS: dict[str, ReadOnly] = {
    "status": ReadOnly(_status),
    "why": ReadOnly(_why),
    "help": ReadOnly(_help),
    "sync": ReadOnly(_sync, syncs=True),
}


def known_items(checklists: Sequence[ResolvedChecklist]) -> dict[str, dict[str, str]]:
    """checklist -> item id -> title, what `commands.resolve_item` resolves a target against."""
    return {c.template.id: {i.id: i.title for _, i in c.template.items()} for c in checklists}
