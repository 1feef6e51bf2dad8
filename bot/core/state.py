"""Item states: the database is the truth, issue bodies are a view of these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"  # not done
    AUTO = "auto"  # ticked by evidence (evidence text says what)
    DONE = "done"  # ticked by a person (actor says who)
    SKIPPED = "skipped"  # not applicable (reason says why; actor or config says who)
    PENDING = "pending"  # a skip by comment waiting for an approver; counts as open


class RegressionPolicy(StrEnum):
    """What happens to an automatically ticked item when its evidence disappears."""

    REOPEN = "reopen"  # untick, reopen the section issue, comment naming what disappeared
    UNTICK = "untick"  # untick quietly
    KEEP = "keep"  # leave it ticked


@dataclass(frozen=True, slots=True)
class ItemState:
    """The current state of one checklist item in one repository."""

    checklist: str
    item_id: str
    status: Status = Status.OPEN
    evidence: str | None = None  # for AUTO: what satisfied the rule
    actor: str | None = None  # for DONE/SKIPPED by a person: their login
    reason: str | None = None  # for SKIPPED
    changed_at: datetime | None = None
    until: date | None = None  # for SKIPPED: the last day the exemption holds
    approved_by: str | None = None  # for SKIPPED: the approver who confirmed a governed skip
    approvers: tuple[str, ...] = ()  # for PENDING (and approved SKIPPED): who may approve it

    def key(self) -> tuple[object, ...]:
        """What makes two states differ (the time of the change aside)."""
        return (
            self.status,
            self.evidence,
            self.actor,
            self.reason,
            self.until,
            self.approved_by,
            self.approvers,
        )

    @property
    def ticked(self) -> bool:
        return self.status in (Status.AUTO, Status.DONE)
