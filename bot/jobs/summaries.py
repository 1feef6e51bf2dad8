"""Weekly summaries on the epic: when one is due, claiming the week, posting it exactly once.

The scheduler enqueues a `readiness.summary` delivery per repository every 15 minutes, so the
summary runs in the worker in order with the repository's webhooks (never beside its sync).
Exactly-once: the week is claimed by inserting its `SummaryPost` row (unique per repository and
ISO week) *before* posting, so two replicas cannot both post; a failed post deletes the claim, so
the next delivery retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from bot.apply import Apply
from bot.core import reminders, summary, tracker
from bot.core.actions import PostComment
from bot.core.events import Event, RepoRef
from bot.core.resolve import ResolvedChecklist
from bot.core.settings import SummarySchedule
from bot.core.state import ItemState
from bot.core.templates import Template
from bot.jobs.context import Context, Loaded
from bot.jobs.history import began_for, numbers_of, summary_inputs
from bot.platforms.base import Comment, Platform, PlatformClient, PlatformError
from bot.platforms.registry import platform_named
from bot.store import item_owners, mentions, once, repos, tracking
from bot.store.db import session_scope
from bot.store.locks import repository_lock
from bot.store.models import OwnedIssue, Repository

log = structlog.get_logger(__name__)

SUMMARY_EVENT = "readiness.summary"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEK = timedelta(days=7)
STALE_CLAIM = timedelta(hours=1)  # far longer than posting one comment takes
PRUNE_PER_RUN = 1_000  # owner mentions deleted per posted summary at most (a week adds far fewer)


def _aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC datetimes."""
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def iso_week(dt: datetime) -> str:
    year, week, _ = dt.isocalendar()
    return f"{year}-W{week:02d}"


def due_week(schedule: SummarySchedule, now: datetime, *, not_before: datetime | None = None) -> str | None:
    """The local ISO week whose summary is due at `now` (its weekday and time have passed in the
    schedule's time zone), or None. A week whose moment came before `not_before` (the epic did not
    exist yet) is not due: a repository onboarded on Wednesday waits for next Monday's summary."""
    zone = ZoneInfo(schedule.timezone)
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=local.weekday()) + timedelta(days=DAYS.index(schedule.day))
    hour, minute = (int(x) for x in schedule.time.split(":"))
    moment = datetime.combine(day, time(hour, minute), tzinfo=zone)  # zoneinfo resolves DST
    if now < moment or (not_before is not None and moment < not_before):
        return None
    return iso_week(local)


async def load_checklists(
    ctx: Context, platform: Platform, repo: RepoRef, repository_id: int, commit: str
) -> Loaded | None:
    """The repository's config and resolved checklists at `commit` (see `Context.load_checklists`)."""
    return await ctx.load_checklists(platform, repo, repository_id, commit)


def _claim(session: Session, repository_id: int, week: str, now: datetime) -> bool:
    return once.claim_summary_week(
        session, repository_id=repository_id, week=week, now=now, stale_after=STALE_CLAIM
    )


async def post_summary(
    engine: Engine,
    platform: Platform,
    repository_id: int,
    loaded: Loaded,
    now: datetime,
    *,
    writer: Apply | None = None,
) -> str:
    """Post this week's summary if it is due and nobody claimed the week; returns the outcome
    (posted | off | no-epic | not-due | claimed)."""
    config, checklists = loaded
    if config.summary is None:
        return "off"
    with session_scope(engine) as s:
        owned = tracking.owned_issues(s, repository_id=repository_id)
    epic = owned.get(tracker.EPIC_KEY)
    if epic is None or epic.number is None or epic.state != "open":
        return "no-epic"
    with session_scope(engine) as s:  # tracked since: the first history row (the sync's clock)
        began = tracking.tracked_since(s, repository_id=repository_id)
    week = due_week(config.summary, now, not_before=_aware(began))
    if week is None:
        return "not-due"
    previous = _last_posted(engine, repository_id)
    with session_scope(engine) as s:
        if not _claim(s, repository_id, week, now):
            return "claimed"
    try:
        since = previous or now - WEEK
        with session_scope(engine) as s:  # as the last sync resolved them: no file is read
            stored = item_owners.load_owners(s, repository_id=repository_id)
        owners = {
            k: stored[k]
            for c in checklists
            for _, i in c.template.items()
            if (k := (c.template.id, i.id)) in stored
        }
        body, to_act = render_with_reminders(
            engine,
            repository_id,
            checklists,
            owned,
            week=week,
            since=since,
            owners=owners,
            now=now,
            began=_aware(began),
        )
        comment = await (writer or Apply(platform, now)).one(PostComment(epic.number, body))
        assert isinstance(comment, Comment)
    except BaseException:
        with session_scope(engine) as s:  # give the week back: the next delivery retries
            once.give_back_summary_week(s, repository_id=repository_id, week=week)
        raise
    with session_scope(engine) as s:
        once.summary_comment_posted(s, repository_id=repository_id, week=week, comment_id=comment.id)
        mentions.record_mentions(s, repository_id=repository_id, reminders=to_act, at=now)
        pruned = mentions.prune_mentions(
            s,
            repository_id=repository_id,
            finished=reminders.FINISHED,
            before=now - reminders.MENTIONS_KEPT,
            limit=PRUNE_PER_RUN,
        )
    log.info("summary.posted", week=week, issue=epic.number, mentions_pruned=pruned)
    return "posted"


def render(
    engine: Engine,
    repository_id: int,
    checklists: Sequence[ResolvedChecklist],
    owned: Mapping[str, OwnedIssue],
    *,
    week: str,
    since: datetime,
    now: datetime | None = None,
) -> str:
    """The summary comment for `week` as a preview shows it (no owners read, nobody recorded)."""
    return render_with_reminders(engine, repository_id, checklists, owned, week=week, since=since, now=now)[0]


