"""What a GitLab project adapter needs of the process-wide client, as a Protocol.

`GitLabClient` builds one `GitLabRepo` per project and satisfies this structurally; the adapter
(and its `ChildLinks` part) depend on this interface, not on the client's module, so the GitLab
modules import one way only: client -> repo -> connection, never back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from bot.platforms.gitlab.graphql import GitLabGraphQL
from bot.platforms.gitlab.groups import GroupLookup
from bot.platforms.gitlab.hierarchy import Hierarchy
from bot.platforms.gitlab.http import RetryingGitlab
from bot.platforms.pacing import WritePacer

T = TypeVar("T")


class GitLabConnection(Protocol):
    url: str  # the instance, without a trailing slash
    gl: RetryingGitlab
    graphql: GitLabGraphQL
    hierarchy: Hierarchy
    groups: GroupLookup
    pacer: WritePacer
    blob_queries: bool  # cleared for good once GitLab refuses `repository.blobs`

    async def run(self, fn: Callable[[], T]) -> T:
        """Run blocking python-gitlab code off the event loop."""
        ...

    def user_id(self, login: str) -> int | None:
        """Blocking (inside `run`): a username's id, or None."""
        ...
