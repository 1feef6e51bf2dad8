"""plan(desired, recorded) -> actions: the only place that decides to create, edit or close.

`recorded` is what the database says the bot last wrote (issue number and a digest of the
rendered issue). When the digest matches, nothing is read or written: that is what makes a push
that changes nothing cost zero writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core.actions import Create, Retire, Update
from bot.core.tracker import DesiredIssue


@dataclass(frozen=True, slots=True)
class Recorded:
    key: str
    number: int | None  # None: intent recorded but the create may not have happened
    state: str  # intent | open | closed
    digest: str | None


def plan(
    desired: Iterable[DesiredIssue],
    recorded: Mapping[str, Recorded],
    *,
    retire: Mapping[str, str] | None = None,
) -> list[Create | Update | Retire]:
    """Actions that bring the recorded issues to the desired ones.

    `retire` maps keys of recorded issues that should be closed (not merely left alone) to the
    comment explaining why; recorded keys that are neither desired nor retired are left alone.
    """
    actions: list[Create | Update | Retire] = []
    for issue in desired:
        rec = recorded.get(issue.key)
        if rec is None or rec.number is None:
            actions.append(Create(issue))
        elif rec.digest != issue.digest:
            actions.append(Update(issue, rec.number))
    for key, comment in (retire or {}).items():
        rec = recorded.get(key)
        if rec is not None and rec.number is not None and rec.state != "closed":
            actions.append(Retire(key, rec.number, comment))
    return actions
