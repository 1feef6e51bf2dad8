"""`/readiness` commands on GitHub end to end: signed `issue_comment` webhooks → app → worker →
the GitHub adapter against the respx fake, on a controllable clock. Assertions are the replies
and the issues a user would see: governed skips (pending, approved, mandatory), refusals,
ambiguous items, quoted commands, flooding, a skip that ends and a `ttl` that runs out."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from platforms.conftest import FakeClock
from platforms.fake_github import FakeGitHub
from sqlalchemy import Engine

from bot.config import Settings
from bot.core.commands import FloodLimit
from bot.jobs.router import Router
from bot.platforms.github.client import GitHubClient
from bot.resources import load_shipped
from e2e.conftest import CONFIG, Bot, Clock, base_files, fixture, running_bot, shown
from e2e.test_github_e2e import (
    HEAD1,
    HEAD2,
    _installation,
    _repo_json,
    boxes,
    deliver,
    fake,
    ours,
    push_payload,
    settings,
)

__all__ = ["fake", "settings"]  # fixtures shared with the GitHub e2e tests

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ORG_DEFAULT = """\
items:
  service/oncall: {mandatory: true, approvers: "@octo-org/sre"}
  service/runbook: {mandatory: true}
"""


class Now:
    """The bot's clock, moved by the test (no real waiting)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
async def bot(settings: Settings, engine: Engine, fake: FakeGitHub, now: Now) -> AsyncIterator[Bot]:
    fake.org_default = ORG_DEFAULT
    fake.teams["octo-org/sre"] = ["guest"]  # guest has read access only, and approves
    fake.spec = dataclasses.replace(
        fake.spec, permissions={"octocat": "admin", "hubot": "write", "guest": "read"}
    )
    clock = FakeClock()
    with respx.mock(base_url=fake.host, assert_all_called=False) as router:
        router.route().mock(side_effect=fake)
        client = GitHubClient(settings, clock=clock, sleep=clock.sleep, http_cache=False)
        handler = Router(
            engine,
            {"github": client},
            load_shipped(),
            clock=now,
            command_limit=FloodLimit(count=3, window=timedelta(minutes=10)),
        )
        async with running_bot(settings, engine, handler, Clock()) as b:
            yield b
        await client.aclose()


_next_comment = iter(range(1_600_000_000, 1_700_000_000))


async def say(bot: Bot, fake: FakeGitHub, login: str, number: int, body: str) -> list[str]:
    """A person comments; returns the bot's replies on that issue so far."""
    cid = next(_next_comment)
    fake._new_comment(number, body, login, cid)
    p = fixture("github", "issue_comment.created.with-installation.payload.json")
    p["issue"] = json.loads(json.dumps(fake.issues[number]))
    p["comment"].update(id=cid, body=body)
    p["comment"]["user"].update(login=login)
    p["sender"].update(login=login, type="User")
    p.update(repository=_repo_json(), installation=_installation())
    p.pop("organization", None)
    assert (await deliver(bot, "issue_comment", p)).status_code == 202
    await bot.drain()
    return [
        shown(c["body"]) for c in fake.comments.get(number, []) if c["user"]["login"] == fake.spec.bot_login
    ]


