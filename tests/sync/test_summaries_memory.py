"""Weekly summaries over the in-memory platform: when they are due, what they say, exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from memory_world import REPO, TEMPLATE, Clock, issues_by_key, push, ref, tick_as
from sqlmodel import select

from bot.core import tracker
from bot.core.events import Event, Kind, Platform
from bot.core.settings import SummarySchedule
from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.jobs.scheduler import SUMMARY_EVENT, enqueue_summaries
from bot.jobs.summaries import SummaryJob, due_week, load_checklists, post_due_summaries, post_summary
from bot.platforms.base import Transient
from bot.platforms.memory import MemoryClient
from bot.store.db import make_engine, session_scope
from bot.store.models import Delivery, SummaryPost

SHIPPED = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
ONBOARDED = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # Monday, before 09:00
MONDAY_0905 = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)


# ------------------------------------------------------------------------------- when it is due


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "time", "zone", "now", "week"),
    [
        ("monday", "09:00", "UTC", "2026-11-23T08:59", None),
        ("monday", "09:00", "UTC", "2026-11-23T09:00", "2026-W48"),
        ("monday", "09:00", "UTC", "2026-11-29T23:59", "2026-W48"),  # late in the week: still due
        ("friday", "17:30", "UTC", "2026-11-23T12:00", None),  # this week's Friday has not come yet
        ("monday", "09:00", "Asia/Tokyo", "2026-11-22T23:59", None),  # Monday 08:59 in Tokyo
        ("monday", "09:00", "Asia/Tokyo", "2026-11-23T00:00", "2026-W48"),
        ("monday", "09:00", "America/Los_Angeles", "2026-11-23T16:59", None),
        ("monday", "09:00", "America/Los_Angeles", "2026-11-23T17:00", "2026-W48"),
        ("monday", "09:00", "Pacific/Auckland", "2026-11-22T19:59", None),  # UTC Sunday, local Monday
        ("monday", "09:00", "Pacific/Auckland", "2026-11-22T20:00", "2026-W48"),
        # Berlin: 09:00 is 08:00 UTC in winter and 07:00 UTC once summer time starts (29 March)
        ("monday", "09:00", "Europe/Berlin", "2026-03-23T07:30", None),
        ("monday", "09:00", "Europe/Berlin", "2026-03-23T08:00", "2026-W13"),
        ("monday", "09:00", "Europe/Berlin", "2026-03-30T06:59", None),
        ("monday", "09:00", "Europe/Berlin", "2026-03-30T07:00", "2026-W14"),
        # 02:30 does not exist on the night clocks go forward: it fires at 03:30 local (01:30 UTC)
        ("sunday", "02:30", "Europe/Berlin", "2026-03-29T01:29", None),
        ("sunday", "02:30", "Europe/Berlin", "2026-03-29T01:30", "2026-W13"),
        ("monday", "09:00", "America/New_York", "2026-03-09T12:59", None),  # EDT since Sunday
        ("monday", "09:00", "America/New_York", "2026-03-09T13:00", "2026-W11"),
    ],
)
def test_due_in_the_schedules_time_zone(day, time, zone, now, week):
    assert due_week(SummarySchedule(day=day, time=time, timezone=zone), at(now)) == week


def test_a_week_that_began_before_tracking_is_not_due():
    schedule = SummarySchedule()
    assert due_week(schedule, at("2026-11-25T10:00"), not_before=at("2026-11-24T10:00")) is None
    assert due_week(schedule, at("2026-11-30T09:00"), not_before=at("2026-11-24T10:00")) == "2026-W49"


# ------------------------------------------------------------------------------ posting


@pytest.fixture
async def world(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    clock = Clock(ONBOARDED)
    handler = Router(engine, {"github": client}, SHIPPED, clock=clock)
    platform.set_commit("c1", {".readiness.yml": "checklists: [svc]\n", "Dockerfile": "x"})
    await handler(push("c1"))
    return client, platform, handler, clock


def epic_number(platform) -> int:
    return next(n for n, i in platform.issues.items() if tracker.key_from_body(i.body) == "epic")


def epic_comments(platform) -> list[str]:
    return [c.body for c in platform.comments.get(epic_number(platform), [])]


async def a_week_of_work(platform, handler, clock) -> None:
    """Wednesday: a runbook lands; Thursday: carol ticks the on-call rota by hand."""
    clock.now = ONBOARDED + timedelta(days=2)
    platform.set_commit(
        "c2", {".readiness.yml": "checklists: [svc]\n", "Dockerfile": "x", "docs/runbooks/a.md": "x"}
    )
    await handler(push("c2"))
    clock.now = ONBOARDED + timedelta(days=3)
    ops = issues_by_key(platform)["section:svc:ops"]
    await handler(tick_as(platform, "carol", ops, "svc/oncall"))


async def test_the_weekly_summary_reports_the_weeks_changes_once(world, engine):
    client, platform, handler, clock = world
    await a_week_of_work(platform, handler, clock)
    assert await post_due_summaries(
        engine, {"github": client}, SHIPPED, MONDAY_0905 - timedelta(minutes=10)
    ) == {REPO: "not-due"}
    assert await post_due_summaries(engine, {"github": client}, SHIPPED, MONDAY_0905) == {REPO: "posted"}
    [text] = epic_comments(platform)
    assert "## Weekly readiness summary · 2026-W48" in text
    assert "**3 / 4 done (75%)**" in text
    assert "Since 2026-11-16: 1 / 4 (25%) → **+2 done, +50 points**" in text  # the Dockerfile was there
    assert "`svc/oncall`: ticked by @carol" in text
    assert "`svc/runbook`: automatically (found `docs/runbooks/` (1 file))" in text
    assert "### What is next\n- **Tests in CI** `svc/ci-tests`" in text
    assert "📈 2 more done this week; at this pace the last 1 takes about 1 week." in text
    with session_scope(engine) as s:
        [row] = s.exec(select(SummaryPost)).all()
    assert row.week == "2026-W48" and row.comment_id == platform.comments[epic_number(platform)][0].id
    # later the same week: nothing more
    assert await post_due_summaries(engine, {"github": client}, SHIPPED, MONDAY_0905 + timedelta(days=3)) == {
        REPO: "claimed"
    }
    # next week counts from the previous summary: a quiet week
    assert await post_due_summaries(engine, {"github": client}, SHIPPED, MONDAY_0905 + timedelta(days=7)) == {
        REPO: "posted"
    }
    quiet = epic_comments(platform)[-1]
    assert "Since 2026-11-23: 3 / 4 (75%) → **+0 done, +0 points**" in quiet
    assert "Nothing changed this week." in quiet


async def test_onboarding_mid_week_waits_for_the_next_scheduled_day(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    handler = Router(engine, {"github": client}, SHIPPED, clock=lambda: MONDAY_0905 + timedelta(days=2))
    platform.set_commit("c1", {".readiness.yml": "checklists: [svc]\n", "Dockerfile": "x"})
    await handler(push("c1"))
    now = MONDAY_0905 + timedelta(days=3)
    assert await post_due_summaries(engine, {"github": client}, SHIPPED, now) == {REPO: "not-due"}
    assert epic_comments(platform) == []


async def test_summary_off_posts_nothing(world, engine):
    client, platform, handler, clock = world
    clock.now = ONBOARDED + timedelta(hours=1)
    platform.set_commit("c2", {".readiness.yml": "checklists: [svc]\nsummary: off\n", "Dockerfile": "x"})
    await handler(push("c2"))
    assert await post_due_summaries(engine, {"github": client}, SHIPPED, MONDAY_0905) == {REPO: "off"}
    assert epic_comments(platform) == []


async def test_a_failed_post_gives_the_week_back(world, engine):
    client, platform, _, _ = world
    platform.fail("create_comment", Transient("502"))
    assert await post_due_summaries(engine, {"github": client}, SHIPPED, MONDAY_0905) == {REPO: "failed"}
    with session_scope(engine) as s:
        assert s.exec(select(SummaryPost)).all() == []
    assert await post_due_summaries(engine, {"github": client}, SHIPPED, MONDAY_0905) == {REPO: "posted"}
    assert len(epic_comments(platform)) == 1


async def test_two_replicas_post_one_summary(world, db_url):
    """Two processes (own engines, so no shared in-process lock) handle the same bucket."""
    client, platform, _, _ = world
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        jobs = [
            SummaryJob(Router(e, {"github": client}, SHIPPED, clock=lambda: MONDAY_0905).ctx) for e in engines
        ]
        outcomes = await asyncio.gather(*(job.run(ref()) for job in jobs))
    finally:
        for e in engines:
            e.dispose()
    assert sorted(outcomes) == ["claimed", "posted"]
    assert len(epic_comments(platform)) == 1


async def test_the_scheduler_enqueues_a_summary_only_when_due_and_not_yet_posted(world, engine):
    """The schedule stored by the last sync decides: nothing is enqueued before Monday 09:00 UTC,
    then one delivery per hour (for every replica together) until the week's summary is posted."""
    assert enqueue_summaries(engine, now=MONDAY_0905 - timedelta(minutes=10)) == 0
    assert enqueue_summaries(engine, now=MONDAY_0905) == 1
    assert enqueue_summaries(engine, now=MONDAY_0905 + timedelta(minutes=15)) == 0  # same hour, other replica
    assert enqueue_summaries(engine, now=MONDAY_0905 + timedelta(hours=1)) == 1  # not posted yet: try again
    with session_scope(engine) as s:
        rows = s.exec(select(Delivery).where(Delivery.event == SUMMARY_EVENT)).all()
        repository_id = s.exec(select(SummaryPost.repository_id)).first()
    assert sorted(r.delivery_id for r in rows) == [  # no ORDER BY: PostgreSQL may return either first
        f"summary:github:{REPO}:2026-W48:2026-11-23T09:00Z",
        f"summary:github:{REPO}:2026-W48:2026-11-23T10:00Z",
    ]
    assert {r.repo_key for r in rows} == {f"github:{REPO}"}  # ordered with the repository's webhooks
    with session_scope(engine) as s:
        from bot.store.models import Repository

        repo = s.exec(select(Repository)).one()
        s.add(SummaryPost(repository_id=repo.id, week="2026-W48", comment_id=1))
    assert repository_id is None
    assert enqueue_summaries(engine, now=MONDAY_0905 + timedelta(hours=2)) == 0  # posted: done for the week


