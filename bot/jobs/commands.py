"""Answer `/readiness …` comments on the bot's own issues: status, sync, why, done, undo, skip, unskip, help.

Idempotency: a `CommandComment` row per answered comment (migration 0004). The row is written
right *after* the reply, not before the work: the worker runs a repository's deliveries one at a
time, so no second attempt can run beside this one, and a failure before the reply (a sync that
hits a 502) leaves no row, so the retry does the whole command again. State changes are
idempotent; only the reply is not, and it is the last write before the row. The only window for
a double answer is a crash between the reply and the row's commit; the alternative (row first)
would silently drop the command instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlmodel import Session

from bot import ownership
from bot.core import command_effects, commands, exemptions, summary, tracker
from bot.core.actions import PostComment, React
from bot.core.commands import Command, CommandError
from bot.core.events import Event, Kind
from bot.core.state import ItemState
from bot.jobs.context import Context, Loaded
from bot.jobs.history import changes_since, numbers_of
from bot.platforms.base import Comment, NotFound, Platform
from bot.store import once, tracking
from bot.store.db import session_scope
from bot.store.locks import repository_lock
from bot.store.models import Repository
from bot.sync import SyncResult

log = structlog.get_logger(__name__)

WRITERS = frozenset({"admin", "maintain", "write"})
RECENT = timedelta(days=7)
NEW_COMMENT = frozenset({None, "created", "create"})  # GitHub "created", GitLab notes "create"


@dataclass
class _Run:
    """What one comment's commands did, for the single reply."""

    event: Event
    platform: Platform
    repository_id: int
    loaded: Loaded | None
    lines: list[str | None] = field(default_factory=list)  # None: the status, rendered after the sync
    changed: bool = False  # an item state changed: sync so the issues show it
    sync: bool = False  # `/readiness sync` asked for
    permission: str | None = None


