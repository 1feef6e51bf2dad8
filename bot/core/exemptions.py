"""Governed exemptions: what a skip by comment, or an approval, does to an item. Pure.

The organisation default can mark an item `mandatory` (no repository file may skip it) and name
`approvers`. A skip by comment of an item with approvers is *pending* (it counts as open) until
one of them confirms it with `/readiness approve <item>`; an approver's own skip needs no second
word. A mandatory item without approvers cannot be skipped by a repository at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from bot.core.owners import logins_of
from bot.core.state import ItemState, Status


@dataclass(frozen=True, slots=True)
class Rules:
    """What the organisation decided about one item."""

    mandatory: bool = False
    approvers: tuple[str, ...] = ()  # "@login" or "@org/team"

    @property
    def governed(self) -> bool:
        return self.mandatory or bool(self.approvers)


def is_approver(login: str, approvers: Iterable[str], members: Mapping[str, Iterable[str]]) -> bool:
    """Whether `login` is one of the approvers, directly or through a team (case-insensitive)."""
    me = login.lower()
    for approver in approvers:
        if me in (m.lower() for m in logins_of(approver.removeprefix("@"), members)):
            return True
    return False


def request_skip(
    old: ItemState,
    *,
    login: str,
    reason: str,
    until: date | None,
    now: datetime,
    rules: Rules,
    approver: bool,
) -> tuple[str, ItemState | None]:
    """The reply and new state for `/readiness skip` by a person with write access."""
    ident = f"`{old.checklist}/{old.item_id}`"
    end = f" until {until}" if until else ""
    if rules.mandatory and not rules.approvers:
        return (
            f"{ident} is mandatory in this organisation and has no approvers, so it cannot be skipped "
            "here. Nothing was changed.",
            None,
        )
    skipped = ItemState(
        old.checklist, old.item_id, Status.SKIPPED, actor=login, reason=reason, changed_at=now, until=until
    )
    if not rules.approvers:
        return f"⏭ Skipped {ident}{end}: {reason}", skipped
    if approver:
        return (
            f"⏭ Skipped {ident}{end}: {reason} (approved by you, an approver)",
            replace(skipped, approved_by=login, approvers=rules.approvers),
        )
    who = ", ".join(rules.approvers)
    return (
        f"⏳ Skip of {ident}{end} requested: {reason}. It needs an approver ({who}) to confirm with "
        f"`/readiness approve {old.checklist}/{old.item_id}`; until then the item counts as open.",
        replace(skipped, status=Status.PENDING, approvers=rules.approvers),
    )


def approve(
    old: ItemState, *, login: str, now: datetime, rules: Rules, approver: bool
) -> tuple[str, ItemState | None]:
    """The reply and new state for `/readiness approve`: only an approver, only a pending skip."""
    ident = f"`{old.checklist}/{old.item_id}`"
    if old.status is Status.SKIPPED and old.approved_by:
        return f"{ident} is already skipped, approved by @{old.approved_by}.", None
    if old.status is not Status.PENDING:
        return f"{ident} has no skip waiting for approval, so there is nothing to approve.", None
    approvers = rules.approvers or old.approvers
    if not approver:
        who = ", ".join(approvers) or "nobody (the organisation names no approvers)"
        return (
            f"Sorry, only an approver of {ident} ({who}) can approve its skip. Nothing was changed.",
            None,
        )
    end = f" until {old.until}" if old.until else ""
    return (
        f"✅ Approved the skip of {ident}{end} by @{old.actor}: {old.reason}",
        replace(old, status=Status.SKIPPED, approved_by=login, changed_at=now, approvers=approvers),
    )
