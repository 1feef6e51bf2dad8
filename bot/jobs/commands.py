"""Answer `/readiness …` comments on the bot's own issues: status, sync, why, done, undo, skip, unskip, help.

Routing is two tables in the core, one entry per command: `command_effects.DECIDERS` (changes an
item: permission check, lock, save) and `command_answers.ANSWERS` (reads only: answered after the
comment's state changes and sync, from one read of what they left). This module has no branch
per command name.

Idempotency: a `CommandComment` row per answered comment (migration 0004). The row is claimed
right *before* the reply and finished right after it, not before the work: the worker runs a
repository's deliveries one at a time, so no second attempt can run beside this one, and a
failure before the reply (a sync that hits a 502) leaves no row, so the retry does the whole
command again. State changes are idempotent; the reply carries a hidden marker with the command
comment's id. A retry that finds the claim unfinished (a 502 after the platform posted, a crash
between the reply and the row's commit) lets apply adopt a reply of the bot's with that marker
instead of posting again; a first attempt posts without reading the comments (migration 0017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlmodel import Session

from bot import ownership
from bot.apply import Apply
from bot.core import command_answers, command_effects, commands, exemptions, tracker
from bot.core.actions import PostComment, React
from bot.core.command_answers import ANSWERS, Seen
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
NEW_COMMENT = frozenset({None, "created", "create"})  # GitHub "created", GitLab notes "create"


@dataclass
class _Run:
    """What one comment's commands did, for the single reply."""

    event: Event
    platform: Platform
    repository_id: int
    loaded: Loaded | None
    lines: list[str | Command] = field(default_factory=list)  # a Command: a read-only answer, given last
    changed: bool = False  # an item state changed: sync so the issues show it
    sync: bool = False  # a command that syncs (`/readiness sync`) was asked for
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
        seen = self._seen(run) if any(isinstance(line, Command) for line in run.lines) else None
        texts = [text for line in run.lines if (text := _answer(line, seen))]
        if texts:
            who = f"@{event.sender} " if event.sender else ""
            reply_id = await self._post_reply(write, event, repository_id, who + "\n\n".join(texts))
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
            reply_id = await self._post_reply(self.ctx.writer(platform), event, repository_id, text)
        with session_scope(self.ctx.engine) as s:
            _record(s, repository_id, event, reply_id, now, throttled=True)
        log.info("commands.flooded", by=event.sender, retry_at=retry_at.isoformat())
        return True

    async def _post_reply(self, write: Apply, event: Event, repository_id: int, text: str) -> int:
        """Claim the reply, then post it; only when an earlier attempt claimed it and did not
        finish (a 502 after the platform posted, a crash) are the issue's comments read to adopt
        the reply already out. The claim is finished by `_record`."""
        assert event.comment_id is not None and event.issue_number is not None
        with session_scope(self.ctx.engine) as s:
            first = once.claim_reply(
                s,
                repository_id=repository_id,
                comment_id=event.comment_id,
                issue_number=event.issue_number,
                sender=event.sender,
                at=self.ctx.clock(),
            )
        reply = await write.one(_reply(event, text, adopt=not first))
        assert isinstance(reply, Comment)
        return reply.id

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
        else:
            run.sync = run.sync or ANSWERS[cmd.name].syncs
            run.lines.append(cmd)  # answered after every change and sync this comment asks for

    def _seen(self, run: _Run) -> Seen:
        """What read-only answers see, in one read."""
        now = self.ctx.clock()
        with session_scope(self.ctx.engine, immediate=False) as s:
            states = tracking.load_states(s, repository_id=run.repository_id)
            changes = changes_since(s, repository_id=run.repository_id, since=now - command_answers.RECENT)
            numbers = numbers_of(tracking.owned_issues(s, repository_id=run.repository_id))
        checklists = run.loaded[1] if run.loaded is not None else None
        return Seen(run.platform.full_name, checklists, states, changes, numbers, now)

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
        found = commands.resolve_item(cmd.target or "", command_answers.known_items(run.loaded[1]))
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


def _answer(line: str | Command, seen: Seen | None) -> str | None:
    """A line of the reply: written already, or a read-only command's answer (None: none)."""
    if isinstance(line, str):
        return line
    assert seen is not None
    return ANSWERS[line.name].answer(line, seen)


def _reply(event: Event, text: str, *, adopt: bool) -> PostComment:
    """The reply to a command comment, marked with its id; with `adopt` (a retry of an
    interrupted reply) apply adopts a reply already posted instead of posting it again."""
    assert event.comment_id is not None and event.issue_number is not None
    marker = commands.reply_marker(event.comment_id)
    return PostComment(event.issue_number, f"{text}\n\n{marker}", marker=marker if adopt else None)


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
