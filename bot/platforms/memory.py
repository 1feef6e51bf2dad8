"""A complete `Platform` over dictionaries, for every higher-level test and for `--dry-run`.

It behaves like GitHub where behaviour matters to callers (issue `id` differs from `number`, at most
100 sub-issues per parent, a child has one parent, unknown labels are created on use, errors are
the `bot.platforms.base` types) and logs every call in `calls` so tests can count writes.
Seeding helpers (`set_commit`, `add_issue`, `edit_issue_as`, …) do not log: they stand for the
world changing, not for the bot acting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime

from bot.core.snapshot import CIResult
from bot.core.yamlload import READ_CAP
from bot.platforms.base import (
    Branch,
    CheckReport,
    Comment,
    Forbidden,
    Invalid,
    Issue,
    IssueUpdate,
    NotFound,
    PlatformError,
    RepoInfo,
    Revalidated,
    Tree,
    revalidate_by_head,
)

MAX_CHILDREN = 100
ID_OFFSET = 1_000_000  # issue id = ID_OFFSET + number, so code that mixes them up fails
WRITES = frozenset(
    {
        "create_issue",
        "update_issue",
        "ensure_labels",
        "link_child",
        "unlink_child",
        "create_comment",
        "update_comment",
        "add_reaction",
        "report_check",
    }
)
LEVELS = ("admin", "maintain", "write", "triage", "read", "none")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Reaction:
    number: int
    comment_id: int
    content: str
    login: str


class MemoryPlatform:
    """One repository. `calls` is shared with the owning `MemoryClient` when built through it."""

    name = "memory"

    def __init__(
        self,
        full_name: str = "octo-org/widgets",
        *,
        bot_login: str = "readiness-bot[bot]",
        default_branch: str = "main",
        repo_id: int = 1,
        clock: Callable[[], datetime] = _utcnow,
        calls: list[tuple[str, ...]] | None = None,
    ) -> None:
        self.full_name = full_name
        self.bot_login = bot_login
        self.repo_id = repo_id
        self.clock = clock
        self.calls: list[tuple[str, ...]] = [] if calls is None else calls
        self.default = default_branch
        self.archived = False
        self.branches: dict[str, str] = {}
        self.contents: dict[str, dict[str, bytes]] = {}
        self.ci: dict[str, list[CIResult]] = {}
        self.issues: dict[int, Issue] = {}
        self.labels: set[str] = set()
        self.parent_of: dict[int, int] = {}  # child number -> parent number
        self.children: dict[int, list[int]] = {}  # parent number -> child numbers, in link order
        self.comments: dict[int, list[Comment]] = {}
        self.reactions: list[Reaction] = []
        self.permissions: dict[str, str] = {}
        self.teams: dict[str, list[str]] = {}  # "org/team" (or a bare group) -> member logins
        self.checks: list[CheckReport] = []
        self._failures: dict[str, list[PlatformError]] = {}
        self._next_number = 1
        self._next_comment = 1

    # ------------------------------------------------------------------ seeding (not logged)

    def set_commit(self, commit: str, files: Mapping[str, bytes | str], *, branch: str | None = None) -> None:
        """Add a commit with exactly these files and move `branch` (default branch if None) to it."""
        self.contents[commit] = {p: c.encode() if isinstance(c, str) else c for p, c in files.items()}
        self.branches[branch or self.default] = commit

    def set_ci(self, commit: str, results: Iterable[CIResult]) -> None:
        self.ci[commit] = [replace(r, commit=commit) for r in results]

    def set_permission(self, login: str, level: str) -> None:
        if level not in LEVELS:
            raise ValueError(f"permission must be one of {', '.join(LEVELS)}, not {level!r}")
        self.permissions[login] = level

    def add_issue(
        self,
        title: str,
        body: str = "",
        *,
        author: str | None = None,
        state: str = "open",
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        number: int | None = None,
    ) -> Issue:
        """An issue that already exists (by default authored by the bot)."""
        number = number or self._next_number
        self._next_number = max(self._next_number, number + 1)
        issue = Issue(
            number=number,
            id=ID_OFFSET + number,
            title=title,
            body=body,
            state=state,
            labels=tuple(labels),
            assignees=tuple(assignees),
            author=author or self.bot_login,
            url=f"https://memory.test/{self.full_name}/issues/{number}",
            updated_at=self._stamp(),
        )
        self.labels.update(issue.labels)
        self.issues[number] = issue
        return issue

    def add_comment_as(self, login: str, number: int, body: str, *, comment_id: int | None = None) -> Comment:
        self._issue(number)
        cid = comment_id or self._next_comment
        self._next_comment = max(self._next_comment, cid + 1)
        comment = Comment(
            id=cid,
            body=body,
            author=login,
            url=f"https://memory.test/{self.full_name}/issues/{number}#issuecomment-{cid}",
        )
        self.comments.setdefault(number, []).append(comment)
        return comment

    def edit_issue_as(self, login: str, number: int, body: str) -> Issue:
        """A person edits an issue body (for example ticks a checkbox) outside the bot."""
        del login  # who edited is carried by the webhook event, not by the issue itself
        issue = replace(self._issue(number), body=body, updated_at=self._stamp())
        self.issues[number] = issue
        return issue

    def close_issue_as(self, login: str, number: int) -> Issue:
        del login
        issue = replace(self._issue(number), state="closed", updated_at=self._stamp())
        self.issues[number] = issue
        return issue

    def fail(self, method: str, error: PlatformError, times: int = 1) -> None:
        """Make the next `times` calls of `method` raise `error` (after being logged)."""
        self._failures.setdefault(method, []).extend([error] * times)

    # ----------------------------------------------------------------------- inspection

    @property
    def writes(self) -> list[tuple[str, ...]]:
        return [c for c in self.calls if c[0] in WRITES and len(c) > 1 and c[1] == self.full_name]

    # -------------------------------------------------------------------------- Platform

    async def default_branch(self) -> Branch:
        self._log("default_branch")
        if self.default not in self.branches:
            raise NotFound(f"{self.full_name}: branch {self.default} has no commits")
        return Branch(self.default, self.branches[self.default])

    async def tree(self, commit: str) -> Tree:
        self._log("tree", commit)
        files = self._commit(commit)
        blobs = {
            p: hashlib.sha1(b"blob %d\0" % len(c) + c, usedforsecurity=False).hexdigest()
            for p, c in files.items()
        }
        sizes = {p: len(c) for p, c in files.items()}
        return Tree(commit=commit, paths=tuple(sorted(files)), complete=True, blobs=blobs, sizes=sizes)

    async def default_branch_file(self, path: str, *, etag: str | None = None) -> Revalidated:
        return await revalidate_by_head(self, path, etag)

    async def file(self, path: str, commit: str, *, max_bytes: int = READ_CAP) -> bytes | None:
        self._log("file", path, commit)
        content = self._commit(commit).get(path)
        return None if content is None else content[:max_bytes]

    async def files(
        self, paths: Sequence[str], commit: str, *, max_bytes: int = READ_CAP
    ) -> dict[str, bytes | None]:
        self._log("files", str(len(paths)), commit)  # one batched read, as GitHub makes them
        known = self._commit(commit)
        return {p: None if known.get(p) is None else known[p][:max_bytes] for p in paths}

    async def ci_results(self, commit: str) -> list[CIResult]:
        self._log("ci_results", commit)
        return list(self.ci.get(commit, []))

    async def create_issue(
        self,
        *,
        title: str,
        body: str,
        labels: tuple[str, ...] = (),
        assignees: tuple[str, ...] = (),
        child: bool = False,
    ) -> Issue:
        self._log("create_issue", title)
        if not title.strip():
            raise Invalid("title must not be empty")
        return self.add_issue(title, body, labels=labels, assignees=assignees)

    async def get_issue(self, number: int) -> Issue:
        self._log("get_issue", str(number))
        return self._issue(number)

    async def update_issue(self, number: int, update: IssueUpdate) -> Issue:
        values = {f.name: getattr(update, f.name) for f in fields(update)}
        changes = {k: v for k, v in values.items() if v is not None}
        self._log("update_issue", str(number), *changes)
        issue = self._issue(number)
        if update.state not in (None, "open", "closed"):
            raise Invalid(f"state must be 'open' or 'closed', not {update.state!r}")
        if update.title is not None and not update.title.strip():
            raise Invalid("title must not be empty")
        self.labels.update(changes.get("labels", ()))
        issue = replace(issue, **changes, updated_at=self._stamp())
        self.issues[number] = issue
        return issue

    async def find_issues(self, marker: str) -> list[Issue]:
        self._log("find_issues", marker)
        return [i for _, i in sorted(self.issues.items()) if i.author == self.bot_login and marker in i.body]

    async def ensure_labels(self, labels: tuple[str, ...]) -> None:
        self._log("ensure_labels", *labels)
        self.labels.update(labels)

    async def link_child(self, parent: Issue, child: Issue) -> None:
        self._log("link_child", str(parent.number), str(child.number))
        self._issue(parent.number)
        self._issue(child.number)
        current = self.parent_of.get(child.number)
        if current == parent.number:
            return
        if current is not None:
            raise Invalid(f"issue #{child.number} already has a parent (#{current})")
        if parent.number == child.number:
            raise Invalid("an issue cannot be its own sub-issue")
        siblings = self.children.setdefault(parent.number, [])
        if len(siblings) >= MAX_CHILDREN:
            raise Invalid(f"issue #{parent.number} already has {MAX_CHILDREN} sub-issues")
        siblings.append(child.number)
        self.parent_of[child.number] = parent.number

    async def unlink_child(self, parent: Issue, child: Issue) -> None:
        self._log("unlink_child", str(parent.number), str(child.number))
        if self.parent_of.get(child.number) == parent.number:
            del self.parent_of[child.number]
            self.children[parent.number].remove(child.number)

    async def list_children(self, parent: Issue) -> list[Issue]:
        self._log("list_children", str(parent.number))
        self._issue(parent.number)
        return [self.issues[n] for n in self.children.get(parent.number, [])]

    async def create_comment(self, number: int, body: str) -> Comment:
        self._log("create_comment", str(number))
        return self.add_comment_as(self.bot_login, number, body)

    async def update_comment(self, number: int, comment_id: int, body: str) -> Comment:
        self._log("update_comment", str(number), str(comment_id))
        comments = self.comments.get(number, [])
        for i, c in enumerate(comments):
            if c.id == comment_id:
                if c.author != self.bot_login:
                    raise Forbidden(f"comment {comment_id} was written by {c.author}, not by the bot")
                comments[i] = replace(c, body=body)
                return comments[i]
        raise NotFound(f"{self.full_name}#{number}: no comment {comment_id}")

    async def list_comments(self, number: int) -> list[Comment]:
        self._log("list_comments", str(number))
        self._issue(number)
        return list(self.comments.get(number, []))

    async def add_reaction(self, number: int, comment_id: int, reaction: str) -> None:
        self._log("add_reaction", str(number), str(comment_id), reaction)
        if not any(c.id == comment_id for c in self.comments.get(number, [])):
            raise NotFound(f"{self.full_name}#{number}: no comment {comment_id}")
        self.reactions.append(Reaction(number, comment_id, reaction, self.bot_login))

    async def permission(self, login: str) -> str:
        self._log("permission", login)
        return self.permissions.get(login, "none")

    async def is_team(self, name: str) -> bool:
        return "/" in name or name in self.teams  # a bare name in `teams` plays a GitLab group

    async def team_members(self, team: str) -> tuple[str, ...]:
        self._log("team_members", team)
        return tuple(self.teams.get(team, ()))

    async def report_check(self, report: CheckReport) -> None:
        self._log("report_check", report.name, report.commit, report.conclusion)
        self.checks.append(report)

    # --------------------------------------------------------------------------- helpers

    def _log(self, method: str, *args: str) -> None:
        self.calls.append((method, self.full_name, *args))
        if pending := self._failures.get(method):
            raise pending.pop(0)

    def _issue(self, number: int) -> Issue:
        try:
            return self.issues[number]
        except KeyError:
            raise NotFound(f"{self.full_name}: no issue #{number}") from None

    def _commit(self, commit: str) -> dict[str, bytes]:
        commit = self.branches.get(commit, commit)  # refs work like on GitHub
        try:
            return self.contents[commit]
        except KeyError:
            raise NotFound(f"{self.full_name}: no commit {commit}") from None

    def _stamp(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")


class MemoryClient:
    """A `PlatformClient` holding several `MemoryPlatform`s that share one call log."""

    name = "memory"

    def __init__(self, *, bot_login: str = "readiness-bot[bot]") -> None:
        self.bot_login = bot_login
        self.calls: list[tuple[str, ...]] = []
        self.repos: dict[str, MemoryPlatform] = {}
        self.installations: dict[int | None, list[str]] = {}

    def add_repo(
        self, full_name: str, *, installation_id: int | None = None, default_branch: str = "main"
    ) -> MemoryPlatform:
        repo = MemoryPlatform(
            full_name,
            bot_login=self.bot_login,
            default_branch=default_branch,
            repo_id=len(self.repos) + 1,
            calls=self.calls,
        )
        self.repos[full_name] = repo
        self.installations.setdefault(installation_id, []).append(full_name)
        return repo

    async def for_repo(self, full_name: str, *, installation_id: int | None = None) -> MemoryPlatform:
        self.calls.append(("for_repo", full_name))
        try:
            return self.repos[full_name]
        except KeyError:
            raise NotFound(f"no repository {full_name}") from None

    async def installation_repos(self, installation_id: int | None = None) -> list[RepoInfo]:
        self.calls.append(("installation_repos", str(installation_id)))
        names = self.installations.get(installation_id, [])
        return [
            RepoInfo(
                full_name=n,
                id=self.repos[n].repo_id,
                default_branch=self.repos[n].default,
                archived=self.repos[n].archived,
            )
            for n in names
        ]

    async def aclose(self) -> None:
        return None
