"""The checklist handler: record a person's ticks (an edited section issue), then sync.

Handles the `sync` and `ticks` routes (pushes, CI results, resyncs, edited issues). It never
writes to a platform itself: the sync plans and `bot.apply` writes.
"""

from __future__ import annotations

import structlog

from bot.core import tracker
from bot.core.decide import apply_human_ticks
from bot.core.events import Event, Kind
from bot.jobs.context import Context
from bot.metrics import DISPATCH_DROPS
from bot.store import tracking
from bot.store.db import session_scope
from bot.sync import SyncResult

log = structlog.get_logger(__name__)


class ChecklistHandler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def __call__(self, event: Event, *, last_synced: str | None = None) -> list[SyncResult]:
        if event.repo is None:
            return []
        if event.kind is Kind.ISSUE_EDITED:
            platform = await self.ctx.platform_for(event.repo, event.installation_id)
            if event.sender == platform.bot_login:
                DISPATCH_DROPS.labels(event.platform, "own_echo").inc()
                return []  # the echo of our own edit
            if not self._record_ticks(event):
                return []
        commit = self._push_head(event) if event.kind is Kind.PUSH else None
        if event.kind is Kind.CI and event.commit is not None and event.commit == last_synced:
            commit = last_synced  # CI for the head already synced: no need to ask for the branch head
        return [await self.ctx.sync(event.repo, installation_id=event.installation_id, commit=commit)]

    def _push_head(self, event: Event) -> str | None:
        """The commit a push says the branch is at, when it continues the history the bot synced
        last; None (ask the platform for the head) when pushes were reordered, missed or folded
        together: GitHub does not deliver in order, and syncing a late push's commit would show
        an old state of the repository until the next event."""
        before = event.extra.get("before")
        if before is None:  # several pushes folded into one sync (see Dispatcher._coalesce)
            return None
        last = self.ctx.last_synced(event.repo)
        return event.commit if last is None or before == last else None

    def _record_ticks(self, event: Event) -> bool:
        """A person edited one of our issues with items (a section, or the epic in the single
        layout): record their ticks. True if any."""
        key = tracker.key_from_body(event.body)
        if key is None or not (key.startswith("section:") or key == tracker.EPIC_KEY) or event.repo is None:
            return False
        ctx = self.ctx
        repo_id = ctx.repository_id_for(event.repo, event.installation_id)
        with session_scope(ctx.engine) as s:
            row = tracking.owned_issues(s, repository_id=repo_id).get(key)
            before_body = (
                event.previous_body if event.previous_body is not None else (row.body if row else None)
            )
            ticks = tracker.changed_boxes(
                tracker.parse_checkboxes(before_body), tracker.parse_checkboxes(event.body)
            )
            if not ticks:
                return False
            states = tracking.load_states(s, repository_id=repo_id)
            flat = {(c, i): st for c, cs in states.items() for i, st in cs.items()}
            decided = apply_human_ticks(current=flat, ticks=ticks, actor=event.sender or "?", now=ctx.clock())
            tracking.save_states(
                s, repository_id=repo_id, states=decided.values(), previous=states, now=ctx.clock()
            )
        log.info("ticks.recorded", by=event.sender, count=len(decided))
        return True
