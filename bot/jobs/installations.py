"""The installations handler: onboard every repository an installation event adds (one sync each)."""

from __future__ import annotations

from bot.core.events import Event
from bot.jobs.context import Context
from bot.sync import SyncResult


class InstallationHandler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def __call__(self, event: Event) -> list[SyncResult]:
        return [await self.ctx.sync(r, installation_id=event.installation_id) for r in event.repos_added]
