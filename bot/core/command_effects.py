"""What a permitted state-changing `/readiness` command does to one item: the reply and the new
state, as pure functions over plain data (the handler loads the state, checks permissions and
saves what comes back).

One function per command, in `DECIDERS`: adding a state-changing command is its parser entry in
`bot.core.commands` (`NAMES`, `USAGE`) and one function here. Repeating a command (a retry after
a failed sync) changes nothing more and says the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.core import exemptions
from bot.core.commands import Command
from bot.core.decide import CONFIG_ACTOR
from bot.core.state import ItemState, Status

Effect = tuple[str, ItemState | None]  # the reply, and the new state (None: nothing changes)


@dataclass(frozen=True, slots=True)
class Asked:
    """One command about one item, with who asked and what the organisation's rules say."""

    cmd: Command
    old: ItemState
    login: str
    now: datetime
    rules: exemptions.Rules
    approver: bool

    @property
    def ident(self) -> str:
        return f"`{self.old.checklist}/{self.old.item_id}`"


def _approve(a: Asked) -> Effect:
    return exemptions.approve(a.old, login=a.login, now=a.now, rules=a.rules, approver=a.approver)


def _skip(a: Asked) -> Effect:
    cmd, old = a.cmd, a.old
    if cmd.until is not None and cmd.until < a.now.date():
        return f"`until {cmd.until}` is in the past; give the last day the skip should hold.", None
    if old.status is Status.PENDING and (old.reason, old.until) == (cmd.reason, cmd.until) and not a.approver:
        return f"A skip of {a.ident} is already waiting for an approver.", None
    return exemptions.request_skip(
        old,
        login=a.login,
        reason=cmd.reason or "",
        until=cmd.until,
        now=a.now,
        rules=a.rules,
        approver=a.approver,
    )


def _done(a: Asked) -> Effect:
    old = a.old
    note = f": {a.cmd.reason}" if a.cmd.reason else ""
    if old.status in (Status.SKIPPED, Status.PENDING):
        return f"{a.ident} is skipped ({old.reason}); `unskip` it first.", None
    new = ItemState(
        old.checklist, old.item_id, Status.DONE, actor=a.login, reason=a.cmd.reason, changed_at=a.now
    )
    return f"✔ Ticked {a.ident}{note}", new


def _undo(a: Asked) -> Effect:
    old = a.old
    if old.status in (Status.SKIPPED, Status.PENDING):
        return f"{a.ident} is skipped, not ticked; use `unskip` to track it again.", None
    if not old.ticked:
        return f"{a.ident} is not ticked, so there is nothing to undo.", None
    # a person's untick outranks evidence from now on, exactly like unticking the box by hand
    return f"↩ Unticked {a.ident}; evidence will not tick it again until a person does.", ItemState(
        old.checklist, old.item_id, Status.OPEN, actor=a.login, changed_at=a.now
    )


def _unskip(a: Asked) -> Effect:
    old = a.old
    if old.status not in (Status.SKIPPED, Status.PENDING):
        return f"{a.ident} is not skipped, so there is nothing to unskip.", None
    return f"↩ {a.ident} is tracked again; evidence can tick it.", ItemState(
        old.checklist, old.item_id, Status.OPEN, changed_at=a.now
    )


DECIDERS: dict[str, Callable[[Asked], Effect]] = {
    "approve": _approve,
    "skip": _skip,
    "done": _done,
    "undo": _undo,
    "unskip": _unskip,
}


def changes_state(name: str) -> bool:
    """Whether a command changes an item (and so needs its permission check and lock)."""
    return name in DECIDERS


def decide(
    cmd: Command,
    old: ItemState,
    login: str,
    now: datetime,
    rules: exemptions.Rules = exemptions.Rules(),
    approver: bool = False,
) -> Effect:
    """The reply and the new state for a permitted state-changing command."""
    if old.status is Status.SKIPPED and old.actor == CONFIG_ACTOR:
        ident = f"`{old.checklist}/{old.item_id}`"
        return f"{ident} is skipped in `.readiness.yml` ({old.reason}); change it there.", None
    return DECIDERS[cmd.name](Asked(cmd, old, login, now, rules, approver))
