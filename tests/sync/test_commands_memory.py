"""`/readiness` comments end to end over the in-memory platform: replies, skips, permissions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from memory_world import CONFIG, REPO, TEMPLATE, Clock, boxes, ref, shown

from bot.core import tracker
from bot.core.commands import FloodLimit
from bot.core.events import Event, Kind, Platform, RepoRef
from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.platforms.base import Transient
from bot.platforms.memory import MemoryClient
from bot.webhooks.normalize import normalize

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
async def world(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    clock = Clock(NOW)
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    handler = Router(engine, {"github": client}, shipped, clock=clock)
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c1")
    )
    platform.set_permission("maria", "maintain")
    platform.set_permission("rita", "read")
    return platform, handler, clock


def issues(platform) -> dict:
    return {tracker.key_from_body(i.body): i for i in platform.issues.values()}


async def comment(handler, platform, login: str, number: int, body: str, *, comment_id=None, bot=False):
    c = platform.add_comment_as(login, number, body, comment_id=comment_id)
    event = Event(
        Platform("github"),
        Kind.COMMENT,
        "issue_comment",
        action="created",
        repo=ref(),
        installation_id=7,
        sender=login,
        sender_is_bot=bot,
        issue_number=number,
        comment_id=c.id,
        body=body,
    )
    return event, await handler(event)


def replies(platform, number: int) -> list[str]:
    return [shown(c.body) for c in platform.comments.get(number, []) if c.author == platform.bot_login]


async def test_status_replies_once_with_progress_changes_and_next_steps(world):
    platform, handler, _ = world
    epic = issues(platform)["epic"]
    await comment(handler, platform, "rita", epic.number, "How are we doing?\n/readiness status")
    [reply] = replies(platform, epic.number)
    assert reply.startswith("@rita **Readiness of `octo-org/widgets`**")
    assert "1 / 4 done (25%)" in reply
    build, ops = issues(platform)["section:svc:build"], issues(platform)["section:svc:ops"]
    assert f"Service basics · Build: 1/2 (50%) · #{build.number}" in reply
    assert "**Container image** `svc/container`: automatically (found `Dockerfile`)" in reply
    # next: the section closest to done first, automatic items with what would tick them
    nxt = reply.split("**Next**")[1]
    assert nxt.index("svc/ci-tests") < nxt.index("svc/runbook") < nxt.index("svc/oncall")
    assert "ticks itself once there is a passing CI check named `test*`" in nxt
    assert f"svc/oncall` in Service basics · Operations (#{ops.number}): tick it by hand" in nxt
    assert [r.content for r in platform.reactions] == ["eyes"]


async def test_skip_by_a_writer_rerenders_the_section_and_survives_reevaluation(world):
    platform, handler, _ = world
    ops = issues(platform)["section:svc:ops"]
    await comment(
        handler, platform, "maria", ops.number, "/readiness skip oncall Platform team carries the pager"
    )
    ops = issues(platform)["section:svc:ops"]
    assert "~~On-call rota agreed~~" in ops.body
    assert "skipped by @maria: Platform team carries the pager" in ops.body
    assert replies(platform, ops.number) == ["@maria ⏭ Skipped `svc/oncall`: Platform team carries the pager"]
    # another push re-evaluates everything: the person's decision stands
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "y", "docs/runbooks/a.md": "x"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c2")
    )
    ops = issues(platform)["section:svc:ops"]
    assert "skipped by @maria" in ops.body and ops.state == "closed"  # runbook ticked + oncall skipped


async def test_skip_by_a_read_only_user_is_refused_and_changes_nothing(world):
    platform, handler, _ = world
    ops = issues(platform)["section:svc:ops"]
    body = ops.body
    await comment(handler, platform, "rita", ops.number, "/readiness skip svc/oncall not our job")
    assert issues(platform)["section:svc:ops"].body == body
    [reply] = replies(platform, ops.number)
    assert (
        "needs write access" in reply and "you have read access" in reply and "Nothing was changed" in reply
    )


async def test_unskip_returns_the_item_to_evidence(world):
    platform, handler, _ = world
    build = issues(platform)["section:svc:build"]
    await comment(handler, platform, "maria", build.number, "/readiness skip container we deploy a zip")
    assert "~~Container image~~" in issues(platform)["section:svc:build"].body
    await comment(handler, platform, "maria", build.number, "/readiness unskip svc/container")
    build = issues(platform)["section:svc:build"]
    assert "~~Container image~~" not in build.body
    assert "✔ automatically: found `Dockerfile`" in build.body  # the Dockerfile is still there
    assert (
        replies(platform, build.number)[-1]
        == "@maria ↩ `svc/container` is tracked again; evidence can tick it."
    )


async def test_unknown_item_and_missing_reason_get_one_reply_naming_the_problem(world):
    platform, handler, _ = world
    epic = issues(platform)["epic"]
    await comment(
        handler,
        platform,
        "maria",
        epic.number,
        "/readiness skip svc/runbok old\n/readiness skip svc/runbook\n/readiness stauts",
    )
    [reply] = replies(platform, epic.number)
    assert "No item `svc/runbok`" in reply and "Did you mean `svc/runbook`?" in reply
    assert "`skip` needs a reason" in reply
    assert "Did you mean `/readiness status`?" in reply
    assert "skipped" not in issues(platform)["section:svc:ops"].body


async def test_a_redelivered_comment_is_not_answered_twice(world):
    platform, handler, _ = world
    epic = issues(platform)["epic"]
    event, _ = await comment(handler, platform, "rita", epic.number, "/readiness status")
    await handler(event)
    assert len(replies(platform, epic.number)) == 1


async def test_a_failed_sync_leaves_the_command_to_the_retry(world):
    platform, handler, _ = world
    ops = issues(platform)["section:svc:ops"]
    platform.fail("default_branch", Transient("502"))
    event = None
    with pytest.raises(Transient):
        event, _ = await comment(
            handler, platform, "maria", ops.number, "/readiness skip oncall no pager", comment_id=555
        )
    assert replies(platform, ops.number) == []
    [c] = [c for c in platform.comments[ops.number] if c.id == 555]
    event = Event(
        Platform("github"),
        Kind.COMMENT,
        "issue_comment",
        action="created",
        repo=ref(),
        installation_id=7,
        sender="maria",
        issue_number=ops.number,
        comment_id=555,
        body=c.body,
    )
    await handler(event)  # the worker's retry
    assert replies(platform, ops.number) == ["@maria ⏭ Skipped `svc/oncall`: no pager"]
    assert "skipped by @maria: no pager" in issues(platform)["section:svc:ops"].body


async def test_the_bots_own_comments_and_foreign_issues_are_ignored(world):
    platform, handler, _ = world
    epic = issues(platform)["epic"]
    before = len(platform.writes)
    await comment(handler, platform, platform.bot_login, epic.number, "/readiness status", bot=True)
    other = platform.add_issue("Unrelated bug", "it crashes", author="rita")
    await comment(handler, platform, "maria", other.number, "/readiness status")
    await comment(handler, platform, "maria", epic.number, "> /readiness skip oncall x\nI disagree")
    assert len(platform.writes) == before


async def test_sync_reacts_when_done_and_help_lists_the_commands(world):
    platform, handler, _ = world
    epic = issues(platform)["epic"]
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "x", "docs/runbooks/a.md": "x"})
    _, [result] = await comment(handler, platform, "rita", epic.number, "/readiness refresh")
    assert result.outcome == "synced" and result.changed_items == 1
    assert [r.content for r in platform.reactions] == ["eyes", "+1"]
    assert replies(platform, epic.number) == []
    await comment(handler, platform, "rita", epic.number, "/readiness help")
    [reply] = replies(platform, epic.number)
    assert "`/readiness skip <item> [until YYYY-MM-DD] <reason>`" in reply
    assert "`/readiness done <item> [note]`" in reply and "`/readiness undo <item>`" in reply


async def test_recent_changes_in_status_cover_the_last_week(world):
    platform, handler, clock = world
    clock.now = NOW + timedelta(days=8)
    epic = issues(platform)["epic"]
    await comment(handler, platform, "rita", epic.number, "/readiness status")
    [reply] = replies(platform, epic.number)
    assert "**Changed since 2026-11-23**\nNothing." in reply


async def test_a_real_github_issue_comment_webhook_is_answered(engine):
    """GitHub's issue_comment payload, normalised as the worker does, reaches the command handler."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"

    payload = json.loads(
        (fixtures / "github" / "issue_comment.created.with-installation.payload.json").read_text()
    )
    name = payload["repository"]["full_name"]
    client = MemoryClient()
    platform = client.add_repo(name)
    handler = Router(
        engine, {"github": client}, {"svc": parse_template(TEMPLATE, filename="svc.yaml")}, clock=Clock(NOW)
    )
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    repo = RepoRef(
        Platform("github"), name, id=payload["repository"]["id"], installation_id=1, default_branch="main"
    )
    await handler(Event(Platform("github"), Kind.PUSH, "push", repo=repo, ref="refs/heads/main", commit="c1"))
    epic = issues(platform)["epic"]
    payload["issue"]["number"] = epic.number
    payload["comment"]["body"] = "/readiness status"
    platform.add_comment_as(
        payload["sender"]["login"], epic.number, "/readiness status", comment_id=payload["comment"]["id"]
    )
    event = normalize("github", "issue_comment", payload)
    await handler(event)
    [reply] = replies(platform, epic.number)
    assert reply.startswith(f"@{payload['sender']['login']} **Readiness of `{name}`**")
    assert platform.reactions[0].comment_id == payload["comment"]["id"]


