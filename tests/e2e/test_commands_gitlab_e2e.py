"""`/readiness` commands on GitLab end to end: signed (token) Note Hooks → app → worker → the
GitLab adapter against the `responses` fake, on a controllable clock. Without an organisation
defaults project the repository's own file governs itself, so its `approvers` apply; a group
approver approves through the group's members, and section issues are assigned to their owners.
With one (READINESS_GITLAB_DEFAULTS_PROJECT) its mandatory items cannot be skipped, or only with
the word of a member of its approvers group (a subgroup or a top-level group). Also:
refusals, ambiguity, quotes, flooding, a skip that ends and a `ttl` that runs out."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from platforms.conftest import FakeClock
from platforms.gitlab_fake import FakeGitLab
from sqlalchemy import Engine

from bot.config import Settings
from bot.core.commands import FloodLimit
from bot.jobs.router import Router
from bot.platforms.gitlab.client import GitLabClient
from bot.resources import load_shipped
from e2e.conftest import CONFIG, Bot, Clock, base_files, fixture, running_bot, shown
from e2e.test_commands_github_e2e import MANY_COMMANDS, ORG_DEFAULT, T0, Now, check_many_commands_reply
from e2e.test_gitlab_e2e import HEAD1, HEAD2, _project, boxes, deliver, fake, ours, push_payload, settings

__all__ = ["fake", "settings"]  # fixtures shared with the GitLab e2e tests

GOVERNED = CONFIG + "owners: {operations: '@octo-org/sre'}\nitems:\n  oncall: {approvers: '@octo-org/sre'}\n"
_ids = itertools.count(5_000)


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def defaults_project() -> str | None:
    """READINESS_GITLAB_DEFAULTS_PROJECT; a test parametrizes it to have an organisation default."""
    return None


@pytest.fixture
async def bot(
    settings: Settings, engine: Engine, fake: FakeGitLab, now: Now, defaults_project: str | None
) -> AsyncIterator[Bot]:
    fake.groups["octo-org/sre"] = ["guest"]
    for login in ("guest",):
        fake.user(login)
    clock = FakeClock()
    client = GitLabClient(settings, session=requests.Session(), clock=clock, sleep=clock.sleep)
    handler = Router(
        engine,
        {"gitlab": client},
        load_shipped(),
        clock=now,
        org_default_projects={"gitlab": defaults_project},
        command_limit=FloodLimit(count=3, window=timedelta(minutes=10)),
    )
    async with running_bot(settings, engine, handler, Clock()) as b:
        yield b
    await client.aclose()


async def say(bot: Bot, fake: FakeGitLab, login: str, iid: int, body: str) -> list[str]:
    """A person writes a note; returns the bot's notes on that issue so far."""
    note = fake._note(iid, next(_ids), login, body)
    fake.notes[iid].append(note)
    p = fixture("gitlab", "note_issue.json")
    p["object_attributes"].update(id=note["id"], note=body, noteable_type="Issue", action="create")
    p["issue"].update(iid=iid, id=fake.issues[iid]["id"], description=fake.issues[iid]["description"])
    p["user"].update(username=login, name=login, id=fake.user(login))
    p.update(project=_project(), project_id=_project()["id"])
    assert (await deliver(bot, "Note Hook", p)).status_code == 202
    await bot.drain()
    return [shown(n["body"]) for n in fake.notes[iid] if n["author"]["username"] == "readiness-bot"]


