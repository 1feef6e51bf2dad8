"""GitLab owners that are top-level groups: a bare `@name` is looked up as a group (404: a
user), members are read as for subgroups, and the answer is cached per process, bounded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import responses

from bot.platforms.gitlab.groups import GROUP_TTL_SECONDS, GroupLookup

from .test_gitlab import GitLabWorld, build_world, rsps

__all__ = ["rsps"]  # the fixture, shared with the adapter tests


@pytest.fixture
async def world(rsps: responses.RequestsMock) -> AsyncIterator[GitLabWorld]:
    async for w in build_world(rsps):
        yield w


def group_requests(rsps: responses.RequestsMock) -> list[str]:
    return [c.request.url or "" for c in rsps.calls if "/api/v4/groups/" in (c.request.url or "")]


async def test_a_bare_name_is_a_group_only_when_gitlab_has_one(
    world: GitLabWorld, rsps: responses.RequestsMock
) -> None:
    world.fake.groups.update({"team-top": ["erin", "frank"], "octo-org/sre": ["carol"]})
    platform = world.platform
    assert await platform.is_team("team-top")
    assert not await platform.is_team("alice")  # 404: a user
    assert await platform.is_team("octo-org/sre")  # a subgroup path: no call needed
    assert await platform.team_members("team-top") == ("erin", "frank")
    asked = group_requests(rsps)
    assert [u.split("?")[0].rsplit("/api/v4", 1)[1] for u in asked] == [
        "/groups/team-top",
        "/groups/alice",
        "/groups/team-top/members/all",
    ]
    assert "with_projects=false" in asked[0]  # the group's projects are not wanted


async def test_the_answer_is_cached_until_its_ttl_runs_out(
    world: GitLabWorld, rsps: responses.RequestsMock
) -> None:
    platform = world.platform
    assert not await platform.is_team("team-top")
    world.fake.groups["team-top"] = ["erin"]  # created later
    assert not await platform.is_team("Team-Top")  # cached (names are case-insensitive)
    assert len(group_requests(rsps)) == 1
    world.clock.advance(GROUP_TTL_SECONDS)
    assert await platform.is_team("team-top")
    assert len(group_requests(rsps)) == 2


async def test_the_cache_is_bounded_oldest_first(world: GitLabWorld, rsps: responses.RequestsMock) -> None:
    lookup = GroupLookup(world.platform.client.gl, world.clock, size=2)
    world.fake.groups["g1"] = []
    for name in ("g1", "u2", "u3"):
        await world.platform.client.run(lambda n=name: lookup.is_group(n))  # type: ignore[misc]
    await world.platform.client.run(lambda: lookup.is_group("u3"))  # kept
    await world.platform.client.run(lambda: lookup.is_group("g1"))  # evicted: asked again
    assert [u.split("?")[0].rsplit("/", 1)[1] for u in group_requests(rsps)] == ["g1", "u2", "u3", "g1"]
