"""The one interface the bot uses to talk to GitHub or GitLab, and the errors it may raise.

Callers never see library exceptions (githubkit, python-gitlab, httpx, requests): adapters map
them to the few error types below so retry and dead-letter decisions live in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

# re-exported: defined in the core, with the actions that carry them
from bot.core.actions import Annotation as Annotation
from bot.core.actions import CheckReport as CheckReport
from bot.core.snapshot import CIResult
from bot.core.yamlload import READ_CAP

# ---------------------------------------------------------------------------------------- errors


class PlatformError(Exception):
    """Base class; `transient` tells the worker whether retrying may help."""

    transient = False


class NotFound(PlatformError):
    pass


class Forbidden(PlatformError):
    pass


class Invalid(PlatformError):
    """The platform rejected what we sent (422/400): retrying the same request will not help."""


class Transient(PlatformError):
    """5xx, timeouts, connection errors."""

    transient = True


class RateLimited(PlatformError):
    """A primary or secondary rate limit; `retry_after` seconds until it is worth trying again."""

    transient = True

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# ------------------------------------------------------------------------------------ data types


@dataclass(frozen=True, slots=True)
class Branch:
    name: str
    commit: str


@dataclass(frozen=True, slots=True)
class Tree:
    """All blob paths at a commit. `complete` is False only when the platform could not list all.

    `blobs` maps a path to its git blob sha where the platform says it: content with a known sha
    never changes, so callers can cache file contents across commits by it. `sizes` maps a path
    to its real size in bytes where the listing gives it (GitHub's trees API does, GitLab's does
    not), so an oversized file is refused without downloading it."""

    commit: str
    paths: tuple[str, ...]
    complete: bool = True
    blobs: Mapping[str, str] = field(default_factory=dict)
    sizes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Issue:
    """An issue as the platform reports it.

    `number` is what people see (GitHub number / GitLab iid); `id` is the platform's global id
    (GitHub database id, needed for sub-issue calls; GitLab global issue id). Store both.
    """

    number: int
    id: int
    title: str
    body: str
    state: str  # "open" | "closed"
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    author: str | None = None
    url: str | None = None
    updated_at: str | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    body: str
    author: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class IssueUpdate:
    """Fields to change; None means leave as is."""

    title: str | None = None
    body: str | None = None
    state: str | None = None  # "open" | "closed"
    labels: tuple[str, ...] | None = None
    assignees: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Revalidated:
    """A file on the default branch, read conditionally. `unchanged`: the validator sent still
    holds (GitHub answers `304`, which does not count against the rate limit); otherwise `data`
    (None: no such file or repository) and the validator to send next time."""

    unchanged: bool = False
    data: bytes | None = None
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class RepoInfo:
    full_name: str
    id: int
    default_branch: str
    archived: bool = False


# ------------------------------------------------------------------------------------- protocol


@runtime_checkable
class Platform(Protocol):
    """One repository-scoped view of a platform. Instances are bound to one repository
    (and, on GitHub, one installation); `for_repo` on the client factory builds them."""

    name: str  # "github" | "gitlab" | "memory"
    full_name: str
    bot_login: str  # our own login, to ignore our echoes

    async def default_branch(self) -> Branch: ...

    async def tree(self, commit: str) -> Tree: ...

    async def file(self, path: str, commit: str, *, max_bytes: int = READ_CAP) -> bytes | None:
        """The file's bytes (first `max_bytes` at most), or None when it does not exist."""
        ...

    async def files(
        self, paths: Sequence[str], commit: str, *, max_bytes: int = READ_CAP
    ) -> dict[str, bytes | None]:
        """Several files in as few calls as the platform allows (GitHub and GitLab: 50 per
        GraphQL query), so a sync's `contains` rules cost a few reads. Best effort: the result
        holds the paths read that way, each as `file` would give it (None: no such file); the
        caller reads any other path with `file`, if it still needs it."""
        ...

    async def default_branch_file(self, path: str, *, etag: str | None = None) -> Revalidated:
        """`path` on the default branch, unless `etag` (from an earlier answer) still holds: for
        a file read on every sync that rarely changes (the organisation default)."""
        ...

    async def ci_results(self, commit: str) -> list[CIResult]: ...

    async def create_issue(
        self,
        *,
        title: str,
        body: str,
        labels: tuple[str, ...] = (),
        assignees: tuple[str, ...] = (),
        child: bool = False,
    ) -> Issue:
        """`child`: it will be linked under a parent (a section under the epic); a platform
        that has a child type (GitLab tasks) may create it as one directly."""
        ...

    async def get_issue(self, number: int) -> Issue: ...

    async def update_issue(self, number: int, update: IssueUpdate) -> Issue: ...

    async def find_issues(self, marker: str) -> list[Issue]:
        """Issues (open or closed) authored by the bot whose body contains `marker`."""
        ...

    async def ensure_labels(self, labels: tuple[str, ...]) -> None: ...

    async def link_child(self, parent: Issue, child: Issue) -> None:
        """Make `child` a sub-issue of `parent` (GitHub sub-issues; GitLab issue link/child)."""
        ...

    async def unlink_child(self, parent: Issue, child: Issue) -> None: ...

    async def list_children(self, parent: Issue) -> list[Issue]: ...

    async def create_comment(self, number: int, body: str) -> Comment: ...

    async def update_comment(self, number: int, comment_id: int, body: str) -> Comment: ...

    async def list_comments(self, number: int) -> list[Comment]: ...

    async def add_reaction(self, number: int, comment_id: int, reaction: str) -> None: ...

    async def permission(self, login: str) -> str:
        """'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none'."""
        ...

    async def report_check(self, report: CheckReport) -> None:
        """Publish a check run (GitHub) or commit status (GitLab) on a commit."""
        ...

    async def is_team(self, name: str) -> bool:
        """Whether an owner name (without `@`) is a team or group rather than a user: `org/team`
        always is; a bare name is a user on GitHub and may be a top-level group on GitLab."""
        ...

    async def team_members(self, team: str) -> tuple[str, ...]:
        """Logins in a team (GitHub `org/team`) or group (GitLab `group/subgroup`), so an owner
        team can be assigned through its people; () when it does not exist or cannot be read."""
        ...


@runtime_checkable
class PlatformClient(Protocol):
    """Builds repository-scoped `Platform`s; one per platform per process (holds tokens, pacing)."""

    name: str

    async def for_repo(self, full_name: str, *, installation_id: int | None = None) -> Platform: ...

    async def installation_repos(self, installation_id: int | None = None) -> list[RepoInfo]:
        """Repositories the bot can see (GitHub: of an installation; GitLab: of the token)."""
        ...

    async def aclose(self) -> None: ...


async def revalidate_by_head(platform: Platform, path: str, etag: str | None) -> Revalidated:
    """`default_branch_file` where the platform has no conditional read: the default branch's
    head commit is the validator (two reads when it moved or is unknown, one when it did not)."""
    try:
        head = (await platform.default_branch()).commit
    except NotFound:
        return Revalidated()
    if head == etag:
        return Revalidated(unchanged=True, etag=etag)
    try:
        data = await platform.file(path, head)
    except NotFound:
        data = None
    return Revalidated(data=data, etag=head)