async def onboard(
    bot: Bot, fake: FakeGitLab, files: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    fake.push(HEAD1, files or base_files(Dockerfile="FROM python:3.11\n", **{".readiness.yml": GOVERNED}))
    assert (await deliver(bot, "Push Hook", push_payload(HEAD1))).status_code == 202
    await bot.drain()
    return ours(fake)


async def test_a_group_owner_is_assigned_and_a_pending_skip_is_approved_by_a_member(
    bot: Bot, fake: FakeGitLab
) -> None:
    ops = (await onboard(bot, fake))["section:service:operations"]
    assert [a["username"] for a in ops["assignees"]] == ["guest"]
    iid = ops["iid"]
    [reply] = await say(bot, fake, "hubot", iid, "/readiness skip oncall the vendor pages us")
    assert reply.startswith("@hubot ⏳ Skip of `service/oncall` requested: the vendor pages us.")
    assert boxes(ours(fake)["section:service:operations"])["oncall"] is False

    replies = await say(bot, fake, "octocat", iid, "/readiness approve oncall")
    assert replies[-1].startswith("@octocat Sorry, only an approver of `service/oncall` (@octo-org/sre)")
    replies = await say(bot, fake, "guest", iid, "/readiness approve oncall")
    assert replies[-1] == "@guest ✅ Approved the skip of `service/oncall` by @hubot: the vendor pages us"
    issue = ours(fake)["section:service:operations"]
    assert boxes(issue)["oncall"] is True
    assert "approved by @guest" in issue["description"]


async def test_refusal_ambiguity_and_quotes_on_gitlab(bot: Bot, fake: FakeGitLab) -> None:
    iid = (await onboard(bot, fake))["section:service:operations"]["iid"]
    assert await say(bot, fake, "hubot", iid, "> /readiness done runbook\nquoting the docs") == []
    [reply] = await say(bot, fake, "guest", iid, "/readiness done oncall")
    assert "needs write access to this repository, and you have read access" in reply
    replies = await say(bot, fake, "hubot", iid, "/readiness undo run")
    assert "`run` matches several items; nothing was changed." in replies[-1]


async def test_flooding_on_gitlab_gets_one_reply_saying_when_to_try_again(
    bot: Bot, fake: FakeGitLab, now: Now
) -> None:
    iid = (await onboard(bot, fake))["section:service:operations"]["iid"]
    for _ in range(3):
        await say(bot, fake, "hubot", iid, "/readiness why oncall")
    replies = await say(bot, fake, "hubot", iid, "/readiness why oncall")
    assert len(replies) == 4
    assert replies[-1].startswith(
        "@hubot you sent 3 `/readiness` commands in a short while; please try again in 10"
    )
    assert len(await say(bot, fake, "hubot", iid, "/readiness why oncall")) == 4  # told once, then silence
    now.now = T0 + timedelta(minutes=11)
    replies = await say(bot, fake, "hubot", iid, "/readiness why oncall")
    assert len(replies) == 5
    assert "`service/oncall`" in replies[-1]


async def test_a_skip_that_ends_and_a_ttl_that_runs_out_on_gitlab(
    bot: Bot, fake: FakeGitLab, now: Now
) -> None:
    files = base_files(Dockerfile="x", **{".readiness.yml": CONFIG + "items:\n  oncall: {ttl: 30d}\n"})
    issues = await onboard(bot, fake, files)
    build, ops = issues["section:service:build"]["iid"], issues["section:service:operations"]["iid"]
    [skipped] = await say(
        bot, fake, "hubot", build, "/readiness skip ci-tests until 2026-11-30 CI moves next week"
    )
    assert skipped == "@hubot ⏭ Skipped `service/ci-tests` until 2026-11-30: CI moves next week"
    assert boxes(ours(fake)["section:service:build"])["ci-tests"] is True
    [ticked] = await say(bot, fake, "hubot", ops, "/readiness done oncall agreed with SRE")
    assert ticked == "@hubot ✔ Ticked `service/oncall`: agreed with SRE"
    assert boxes(ours(fake)["section:service:operations"])["oncall"] is True

    now.now = T0 + timedelta(days=31)
    files["README.md"] = "# widgets, a month later\n"
    fake.push(HEAD2, files)
    assert (await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))).status_code == 202
    await bot.drain()
    issues = ours(fake)
    assert boxes(issues["section:service:build"])["ci-tests"] is False
    assert (
        "the skip by @hubot ended after 2026-11-30: CI moves next week"
        in issues["section:service:build"]["description"]
    )
    assert boxes(issues["section:service:operations"])["oncall"] is False
    notes = [n["body"] for n in fake.notes[ops] if n["author"]["username"] == "readiness-bot"]
    assert "ticked by @hubot on 2026-11-23; it is re-attested every 30 days" in notes[-1]


