"""The one event type the bot uses after the webhook edge, for GitHub and GitLab alike.

Webhook payloads, `/readiness` commands and scheduled jobs are all normalised into `Event`,
and every event becomes (at most) one "sync this repository" job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NewType

Platform = NewType("Platform", str)
"""A platform's name ("github", "gitlab", …): whatever `bot/platforms/registry.py` registers.

A plain string, not a closed enum, so the core knows no platform: a new one is its package and
one registry line. Values are made only by a platform package (its spec's name) or by
`registry.platform_named`, which refuses names nobody registered."""


class Kind(StrEnum):
    PING = "ping"
    INSTALLATION = "installation"  # app installed/uninstalled/suspended; repos added/removed
    PUSH = "push"  # commits pushed (any branch; `ref` says which)
    CI = "ci"  # a check run / suite / workflow run / job / pipeline changed
    ISSUE_EDITED = "issue_edited"  # an issue's body/state changed (maybe a human tick)
    COMMENT = "comment"  # a comment on an issue (maybe a `/readiness` command)
    SCHEDULE = "schedule"  # weekly summary or periodic resync
    IGNORED = "ignored"  # authentic, but nothing the bot acts on


@dataclass(frozen=True, slots=True)
class RepoRef:
    """A repository on a platform. `full_name` is `owner/name` (GitLab: the path with namespace)."""

    platform: Platform
    full_name: str
    id: int | None = None  # GitHub repository id / GitLab project id
    installation_id: int | None = None  # GitHub App installation id (None on GitLab)
    default_branch: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    platform: Platform
    kind: Kind
    name: str  # the platform's event name, e.g. "push", "issues", "Pipeline Hook"
    action: str | None = None
    repo: RepoRef | None = None
    installation_id: int | None = None
    sender: str | None = None  # login of who caused it
    sender_is_bot: bool = False
    ref: str | None = None  # e.g. "refs/heads/main"
    commit: str | None = None  # head commit (push `after`, CI head sha)
    issue_number: int | None = None  # GitHub number / GitLab iid
    comment_id: int | None = None
    body: str | None = None  # issue or comment body where relevant
    previous_body: str | None = None  # issues.edited `changes.body.from`
    repos_added: tuple[RepoRef, ...] = ()
    repos_removed: tuple[RepoRef, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    # the repository's topics as the payload states them (GitHub sends `repository.topics` with
    # most events); None when the payload says nothing, which is not "no topics"
    topics: tuple[str, ...] | None = None