def render_with_reminders(
    engine: Engine,
    repository_id: int,
    checklists: Sequence[ResolvedChecklist],
    owned: Mapping[str, OwnedIssue],
    *,
    week: str,
    since: datetime,
    owners: Mapping[tuple[str, str], tuple[str, ...]] | None = None,
    now: datetime | None = None,
    began: datetime | None = None,
) -> tuple[str, list[reminders.Reminder]]:
    """The summary comment for `week` (progress now, and what changed since `since`), and the
    owners it mentions (to record, so reminders back off)."""
    now = now or since + WEEK
    with session_scope(engine) as s:
        states, changes = summary_inputs(s, [repository_id], since=since)[repository_id]
        said = mentions.load_mentions_for(s, [repository_id])[repository_id] if owners else {}
        if began is None:  # tracked since: the first history row
            began = began_for(s, [repository_id])[repository_id]
    return compose(
        week=week,
        checklists=checklists,
        states=states,
        changes=changes,
        numbers=numbers_of(owned),
        since=since,
        owners=owners or {},
        said=said,
        now=now,
        began=began,
    )


def compose(
    *,
    week: str,
    checklists: Sequence[ResolvedChecklist],
    states: Mapping[str, Mapping[str, ItemState]],
    changes: Sequence[summary.Change],
    numbers: Mapping[str, int],
    since: datetime,
    owners: Mapping[tuple[str, str], tuple[str, ...]],
    said: Mapping[tuple[str, str, str], Sequence[datetime]],
    now: datetime,
    began: datetime | None,
) -> tuple[str, list[reminders.Reminder]]:
    """One repository's summary from what was loaded for it (the job loads one repository, the
    bench a chunk at a time), and the owners it mentions."""
    to_act = reminders.owners_to_act(owners, states, said, now)
    governance = reminders.render(
        titles={(c.template.id, i.id): i.title for c in checklists for _, i in c.template.items()},
        numbers=numbers,
        attestations=reminders.attestations_due(checklists, states, now),
        stale=reminders.stale_sections(checklists, states, now, began),
        reminders=to_act,
    )
    return summary.render_summary(
        week=week,
        checklists=checklists,
        states=states,
        changes=changes,
        numbers=numbers,
        since=since,
        chart_weeks=summary.TREND_WEEKS,
        governance=governance,
    ), to_act


def _last_posted(engine: Engine, repository_id: int) -> datetime | None:
    with session_scope(engine) as s:
        posted = once.last_summary_at(s, repository_id=repository_id)
    return _aware(posted)


class SummaryJob:
    """Runs one repository's `readiness.summary` delivery."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def __call__(self, event: Event) -> str:
        if event.repo is None:
            return "skipped"
        return await self.run(event.repo)

    async def _load(self, repo: RepoRef) -> tuple[Platform, int, Loaded] | None:
        ctx = self.ctx
        with session_scope(ctx.engine) as s:
            row = repos.get_repository(s, platform=repo.platform, full_name=repo.full_name)
        if row is None or row.id is None or not row.active or row.config_status != "valid":
            return None
        platform = await ctx.platform_for(repo, repo.installation_id or row.installation_id)
        commit = row.last_synced_commit or (await platform.default_branch()).commit
        loaded = await ctx.config_at(platform, repo, row.id, commit)
        return None if loaded is None else (platform, row.id, loaded)

    async def run(self, repo: RepoRef) -> str:
        found = await self._load(repo)
        if found is None:
            return "no-config"
        platform, repository_id, loaded = found
        with structlog.contextvars.bound_contextvars(repo=repo.full_name):
            async with repository_lock(self.ctx.engine, repository_id):
                return await post_summary(
                    self.ctx.engine,
                    platform,
                    repository_id,
                    loaded,
                    self.ctx.clock(),
                    writer=self.ctx.writer(platform),
                )

    async def preview(self, repo: RepoRef) -> str | None:
        """This week's summary as it would be posted now, due or not; posts and claims nothing.
        None when the repository is not tracked with a valid config."""
        found = await self._load(repo)
        if found is None:
            return None
        _, repository_id, (_, checklists) = found
        now = self.ctx.clock()
        with session_scope(self.ctx.engine) as s:
            owned = tracking.owned_issues(s, repository_id=repository_id)
        since = _last_posted(self.ctx.engine, repository_id) or now - WEEK
        return render(
            self.ctx.engine, repository_id, checklists, owned, week=iso_week(now), since=since, now=now
        )


def _ref(row: Repository) -> RepoRef:
    return RepoRef(
        platform_named(row.platform),
        row.full_name,
        id=row.platform_id,
        installation_id=row.installation_id,
        default_branch=row.default_branch,
    )


async def post_due_summaries(
    engine: Engine,
    clients: Mapping[str, PlatformClient],
    shipped: Mapping[str, Template],
    now: datetime,
    *,
    only: RepoRef | None = None,
) -> dict[str, str]:
    """Every active repository's due summary (or `only` this one), one after another (the
    `readiness summary` command and tests; the server goes through the queue instead).
    full name -> outcome."""
    job = SummaryJob(Context(engine, clients, shipped, clock=lambda: now))
    with session_scope(engine) as s:
        rows: Sequence[Repository] = repos.active_repositories(s)
    out: dict[str, str] = {}
    for row in rows:
        if row.platform not in clients:
            continue
        if only is not None and (row.platform, row.full_name) != (only.platform, only.full_name):
            continue
        try:
            out[row.full_name] = await job.run(_ref(row))
        except PlatformError as exc:  # one repository's outage must not stop the others
            log.warning("summary.failed", repo=row.full_name, error=str(exc))
            out[row.full_name] = "failed"
    return out
