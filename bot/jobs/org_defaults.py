"""The organisation's default `.readiness.yml`, read as cheaply as the platform allows.

Every sync of every repository asks for it, and most organisations have none. So: the text is
kept with the validator the platform gave (GitHub: the ETag, sent back as `If-None-Match`; a
`304` does not count against the rate limit; GitLab: the default branch's head commit), and a
missing default is remembered for `ttl` (READINESS_ORG_DEFAULT_TTL_SECONDS) or until a push to
the source repository, whichever comes first. The memory is a database row
(`bot.store.org_defaults`), so replicas share it and a restart keeps it; the sync reads it in
its one read transaction and writes what changed in its write transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.core.settings import CONFIG_FILE
from bot.platforms.base import NotFound, Platform
from bot.store.org_defaults import Remembered

Key = tuple[str, str]  # (platform, source repository)


class OrgDefaults:
    def __init__(self, ttl: timedelta, clock: Callable[[], datetime]) -> None:
        self.ttl = ttl
        self.clock = clock

    async def read(
        self, remembered: Remembered | None, open_source: Callable[[], Awaitable[Platform]]
    ) -> tuple[str | None, Remembered | None]:
        """The default's text (None when the source has none or is not reachable), and what to
        remember now (None: the memory still holds)."""
        now = self.clock()
        if remembered is not None and remembered.missing_until is not None and now < remembered.missing_until:
            return None, None  # remembered as missing
        known = remembered if remembered is not None and remembered.text is not None else None
        try:
            source = await open_source()
            found = await source.default_branch_file(CONFIG_FILE, etag=known.etag if known else None)
        except NotFound:
            found = None
        if found is not None and found.unchanged and known is not None:
            return known.text, None
        if found is None or found.data is None:
            return None, Remembered(missing_until=now + self.ttl)
        text = found.data.decode("utf-8", errors="replace")
        return text, Remembered(etag=found.etag, text=text)