async def test_status_after_sync_in_the_same_comment_shows_the_fresh_state(world):
    platform, handler, _ = world
    epic = issues(platform)["epic"]
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "x", "docs/runbooks/a.md": "x"})
    await comment(handler, platform, "rita", epic.number, "/readiness status\n/readiness sync")
    [reply] = replies(platform, epic.number)
    assert "2 / 4 done (50%)" in reply and "`svc/runbook`: automatically" in reply


async def test_done_by_title_part_ticks_with_the_note_and_undo_unticks_for_good(world):
    platform, handler, _ = world
    ops = issues(platform)["section:svc:ops"]
    await comment(
        handler,
        platform,
        "maria",
        ops.number,
        '/readiness done "on-call" agreed with SRE in the   weekly sync',
    )
    ops = issues(platform)["section:svc:ops"]
    assert boxes(ops)["oncall"] is True
    assert "ticked by @maria on 2026-11-22: agreed with SRE in the weekly sync" in ops.body
    assert replies(platform, ops.number) == [
        "@maria ✔ Ticked `svc/oncall`: agreed with SRE in the weekly sync"
    ]
    await comment(handler, platform, "maria", ops.number, "/readiness undo svc/oncall")
    assert boxes(issues(platform)["section:svc:ops"])["oncall"] is False
    # an automatic tick undone by a person stays unticked though its evidence is still there
    build = issues(platform)["section:svc:build"]
    await comment(handler, platform, "maria", build.number, "/readiness undo container")
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "y"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c2")
    )
    build = issues(platform)["section:svc:build"]
    assert boxes(build)["container"] is False and "unticked by @maria" in build.body