@pytest.mark.parametrize("defaults_project", ["octo-org/readiness-defaults"])
async def test_mandatory_items_on_gitlab_cannot_be_skipped_in_the_file_nor_without_approvers(
    bot: Bot, fake: FakeGitLab
) -> None:
    fake.defaults["octo-org/readiness-defaults"] = ORG_DEFAULT
    iid = (await onboard(bot, fake, base_files(Dockerfile="x")))["section:service:operations"]["iid"]
    [reply] = await say(bot, fake, "hubot", iid, "/readiness skip runbook we have none")
    assert "`service/runbook` is mandatory in this organisation and has no approvers" in reply
    assert boxes(ours(fake)["section:service:operations"])["runbook"] is False

    files = base_files(
        Dockerfile="x", **{".readiness.yml": CONFIG + "items:\n  runbook: {skip: none here}\n"}
    )
    fake.push(HEAD2, files)
    assert (await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))).status_code == 202
    await bot.drain()
    error = ours(fake)["config-error"]["description"]
    assert (
        "items.runbook.skip: item 'service/runbook' is mandatory (set by the organisation default)" in error
    )
    assert boxes(ours(fake)["section:service:operations"])["runbook"] is False


@pytest.mark.parametrize("defaults_project", ["octo-org/readiness-defaults"])
@pytest.mark.parametrize("approvers", ["@octo-org/sre", "@sre-top"])  # a subgroup; a top-level group
async def test_a_mandatory_item_with_approvers_is_pending_until_a_member_of_the_group_approves(
    bot: Bot, fake: FakeGitLab, approvers: str
) -> None:
    fake.groups["sre-top"] = ["guest"]
    fake.defaults["octo-org/readiness-defaults"] = ORG_DEFAULT.replace("@octo-org/sre", approvers)
    iid = (await onboard(bot, fake, base_files(Dockerfile="x")))["section:service:operations"]["iid"]
    [reply] = await say(bot, fake, "hubot", iid, "/readiness skip oncall the vendor pages us")
    assert reply == (
        "@hubot ⏳ Skip of `service/oncall` requested: the vendor pages us. It needs an approver "
        f"({approvers}) to confirm with `/readiness approve service/oncall`; until then the item counts as open."
    )
    ops = ours(fake)["section:service:operations"]
    assert boxes(ops)["oncall"] is False and ops["state"] == "opened"  # pending counts as open
    assert "**1 / 4 done (25%)**\n" in ours(fake)["epic"]["description"]

    replies = await say(bot, fake, "octocat", iid, "/readiness approve oncall")  # an admin, no approver
    assert replies[-1] == (
        f"@octocat Sorry, only an approver of `service/oncall` ({approvers}) can approve its skip. "
        "Nothing was changed."
    )
    assert boxes(ours(fake)["section:service:operations"])["oncall"] is False

    replies = await say(bot, fake, "guest", iid, "/readiness approve oncall")  # read access, approver
    assert replies[-1] == "@guest ✅ Approved the skip of `service/oncall` by @hubot: the vendor pages us"
    ops = ours(fake)["section:service:operations"]
    assert boxes(ops)["oncall"] is True
    assert "skipped by @hubot: the vendor pages us · approved by @guest on 2026-11-23" in ops["description"]
    assert "**1 / 3 done (33%)** · 1 skipped" in ours(fake)["epic"]["description"]


async def test_status_help_sync_why_and_unskip_in_one_note_on_gitlab(bot: Bot, fake: FakeGitLab) -> None:
    build = (await onboard(bot, fake))["section:service:build"]["iid"]
    [reply] = await say(bot, fake, "hubot", build, MANY_COMMANDS)
    check_many_commands_reply(reply)
    note = next(n for n in fake.notes[build] if n["body"] == MANY_COMMANDS)
    assert (note["id"], "thumbsup") in fake.awards  # the sync finished
    assert boxes(ours(fake)["section:service:build"])["ci-tests"] is False


async def test_a_note_whose_answer_was_lost_is_adopted_not_posted_twice(bot: Bot, fake: FakeGitLab) -> None:
    """Issue 12 on GitLab: the note was created but the bot got a 502; the retried delivery
    finds it by its hidden marker and does not answer again."""
    iid = (await onboard(bot, fake))["section:service:operations"]["iid"]
    fake.fail("POST", rf"/issues/{iid}/notes$", 502, applied=True)
    assert await say(bot, fake, "hubot", iid, "/readiness done oncall agreed with the team") == [
        "@hubot ✔ Ticked `service/oncall`: agreed with the team"
    ]
    bot.clock.advance(hours=1)
    await bot.drain()
    replies = [n for n in fake.notes[iid] if n["author"]["username"] == "readiness-bot"]
    assert [shown(n["body"]) for n in replies] == ["@hubot ✔ Ticked `service/oncall`: agreed with the team"]
    assert boxes(ours(fake)["section:service:operations"])["oncall"] is True