async def test_the_summary_delivery_reaches_the_summary_job_through_the_handler(world, engine):
    _, platform, handler, clock = world
    clock.now = MONDAY_0905
    event = Event(
        Platform("github"), Kind.SCHEDULE, SUMMARY_EVENT, repo=ref(), installation_id=7, sender_is_bot=True
    )
    assert await handler(event) == []
    assert len(epic_comments(platform)) == 1


@pytest.mark.parametrize(
    ("claimed_ago", "outcome", "posts"),
    [(timedelta(minutes=5), "claimed", 0), (timedelta(hours=2), "posted", 1)],
)
async def test_a_claim_whose_replica_died_mid_post_is_taken_over_later(
    world, engine, claimed_ago, outcome, posts
):
    client, platform, _, _ = world
    now = MONDAY_0905 + timedelta(hours=3)
    with session_scope(engine) as s:
        s.add(SummaryPost(repository_id=1, week="2026-W48", posted_at=now - claimed_ago))
    assert await post_due_summaries(engine, {"github": client}, SHIPPED, now) == {REPO: outcome}
    assert len(epic_comments(platform)) == posts


async def test_a_second_poster_arriving_while_the_first_is_posting_backs_off(world, engine):
    """The first poster is held inside its create_comment call until the second has finished."""
    _, platform, handler, _ = world
    loaded = await load_checklists(handler.ctx, platform, ref(), 1, "c1")
    assert loaded is not None
    gate, post = asyncio.Event(), platform.create_comment

    async def slow_post(number: int, body: str):
        await gate.wait()
        return await post(number, body)

    platform.create_comment = slow_post  # type: ignore[method-assign]

    async def second() -> str:
        try:
            return await post_summary(engine, platform, 1, loaded, MONDAY_0905)
        finally:
            gate.set()

    first = post_summary(engine, platform, 1, loaded, MONDAY_0905)
    assert await asyncio.gather(first, second()) == ["posted", "claimed"]
    assert len(epic_comments(platform)) == 1
