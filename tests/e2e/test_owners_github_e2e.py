"""Owners on GitHub end to end: a team owner is assigned through its members, read from the
teams API (a GitHub issue cannot be assigned to a team)."""

from __future__ import annotations

from platforms.fake_github import FakeGitHub

from e2e.conftest import Bot, base_files
from e2e.test_github_e2e import HEAD1, bot, deliver, fake, ours, push_payload, settings

__all__ = ["bot", "fake", "settings"]  # the fixtures, shared with the GitHub e2e tests

CODEOWNERS = "* @octo-org/platform\n/docs/runbooks/ @octo-org/sre\n"


async def test_a_codeowners_team_is_assigned_through_its_members(bot: Bot, fake: FakeGitHub) -> None:
    fake.teams["octo-org/sre"] = ["carol", "erin"]  # octo-org/platform is not readable: 404
    fake.push(HEAD1, base_files(**{"Dockerfile": "FROM python:3.11\n", ".github/CODEOWNERS": CODEOWNERS}))
    assert (await deliver(bot, "push", push_payload(HEAD1))).status_code == 202
    await bot.drain()
    issues = ours(fake)
    ops = issues["section:service:operations"]
    assert [a["login"] for a in ops["assignees"]] == ["carol", "erin"]
    assert issues["section:service:build"]["assignees"] == []  # its team could not be read
    assert ("GET", "/orgs/octo-org/teams/sre/members") in {(m, p) for m, p, _ in fake.log}