class CommandHandler:
    """The `command` route's handler (`Kind.COMMENT` events); syncs through the Context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def __call__(self, event: Event) -> list[SyncResult]:
        if (
            event.kind is not Kind.COMMENT
            or event.repo is None
            or event.issue_number is None
            or event.comment_id is None
            or event.action not in NEW_COMMENT
        ):
            return []
        parsed = commands.parse(event.body)
        if not parsed:
            return []
        ch = self.ctx
        platform = await ch.platform_for(event.repo, event.installation_id)
        if event.sender_is_bot or event.sender == platform.bot_login:
            return []  # never act on our own comments
        repository_id = ch.repository_id_for(event.repo, event.installation_id)
        with session_scope(ch.engine) as s:
            owned = tracking.owned_issues(s, repository_id=repository_id)
            if not _ours(owned, event.issue_number) or _answered(s, repository_id, event.comment_id):
                return []
        if await self._flooded(event, platform, repository_id):
            return []
        write = ch.writer(platform)
        try:
            await write.one(React(event.issue_number, event.comment_id, "eyes"))
        except NotFound:
            return []  # the comment was deleted before we got to it
        run = _Run(event, platform, repository_id, await self._load(event, platform, repository_id))
        for cmd in parsed:
            await self._one(run, cmd)
        results: list[SyncResult] = []
        if run.changed or run.sync:
            results.append(await ch.sync(event.repo, installation_id=event.installation_id))
        reply_id = None
        if run.lines:
            who = f"@{event.sender} " if event.sender else ""
            text = "\n\n".join(line if line is not None else self._status(run) for line in run.lines)
            reply = await write.one(PostComment(event.issue_number, who + text))
            assert isinstance(reply, Comment)
            reply_id = reply.id
        with session_scope(ch.engine) as s:
            _record(s, repository_id, event, reply_id, ch.clock())
        if run.sync:
            await write.one(React(event.issue_number, event.comment_id, "+1"))
        log.info(
            "commands.answered", by=event.sender, commands=[c.name for c in parsed if isinstance(c, Command)]
        )
        return results

    async def _flooded(self, event: Event, platform: Platform, repository_id: int) -> bool:
        """Past the per-person limit: one reply saying when to try again, then silence until then.
        The comment is recorded either way, so a redelivery is not answered twice."""
        limit, now = self.ctx.command_limit, self.ctx.clock()
        with session_scope(self.ctx.engine) as s:
            sent = once.commands_sent_since(
                s, repository_id=repository_id, sender=event.sender, since=now - limit.window
            )
        retry_at = commands.flood_retry_at([_aware(t) for t in sent], now, limit)
        if retry_at is None:
            return False
        reply_id = None
        with session_scope(self.ctx.engine) as s:
            told = once.throttle_told_since(
                s, repository_id=repository_id, sender=event.sender, since=now - limit.window
            )
        if not told:  # the first comment over the limit is told, later ones are not
            minutes = max(1, math.ceil((retry_at - now).total_seconds() / 60))
            text = (
                f"@{event.sender} you sent {limit.count} `/readiness` commands in a short while; "
                f"please try again in {minutes} minute{'s' if minutes != 1 else ''} "
                f"(after {retry_at:%H:%M} UTC). Nothing was done for this comment."
            )
            reply = await self.ctx.writer(platform).one(PostComment(event.issue_number or 0, text))
            assert isinstance(reply, Comment)
            reply_id = reply.id
        with session_scope(self.ctx.engine) as s:
            _record(s, repository_id, event, reply_id, now, throttled=True)
        log.info("commands.flooded", by=event.sender, retry_at=retry_at.isoformat())
        return True

    async def _load(self, event: Event, platform: Platform, repository_id: int) -> Loaded | None:
        """Config and checklists as of the last sync: what the issues show."""
        assert event.repo is not None
        with session_scope(self.ctx.engine) as s:
            row = s.get(Repository, repository_id)
            commit = row.last_synced_commit if row is not None else None
        commit = commit or (await platform.default_branch()).commit
        return await self.ctx.config_at(platform, event.repo, repository_id, commit)

    async def _one(self, run: _Run, cmd: Command | CommandError) -> None:
        if isinstance(cmd, CommandError):
            run.lines.append(f"`{cmd.text}`: {cmd}")
        elif command_effects.changes_state(cmd.name):
            await self._change_state(run, cmd)
        elif cmd.name == "help":
            run.lines.append(commands.help_text())
        elif cmd.name == "sync":
            run.sync = True
        elif cmd.name == "status":
            run.lines.append(None)  # rendered after any skip and sync in the same comment
        elif cmd.name == "why":
            run.lines.append(self._why(run, cmd))

    def _status(self, run: _Run) -> str:
        if run.loaded is None:
            return "This repository has no valid `.readiness.yml` right now, so there is nothing to report."
        now = self.ctx.clock()
        with session_scope(self.ctx.engine) as s:
            states = tracking.load_states(s, repository_id=run.repository_id)
            changes = changes_since(s, repository_id=run.repository_id, since=now - RECENT)
            numbers = numbers_of(tracking.owned_issues(s, repository_id=run.repository_id))
        return summary.render_status(
            repo=run.platform.full_name,
            checklists=run.loaded[1],
            states=states,
            changes=changes,
            numbers=numbers,
            since=now - RECENT,
        )

    def _why(self, run: _Run, cmd: Command) -> str:
        """Anyone may ask why: it reads, never changes."""
        if run.loaded is None:
            return "This repository has no valid `.readiness.yml` right now, so there is nothing to explain."
        known = {c.template.id: {i.id: i.title for _, i in c.template.items()} for c in run.loaded[1]}
        found = commands.resolve_item(cmd.target or "", known)
        if isinstance(found, str):
            return f"`/readiness why {cmd.target}`: {found}"
        checklist_id, item = found
        resolved = next(c for c in run.loaded[1] if c.template.id == checklist_id)
        with session_scope(self.ctx.engine) as s:
            states = tracking.load_states(s, repository_id=run.repository_id)
        state = states.get(checklist_id, {}).get(item) or ItemState(checklist=checklist_id, item_id=item)
        return summary.explain_item(resolved, item, state)

    async def _change_state(self, run: _Run, cmd: Command) -> None:
        login = run.event.sender or ""
        if run.permission is None:
            run.permission = await run.platform.permission(login) if login else "none"
        if run.permission not in WRITERS and cmd.name != "approve":  # approvers: named by the organisation
            run.lines.append(
                f"Sorry, `/readiness {cmd.name}` needs write access to this repository, and you have "
                f"{run.permission} access. Ask a maintainer, or tick the box by hand. Nothing was changed."
            )
            return
        if run.loaded is None:
            run.lines.append("This repository has no valid `.readiness.yml`, so no item can be changed.")
            return
        known = {c.template.id: {i.id: i.title for _, i in c.template.items()} for c in run.loaded[1]}
        found = commands.resolve_item(cmd.target or "", known)
        if isinstance(found, str):
            run.lines.append(f"`/readiness {cmd.name} {cmd.target}`: {found}")
            return
        checklist, item = found
        resolved = next(c for c in run.loaded[1] if c.template.id == checklist)
        rules = exemptions.Rules(item in resolved.mandatory, tuple(resolved.approvers.get(item, ())))
        approver = (
            await _is_approver(run.platform, login, rules) if cmd.name in ("skip", "approve") else False
        )
        engine, now = self.ctx.engine, self.ctx.clock()
        async with repository_lock(engine, run.repository_id):
            with session_scope(engine) as s:
                states = tracking.load_states(s, repository_id=run.repository_id)
                old = states.get(checklist, {}).get(item) or ItemState(checklist=checklist, item_id=item)
                message, new = command_effects.decide(cmd, old, login, now, rules, approver)
                if new is not None:
                    tracking.save_states(
                        s, repository_id=run.repository_id, states=[new], previous=states, now=now
                    )
                    run.changed = True
        run.lines.append(message)


async def _is_approver(platform: Platform, login: str, rules: exemptions.Rules) -> bool:
    """Approver teams are read through their members (a read; nothing is written)."""
    if not login or not rules.approvers:
        return False
    members = await ownership.team_members(platform, rules.approvers)
    return exemptions.is_approver(login, rules.approvers, members)


def _ours(owned: dict, number: int) -> bool:
    """Commands work on the bot's epic and section issues only."""
    return any(
        r.number == number and (k == tracker.EPIC_KEY or k.startswith("section:")) for k, r in owned.items()
    )


def _answered(session: Session, repository_id: int, comment_id: int) -> bool:
    return once.command_answered(session, repository_id=repository_id, comment_id=comment_id)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _record(
    session: Session,
    repository_id: int,
    event: Event,
    reply_id: int | None,
    at: datetime | None = None,
    *,
    throttled: bool = False,
) -> None:
    assert event.comment_id is not None and event.issue_number is not None
    once.record_command(
        session,
        repository_id=repository_id,
        comment_id=event.comment_id,
        issue_number=event.issue_number,
        sender=event.sender,
        reply_id=reply_id,
        at=at,
        throttled=throttled,
    )
