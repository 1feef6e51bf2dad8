"""`--dry-run`: read the real repository, record the writes instead of making them.

`DryRunPlatform` wraps any `Platform`. Reads go to the real one (so the plan is computed from the
real state); writes are logged in `planned` as one human-readable line each and simulated just
enough that a sync can carry on (a created issue gets a negative number and can be linked,
commented on and read back). Nothing is ever sent that changes the repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace

from bot.core.snapshot import CIResult
from bot.core.yamlload import READ_CAP
from bot.platforms.base import (
    Branch,
    CheckReport,
    Comment,
    Issue,
    IssueUpdate,
    Platform,
    Revalidated,
    Tree,
)


class DryRunPlatform:
    def __init__(self, inner: Platform) -> None:
        self.inner = inner
        self.name = inner.name
        self.full_name = inner.full_name
        self.bot_login = inner.bot_login
        self.planned: list[str] = []
        self._issues: dict[int, Issue] = {}  # created or edited here, by number
        self._links: dict[int, list[Issue]] = {}
        self._next = -1

    # ----------------------------------------------------------------------------- reads

    async def default_branch(self) -> Branch:
        return await self.inner.default_branch()

    async def tree(self, commit: str) -> Tree:
        return await self.inner.tree(commit)

    async def default_branch_file(self, path: str, *, etag: str | None = None) -> Revalidated:
        return await self.inner.default_branch_file(path, etag=etag)

    async def file(self, path: str, commit: str, *, max_bytes: int = READ_CAP) -> bytes | None:
        return await self.inner.file(path, commit, max_bytes=max_bytes)

    async def files(
        self, paths: Sequence[str], commit: str, *, max_bytes: int = READ_CAP
    ) -> dict[str, bytes | None]:
        return await self.inner.files(paths, commit, max_bytes=max_bytes)

    async def ci_results(self, commit: str) -> list[CIResult]:
        return await self.inner.ci_results(commit)

    async def is_team(self, name: str) -> bool:
        return await self.inner.is_team(name)

    async def team_members(self, team: str) -> tuple[str, ...]:
        return await self.inner.team_members(team)

    async def get_issue(self, number: int) -> Issue:
        return self._issues.get(number) or await self.inner.get_issue(number)

    async def find_issues(self, marker: str) -> list[Issue]:
        found = {i.number: i for i in await self.inner.find_issues(marker)}
        found.update({n: i for n, i in self._issues.items() if marker in i.body})
        return [found[n] for n in sorted(found)]

    async def list_children(self, parent: Issue) -> list[Issue]:
        existing = [] if parent.number < 0 else await self.inner.list_children(parent)
        return existing + [c for c in self._links.get(parent.number, []) if c not in existing]

    async def list_comments(self, number: int) -> list[Comment]:
        return [] if number < 0 else await self.inner.list_comments(number)

    async def permission(self, login: str) -> str:
        return await self.inner.permission(login)

    # ---------------------------------------------------------------------------- writes

    async def create_issue(
        self,
        *,
        title: str,
        body: str,
        labels: tuple[str, ...] = (),
        assignees: tuple[str, ...] = (),
        child: bool = False,
    ) -> Issue:
        number, self._next = self._next, self._next - 1
        issue = Issue(number, number, title, body, "open", labels, assignees, self.bot_login)
        self._issues[number] = issue
        self.planned.append(
            f"create issue {title!r}" + (f" with labels {', '.join(labels)}" if labels else "")
        )
        return issue

    async def update_issue(self, number: int, update: IssueUpdate) -> Issue:
        changes = {
            f.name: getattr(update, f.name) for f in fields(update) if getattr(update, f.name) is not None
        }
        issue = replace(await self.get_issue(number), **changes)
        self._issues[number] = issue
        self.planned.append(f"edit {_ref(number)}: {', '.join(changes) or 'nothing'}")
        return issue

    async def ensure_labels(self, labels: tuple[str, ...]) -> None:
        self.planned.append(f"ensure labels {', '.join(labels)}")

    async def link_child(self, parent: Issue, child: Issue) -> None:
        self._links.setdefault(parent.number, []).append(child)
        self.planned.append(f"link {_ref(child.number)} under {_ref(parent.number)}")

    async def unlink_child(self, parent: Issue, child: Issue) -> None:
        self.planned.append(f"unlink {_ref(child.number)} from {_ref(parent.number)}")

    async def create_comment(self, number: int, body: str) -> Comment:
        self.planned.append(f"comment on {_ref(number)}: {body.splitlines()[0] if body else ''}")
        return Comment(id=-1, body=body, author=self.bot_login)

    async def update_comment(self, number: int, comment_id: int, body: str) -> Comment:
        self.planned.append(f"edit comment {comment_id} on {_ref(number)}")
        return Comment(id=comment_id, body=body, author=self.bot_login)

    async def add_reaction(self, number: int, comment_id: int, reaction: str) -> None:
        self.planned.append(f"react {reaction} to comment {comment_id} on {_ref(number)}")

    async def report_check(self, report: CheckReport) -> None:
        self.planned.append(f"check {report.name} on {report.commit[:12]}: {report.conclusion}")


def _ref(number: int) -> str:
    return f"#{number}" if number > 0 else f"(new issue {-number})"
