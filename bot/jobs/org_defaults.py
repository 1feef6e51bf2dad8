"""The organisation's default `.readiness.yml`, read as cheaply as the platform allows.

Every sync of every repository asks for it, and most organisations have none. So: the text is
kept with the validator the platform gave (GitHub: the ETag, sent back as `If-None-Match`; a
`304` does not count against the rate limit; GitLab: the default branch's head commit), and a
missing default is remembered for `ttl` (READINESS_ORG_DEFAULT_TTL_SECONDS) or until a push to
the source repository, whichever comes first. Per process: a replica that has not asked yet
pays one full read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.core.settings import CONFIG_FILE
from bot.platforms.base import NotFound, Platform

Key = tuple[str, str]  # (platform, source repository)


class OrgDefaults:
    def __init__(self, ttl: timedelta, clock: Callable[[], datetime]) -> None:
        self.ttl = ttl
        self.clock = clock
        self._missing: dict[Key, datetime] = {}  # source -> remembered as missing until
        self._known: dict[Key, tuple[str | None, str]] = {}  # source -> (validator, text)

    def pushed(self, key: Key) -> None:
        """A push to `key`'s repository: it may have added its default, so ask again."""
        self._missing.pop(key, None)

    async def read(self, key: Key, open_source: Callable[[], Awaitable[Platform]]) -> str | None:
        """The default's text, or None when the source has none (or is not reachable)."""
        until = self._missing.get(key)
        if until is not None and self.clock() < until:
            return None
        known = self._known.get(key)
        try:
            source = await open_source()
            found = await source.default_branch_file(CONFIG_FILE, etag=known[0] if known else None)
        except NotFound:
            found = None
        if found is not None and found.unchanged and known is not None:
            return known[1]
        if found is None or found.data is None:
            self._known.pop(key, None)
            self._missing[key] = self.clock() + self.ttl
            return None
        text = found.data.decode("utf-8", errors="replace")
        self._known[key] = (found.etag, text)
        return text