async def test_done_by_a_read_only_user_and_an_ambiguous_title_change_nothing(world):
    platform, handler, _ = world
    ops = issues(platform)["section:svc:ops"]
    before = ops.body
    await comment(handler, platform, "rita", ops.number, "/readiness done svc/oncall")
    assert issues(platform)["section:svc:ops"].body == before
    assert "needs write access" in replies(platform, ops.number)[-1]
    await comment(handler, platform, "maria", ops.number, "/readiness undo a")
    assert issues(platform)["section:svc:ops"].body == before
    assert "No item `a`" in replies(platform, ops.number)[-1]


async def test_why_explains_the_rule_and_the_state_to_anyone(world):
    platform, handler, _ = world
    build = issues(platform)["section:svc:build"]
    await comment(
        handler, platform, "rita", build.number, "/readiness why container\n/readiness why svc/oncall"
    )
    [reply] = replies(platform, build.number)
    container, oncall = reply.removeprefix("@rita ").split("\n\n")
    assert "**Container image** `svc/container`" in container
    assert "ticks itself when the default branch has a file matching `Dockerfile`" in container
    assert "Ticked automatically: found `Dockerfile`" in container
    assert "It is manual" in oncall and "Not ticked yet" in oncall
    await comment(handler, platform, "maria", build.number, "/readiness done oncall agreed")
    await comment(handler, platform, "rita", build.number, "/readiness why oncall")
    assert (
        "- Ticked by @maria on 2026-11-22 (agreed); evidence no longer changes it."
        in replies(platform, build.number)[-1]
    )
    assert issues(platform)["section:svc:build"].body == build.body  # read-only


