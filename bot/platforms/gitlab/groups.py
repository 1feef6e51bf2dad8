"""Whether a bare GitLab owner name (`@name`) is a top-level group or a user.

Users and groups share one namespace on GitLab, so the name alone cannot tell: `@team-top` in
CODEOWNERS or `owners:` may be either (a subgroup, `@group/sub`, can only be a group). The answer
is `GET /groups/:name` (404: no such group, so a user). It is asked once per name and kept per
process in a cache that is bounded in entries and in time, since a group can be created later.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import structlog
from gitlab.utils import EncodedId

from bot.platforms.base import Forbidden, NotFound
from bot.platforms.gitlab.http import RetryingGitlab

log = structlog.get_logger(__name__)

GROUP_TTL_SECONDS = 3600.0  # a group created (or a user renamed) is seen within the hour
MAX_NAMES = 4096  # names remembered per process; the oldest goes first


class GroupLookup:
    """Bare names -> is a group, cached (bounded, with a TTL). Blocking: call inside `run`."""

    def __init__(
        self,
        gl: RetryingGitlab,
        clock: Callable[[], float],
        *,
        ttl: float = GROUP_TTL_SECONDS,
        size: int = MAX_NAMES,
    ) -> None:
        self._gl = gl
        self._clock = clock
        self._ttl = ttl
        self._size = size
        self._known: OrderedDict[str, tuple[float, bool]] = OrderedDict()  # name -> (until, group?)
        self._lock = threading.Lock()  # lookups run in worker threads

    def is_group(self, name: str) -> bool:
        """Whether `name` (without `@`) names a group the token can see; a subgroup path always does."""
        if "/" in name:
            return True
        key = name.lower()  # GitLab paths are matched case-insensitively
        now = self._clock()
        with self._lock:
            found = self._known.get(key)
            if found is not None and now < found[0]:
                return found[1]
        group = self._ask(name)
        with self._lock:
            self._known[key] = (now + self._ttl, group)
            self._known.move_to_end(key)
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return group

    def _ask(self, name: str) -> bool:
        try:
            self._gl.http_get(f"/groups/{EncodedId(name)}", query_data={"with_projects": "false"})
        except NotFound:
            return False  # a user (or a group the token cannot see, which it could not assign either)
        except Forbidden as exc:
            log.warning("gitlab.group_unreadable", group=name, error=str(exc))
            return False
        return True