async def onboard(
    bot: Bot, fake: FakeGitHub, files: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    fake.push(HEAD1, files or base_files(Dockerfile="FROM python:3.11\n"))
    assert (await deliver(bot, "push", push_payload(HEAD1))).status_code == 202
    await bot.drain()
    return ours(fake)


async def test_a_governed_skip_is_pending_until_an_approver_confirms(bot: Bot, fake: FakeGitHub) -> None:
    ops = (await onboard(bot, fake))["section:service:operations"]["number"]
    [reply] = await say(bot, fake, "hubot", ops, "/readiness skip oncall vendor pages us")
    assert reply.startswith("@hubot ⏳ Skip of `service/oncall` requested: vendor pages us.")
    issue = ours(fake)["section:service:operations"]
    assert boxes(issue)["oncall"] is False
    assert "⏳ skip requested by @hubot on 2026-11-23: vendor pages us" in issue["body"]

    replies = await say(bot, fake, "octocat", ops, "/readiness approve oncall")  # admin, not an approver
    assert replies[-1].startswith("@octocat Sorry, only an approver of `service/oncall` (@octo-org/sre)")
    replies = await say(bot, fake, "guest", ops, "/readiness approve service/oncall")
    assert replies[-1] == "@guest ✅ Approved the skip of `service/oncall` by @hubot: vendor pages us"
    issue = ours(fake)["section:service:operations"]
    assert boxes(issue)["oncall"] is True
    assert "skipped by @hubot: vendor pages us · approved by @guest on 2026-11-23" in issue["body"]
    assert ("GET", "/orgs/octo-org/teams/sre/members") in {(m, p) for m, p, _ in fake.log}


async def test_mandatory_items_cannot_be_skipped_in_the_file_nor_without_approvers(
    bot: Bot, fake: FakeGitHub
) -> None:
    ops = (await onboard(bot, fake))["section:service:operations"]["number"]
    [reply] = await say(bot, fake, "hubot", ops, "/readiness skip runbook we have none")
    assert "`service/runbook` is mandatory in this organisation and has no approvers" in reply
    files = base_files(Dockerfile="x")
    files[".readiness.yml"] = CONFIG + "items:\n  runbook: {skip: none here}\n"
    fake.push(HEAD2, files)
    await deliver(bot, "push", push_payload(HEAD2, HEAD1))
    await bot.drain()
    error = ours(fake)["config-error"]["body"]
    assert (
        "items.runbook.skip: item 'service/runbook' is mandatory (set by the organisation default)" in error
    )


async def test_refusals_ambiguity_and_quotes(bot: Bot, fake: FakeGitHub) -> None:
    ops = (await onboard(bot, fake))["section:service:operations"]["number"]
    assert await say(bot, fake, "hubot", ops, "> /readiness skip runbook quoted\nas the docs say") == []
    [reply] = await say(bot, fake, "guest", ops, "/readiness done oncall")
    assert reply.startswith(
        "@guest Sorry, `/readiness done` needs write access to this repository, and you have read"
    )
    replies = await say(bot, fake, "hubot", ops, "/readiness done run")
    assert (
        "`run` matches several items; nothing was changed. Name one: `service/ci-tests`, `service/runbook`."
        in (replies[-1])
    )
    assert boxes(ours(fake)["section:service:operations"]) == {"runbook": False, "oncall": False}


async def test_flooding_gets_one_reply_saying_when_to_try_again(bot: Bot, fake: FakeGitHub, now: Now) -> None:
    ops = (await onboard(bot, fake))["section:service:operations"]["number"]
    for _ in range(3):
        await say(bot, fake, "hubot", ops, "/readiness why oncall")
    replies = await say(bot, fake, "hubot", ops, "/readiness why oncall")
    assert replies[-1].startswith(
        "@hubot you sent 3 `/readiness` commands in a short while; please try again in 10"
    )
    assert len(await say(bot, fake, "hubot", ops, "/readiness why oncall")) == 4  # told once, then silence
    now.now = T0 + timedelta(minutes=11)
    assert len(await say(bot, fake, "hubot", ops, "/readiness why oncall")) == 5


async def test_a_skip_that_ends_and_a_ttl_that_runs_out(bot: Bot, fake: FakeGitHub, now: Now) -> None:
    files = base_files(Dockerfile="x")
    files[".readiness.yml"] = CONFIG + "items:\n  oncall: {ttl: 30d}\n"
    fake.org_default = "items: {}\n"
    issues = await onboard(bot, fake, files)
    build, ops = issues["section:service:build"]["number"], issues["section:service:operations"]["number"]
    [skipped] = await say(
        bot, fake, "hubot", build, "/readiness skip ci-tests until 2026-11-30 CI moves next week"
    )
    assert skipped == "@hubot ⏭ Skipped `service/ci-tests` until 2026-11-30: CI moves next week"
    [ticked] = await say(bot, fake, "hubot", ops, "/readiness done oncall agreed with SRE")
    assert ticked == "@hubot ✔ Ticked `service/oncall`: agreed with SRE"

    now.now = T0 + timedelta(days=31)
    files["README.md"] = "# widgets, a month later\n"
    fake.push(HEAD2, files)
    await deliver(bot, "push", push_payload(HEAD2, HEAD1))
    await bot.drain()
    issues = ours(fake)
    assert boxes(issues["section:service:build"])["ci-tests"] is False
    assert (
        "the skip by @hubot ended after 2026-11-30: CI moves next week"
        in issues["section:service:build"]["body"]
    )
    assert boxes(issues["section:service:operations"])["oncall"] is False
    comments = [c["body"] for c in fake.comments[ops] if c["user"]["login"] == fake.spec.bot_login]
    assert "ticked by @hubot on 2026-11-23; it is re-attested every 30 days" in comments[-1]


MANY_COMMANDS = (
    "Let's see:\n/readiness skip service/ci-tests until 2026-12-24 moving CI\n/readiness unskip ci-tests\n"
    "/readiness why ci-tests\n/readiness sync\n/readiness status\n/readiness help"
)


def check_many_commands_reply(reply: str) -> None:
    """One reply to MANY_COMMANDS, each command's answer in order (GitHub and GitLab alike)."""
    parts = reply.split("\n\n")
    assert parts[0] == "@hubot ⏭ Skipped `service/ci-tests` until 2026-12-24: moving CI"
    assert parts[1] == "↩ `service/ci-tests` is tracked again; evidence can tick it."
    assert "**Tests run in CI** `service/ci-tests`: Regressions are caught before merge" in reply
    assert "**Readiness of `octo-org/widgets`**" in reply
    assert "`/readiness approve <item>`: confirm a pending skip" in reply


async def test_status_help_sync_why_and_unskip_in_one_comment(bot: Bot, fake: FakeGitHub) -> None:
    ops = (await onboard(bot, fake))["section:service:build"]["number"]
    [reply] = await say(bot, fake, "hubot", ops, MANY_COMMANDS)
    check_many_commands_reply(reply)
    assert (fake.comments[ops][-2]["id"], "+1") in fake.reactions  # the sync finished
    assert boxes(ours(fake)["section:service:build"])["ci-tests"] is False


async def test_a_reply_whose_answer_was_lost_is_adopted_not_posted_twice(bot: Bot, fake: FakeGitHub) -> None:
    """Issue 12: GitHub posted the reply but the bot got a 502; the retried delivery finds the
    reply by its hidden marker (the command comment's id) and does not answer again."""
    ops = (await onboard(bot, fake))["section:service:build"]["number"]
    fake.lose_answer.append(
        (r"POST .*/issues/\d+/comments$", httpx.Response(502, json={"message": "Bad Gateway"}))
    )
    assert await say(bot, fake, "hubot", ops, "/readiness done ci-tests tested by hand") == [
        "@hubot ✔ Ticked `service/ci-tests`: tested by hand"
    ]  # posted, but the bot saw a 502: the delivery is retried later
    bot.clock.advance(hours=1)
    await bot.drain()
    replies = [c for c in fake.comments[ops] if c["user"]["login"] == fake.spec.bot_login]
    assert [shown(c["body"]) for c in replies] == ["@hubot ✔ Ticked `service/ci-tests`: tested by hand"]
    assert boxes(ours(fake)["section:service:build"])["ci-tests"] is True  # the retry finished the job


async def test_a_first_answer_is_posted_without_reading_the_issues_comments(
    bot: Bot, fake: FakeGitHub
) -> None:
    """Adoption costs a read only on the retry of an interrupted reply, not on every command."""
    ops = (await onboard(bot, fake))["section:service:build"]["number"]
    fake.log.clear()
    [reply] = await say(bot, fake, "hubot", ops, "/readiness why ci-tests")
    assert "**Tests run in CI** `service/ci-tests`" in reply
    assert not [p for m, p, _ in fake.log if m == "GET" and p.endswith(f"/issues/{ops}/comments")]
    assert [p for m, p, _ in fake.log if m == "POST" and p.endswith(f"/issues/{ops}/comments")]


async def test_a_reply_marker_planted_by_a_person_does_not_silence_the_bot(
    bot: Bot, fake: FakeGitHub
) -> None:
    ops = (await onboard(bot, fake))["section:service:build"]["number"]
    planted = next(_next_comment)  # the command below gets the next id; someone plants its marker
    fake._new_comment(ops, f"<!-- readiness:reply {planted + 1} -->", "guest", planted)
    [reply] = await say(bot, fake, "hubot", ops, "/readiness why ci-tests")
    assert "**Tests run in CI** `service/ci-tests`" in reply