async def test_a_flood_of_commands_gets_one_reply_saying_when_to_try_again(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    clock = Clock(NOW)
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    limit = FloodLimit(3, timedelta(minutes=10))
    handler = Router(engine, {"github": client}, shipped, clock=clock, command_limit=limit)
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c1")
    )
    epic = issues(platform)["epic"]
    for minute in range(5):
        clock.now = NOW + timedelta(minutes=minute)
        await comment(handler, platform, "rita", epic.number, "/readiness help")
    answers = replies(platform, epic.number)
    assert len(answers) == 4  # three answered, one "try again", the fifth ignored
    assert "try again in 7 minutes (after 09:10 UTC)" in answers[3]
    clock.now = NOW + timedelta(minutes=10, seconds=1)  # the first command left the window
    await comment(handler, platform, "rita", epic.number, "/readiness help")
    assert replies(platform, epic.number)[-1].startswith("@rita Commands")


async def test_a_skip_until_a_day_holds_through_it_and_ends_the_day_after(world):
    platform, handler, clock = world
    build = issues(platform)["section:svc:build"]
    await comment(
        handler,
        platform,
        "maria",
        build.number,
        "/readiness skip container until 2026-11-30 moving to zip deploys",
    )
    assert (
        replies(platform, build.number)[-1]
        == "@maria ⏭ Skipped `svc/container` until 2026-11-30: moving to zip deploys"
    )
    assert (
        "skipped by @maria until 2026-11-30: moving to zip deploys"
        in issues(platform)["section:svc:build"].body
    )
    await comment(
        handler, platform, "maria", build.number, "/readiness skip ci-tests until 2026-11-01 too late"
    )
    assert "is in the past" in replies(platform, build.number)[-1]
    clock.now = NOW.replace(day=30, hour=23)  # the last day: still skipped
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "y"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c2")
    )
    assert "~~Container image~~" in issues(platform)["section:svc:build"].body
    clock.now = NOW.replace(month=12, day=1, hour=0, minute=1)  # the day after: tracked again
    platform.set_commit("c3", {".readiness.yml": CONFIG, "Dockerfile": "z"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c3")
    )
    build = issues(platform)["section:svc:build"]
    assert "~~Container image~~" not in build.body and boxes(build)["container"] is True  # evidence again


async def test_a_config_skip_with_an_end_is_tracked_again_after_it(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    clock = Clock(NOW)
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    handler = Router(engine, {"github": client}, shipped, clock=clock)
    config = CONFIG + '\nitems:\n  svc/container: {skip: "zip deploys for now", until: 2026-11-25}\n'
    platform.set_commit("c1", {".readiness.yml": config, "Dockerfile": "x"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c1")
    )
    build = issues(platform)["section:svc:build"]
    assert "skipped in `.readiness.yml` until 2026-11-25: zip deploys for now" in build.body
    clock.now = NOW.replace(day=26)
    platform.set_commit("c2", {".readiness.yml": config, "Dockerfile": "y"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c2")
    )
    build = issues(platform)["section:svc:build"]
    assert "skipped in" not in build.body and boxes(build)["container"] is True


async def test_a_ttl_item_reopens_when_the_persons_tick_runs_out_and_says_who_ticked(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    clock = Clock(NOW)
    template = TEMPLATE.replace(
        "        why: Someone answers the pager\n",
        "        why: Someone answers the pager\n        ttl: 30d\n",
    )
    assert "ttl: 30d" in template
    handler = Router(
        engine, {"github": client}, {"svc": parse_template(template, filename="svc.yaml")}, clock=clock
    )
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c1")
    )
    platform.set_permission("maria", "maintain")
    ops = issues(platform)["section:svc:ops"]
    await comment(handler, platform, "maria", ops.number, "/readiness done oncall")
    clock.now = NOW + timedelta(days=29)
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "y"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c2")
    )
    assert boxes(issues(platform)["section:svc:ops"])["oncall"] is True  # still within its 30 days
    clock.now = NOW + timedelta(days=30)
    platform.set_commit("c3", {".readiness.yml": CONFIG, "Dockerfile": "z"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c3")
    )
    assert boxes(issues(platform)["section:svc:ops"])["oncall"] is False
    notes = [c.body for c in platform.comments.get(ops.number, []) if c.body.startswith("Re-attestation due")]
    assert notes == [
        "Re-attestation due, so these items are open again:\n\n- **On-call rota agreed** `svc/oncall`: ticked by "
        "@maria on 2026-11-22; it is re-attested every 30 days. Please check it still holds and tick it again."
    ]
    platform.set_commit("c4", {".readiness.yml": CONFIG, "Dockerfile": "w"})
    await handler(
        Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit="c4")
    )
    assert len([c for c in platform.comments.get(ops.number, []) if c.body.startswith("Re-attestation")]) == 1
