"""The single writer: the only code that calls platform write methods, one `Action` at a time.

Why one place: idempotency lives here once. A create records its intent before the call and
adopts a marked issue left by a crash instead of opening a duplicate; an update re-reads the
issue right before writing and keeps ticks a person made meanwhile (the decision is
`core.plan_sync.ticks_to_keep`); every result is recorded. With `dry=True` nothing is sent:
each action is described in `planned` and its result simulated (new issues get negative
numbers), so a later phase can still be planned from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Engine

from bot.core import tracker
from bot.core.actions import (
    Action,
    Create,
    EnsureLabels,
    LinkChild,
    PostComment,
    React,
    ReportCheck,
    Retire,
    Update,
    describe,
)
from bot.core.plan_sync import Sections, States, ticks_to_keep
from bot.platforms.base import Comment, Invalid, Issue, IssueUpdate, Platform
from bot.store import tracking
from bot.store.db import session_scope
from bot.store.models import OwnedIssue

log = structlog.get_logger(__name__)
Result = Issue | Comment | None


@dataclass
class Apply:
    """Applies actions for one repository. `engine`/`repository_id` are needed for actions on
    owned issues (Create, Update, Retire, LinkChild); `sections` and `states` let an update keep
    a person's ticks and re-render the section with them."""

    platform: Platform
    now: datetime
    engine: Engine | None = None
    repository_id: int | None = None
    sections: Sections | None = None
    states: States | None = None
    dry: bool = False
    planned: list[str] = field(default_factory=list)
    writes: int = 0
    # the owned issues as the caller read them (a sync reads them once); kept current here
    owned: dict[str, OwnedIssue] | None = None
    # per run: marked issues found once, labels ensured once, children listed once per parent
    _adoptable: dict[str, Issue] | None = field(default=None, init=False, repr=False)
    _labels: set[tuple[str, ...]] = field(default_factory=set, init=False, repr=False)
    _children: dict[int, set[int]] = field(default_factory=dict, init=False, repr=False)
    _next_fake: int = field(default=-1, init=False, repr=False)  # a dry run's simulated issue numbers

    async def __call__(self, actions: Sequence[Action]) -> list[Result]:
        return [await self.one(a) for a in actions]

    async def one(self, action: Action) -> Result:
        match action:
            case Create():
                return await self._create_or_adopt(action)
            case Update():
                current = await self._read(action.number)  # re-read right before writing
                return await self._update(action.issue, current)
            case Retire():
                return await self._retire(action)
            case LinkChild():
                await self._link(action)
                return None
            case EnsureLabels(labels):
                if labels and labels not in self._labels:
                    self._labels.add(labels)
                    await self._write(action, lambda: self.platform.ensure_labels(labels))
                return None
            case ReportCheck(report):
                return await self._write(action, lambda: self.platform.report_check(report))
            case PostComment(number, body, marker):
                if marker is not None and (posted := await self._marked_comment(number, marker)):
                    return posted
                return await self._write(action, lambda: self.platform.create_comment(number, body))
            case React(number, comment_id, reaction):
                return await self._write(
                    action, lambda: self.platform.add_reaction(number, comment_id, reaction)
                )
        raise TypeError(f"not an Action: {action!r}")  # pragma: no cover - the union is closed

    # ------------------------------------------------------------------------------- plumbing

    async def _write(self, action: Action | str, call: Callable[[], Awaitable[Any]]) -> Any:
        """One platform write, or in a dry run its description (`action`'s, or the line given)
        and a simulated result."""
        if self.dry:
            self.planned.append(action if isinstance(action, str) else describe(action))
            if isinstance(action, PostComment):
                return Comment(id=-1, body=action.body, author=self.platform.bot_login)
            return None
        result = await call()
        self.writes += 1
        return result

    async def _marked_comment(self, number: int, marker: str) -> Comment | None:
        """A comment the bot already posted with `marker` (one read of the issue's comments);
        only the bot's own count, so nobody can silence a reply by quoting its marker."""
        if self.dry and number < 0:
            return None
        for comment in await self.platform.list_comments(number):
            if comment.author == self.platform.bot_login and marker in comment.body:
                log.info("apply.comment_adopted", number=number, comment_id=comment.id)
                return comment
        return None

    async def _read(self, number: int) -> Issue:
        if self.dry and number < 0:
            raise LookupError(f"simulated issue {number} is not re-read")  # pragma: no cover
        return await self.platform.get_issue(number)

    def _owned(self) -> dict[str, OwnedIssue]:
        assert self.engine is not None and self.repository_id is not None, "owned issues need a repository"
        if self.owned is None:
            with session_scope(self.engine, immediate=False) as s:
                self.owned = tracking.owned_issues(s, repository_id=self.repository_id)
        return self.owned

    def _record(self, key: str, issue: Issue, digest: str | None, body: str | None) -> None:
        assert self.engine is not None and self.repository_id is not None
        rows = self._owned()
        with session_scope(self.engine) as s:
            rows[key] = tracking.record_issue(
                s,
                repository_id=self.repository_id,
                key=key,
                number=issue.number,
                platform_issue_id=issue.id,
                state=issue.state,
                digest=digest,
                body=body,
            )

    # ------------------------------------------------------------------------------ issues

    async def _create_or_adopt(self, action: Create) -> Issue:
        if self._adoptable is None:
            self._adoptable = await self._find_marked()
        found = self._adoptable.pop(action.issue.key, None)
        if found is not None:
            return await self._update(action.issue, found)
        want = action.issue
        assert self.engine is not None and self.repository_id is not None
        rows = self._owned()
        with session_scope(self.engine) as s:
            rows[want.key] = tracking.record_intent(s, repository_id=self.repository_id, key=want.key)
        if self.dry:
            self.planned.append(describe(action))
            number, self._next_fake = self._next_fake, self._next_fake - 1
            issue = Issue(number, number, want.title, want.body, want.state, want.labels, want.assignees)
        else:
            issue = await self.platform.create_issue(
                title=want.title,
                body=want.body,
                labels=want.labels,
                assignees=want.assignees,
                child=want.key.startswith(tracker.SECTION_PREFIX),
            )
            self.writes += 1
            if want.state == "closed":
                issue = await self.platform.update_issue(issue.number, IssueUpdate(state="closed"))
                self.writes += 1
        self._record(want.key, issue, want.digest, want.body)
        return issue

    async def _find_marked(self) -> dict[str, Issue]:
        """Marked issues the bot created earlier but has no complete record of (crash, lost DB)."""
        out: dict[str, Issue] = {}
        for issue in await self.platform.find_issues(tracker.MARKER_PREFIX):
            key = tracker.key_from_body(issue.body)
            if key and (key not in out or issue.state == "open"):
                out[key] = issue
        return out

    async def _update(self, want: tracker.DesiredIssue, current: Issue) -> Issue:
        want = self._keep_ticks(want, current)
        change = IssueUpdate(
            title=want.title if current.title != want.title else None,
            body=want.body if current.body != want.body else None,
            state=want.state if current.state != want.state else None,
            labels=tuple(dict.fromkeys(current.labels + want.labels))
            if not set(want.labels) <= set(current.labels)
            else None,
            assignees=tuple(dict.fromkeys(current.assignees + want.assignees))
            if not set(want.assignees) <= set(current.assignees)
            else None,
        )
        if change != IssueUpdate():
            if self.dry:
                fields = [
                    n
                    for n in ("title", "body", "state", "labels", "assignees")
                    if getattr(change, n) is not None
                ]
                self.planned.append(f"edit #{current.number} {want.title!r}: {', '.join(fields)}")
            else:
                current = await self.platform.update_issue(current.number, change)
                self.writes += 1
        self._record(want.key, current, want.digest, want.body)
        return current

    def _keep_ticks(self, want: tracker.DesiredIssue, current: Issue) -> tracker.DesiredIssue:
        """Ticks a person made since our last write (whose webhook we have not seen yet) win:
        they are saved as states and the section re-rendered with them."""
        if (
            self.states is None
            or self.sections is None
            or self.sections.for_key(want.key, self.states) is None
        ):
            return want  # an issue that shows no items
        row = self._owned().get(want.key)
        decided = ticks_to_keep(
            last_written=row.body if row is not None else None,
            current=current.body,
            states=self.states,
            now=self.now,
            intended=want.body,
        )
        if not decided:
            return want
        before = {c: dict(cs) for c, cs in self.states.items()}
        for (c, i), st in decided.items():
            self.states.setdefault(c, {})[i] = st
        assert self.engine is not None and self.repository_id is not None
        with session_scope(self.engine) as s:
            tracking.save_states(
                s, repository_id=self.repository_id, states=decided.values(), previous=before, now=self.now
            )
        return self.sections.for_key(want.key, self.states) or want

    async def _retire(self, action: Retire) -> Issue | None:
        await self._write(
            PostComment(action.number, action.comment),
            lambda: self.platform.create_comment(action.number, action.comment),
        )
        issue = await self._write(
            f"close #{action.number}",
            lambda: self.platform.update_issue(action.number, IssueUpdate(state="closed")),
        )
        row = self._owned()[action.key]
        if issue is None:  # dry run
            issue = Issue(action.number, row.platform_issue_id or action.number, "", "", "closed")
        self._record(action.key, issue, None, row.body)
        return issue

    async def _link(self, action: LinkChild) -> None:
        """Link an owned issue under another. The ids come from our records (GitHub's sub-issue
        call takes the child's id, not its number), so linking reads only the parent's children,
        once a run."""
        rows = self._owned()
        parent, child = rows.get(action.parent_key), rows.get(action.child_key)
        if parent is None or child is None or parent.number is None or child.number is None:
            return
        if parent.number not in self._children:
            known = [] if parent.number < 0 else await self.platform.list_children(_stub(parent))
            self._children[parent.number] = {c.number for c in known}
        if child.number not in self._children[parent.number]:
            if self.dry:
                self.planned.append(describe(action))
            else:
                try:
                    await self.platform.link_child(_stub(parent), _stub(child))
                except Invalid as exc:  # e.g. GitHub's 100 sub-issues per parent: the table still lists it
                    log.warning("sync.link_refused", section=child.key, error=str(exc))
                else:
                    self.writes += 1
            self._children[parent.number].add(child.number)
        assert self.engine is not None and self.repository_id is not None
        if child.parent_linked:
            return
        with session_scope(self.engine) as s:
            r = tracking.owned_issues(s, repository_id=self.repository_id)[action.child_key]
            r.parent_linked = True
            s.add(r)
        rows[action.child_key] = r


def _stub(row: OwnedIssue) -> Issue:
    """An Issue carrying just what link calls need (number and platform id) from our record."""
    assert row.number is not None and row.platform_issue_id is not None
    return Issue(number=row.number, id=row.platform_issue_id, title="", body="", state=row.state)
