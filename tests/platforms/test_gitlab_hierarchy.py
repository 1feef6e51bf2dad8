"""GitLab sections as child tasks of the epic (GraphQL over respx, REST over `responses`), and the
clean fallback to `relates_to` links where an instance cannot do it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
import responses
import respx
from structlog.testing import capture_logs

from bot.config import SettingsError, load_settings
from bot.platforms.base import Issue, IssueUpdate, Transient
from bot.platforms.gitlab.settings import GitLabSettings

from .gitlab_fake_graphql import ISSUE_TYPE, TASK_TYPE
from .test_gitlab import GitLabWorld, api_calls, build_world


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
async def world(rsps: responses.RequestsMock) -> AsyncIterator[GitLabWorld]:
    async for w in build_world(rsps):
        yield w


async def epic_and_sections(world: GitLabWorld, n: int) -> tuple[Issue, list[Issue]]:
    p = world.platform
    epic = await p.create_issue(title="Production readiness", body="epic", labels=("readiness",))
    sections = [await p.create_issue(title=f"Section {i}", body=f"- [ ] item {i}") for i in range(n)]
    return epic, sections


def graphql_calls(world: GitLabWorld) -> list[respx.models.Call]:
    assert world.router is not None
    return list(world.router.calls)


def graphql_requests(world: GitLabWorld) -> list[dict]:
    return [json.loads(call.request.content) for call in graphql_calls(world)]


def gid(issue: Issue) -> str:
    return f"gid://gitlab/WorkItem/{issue.id}"


# --------------------------------------------------------------------------- hierarchy path


async def test_sections_become_child_tasks_of_the_epic(world: GitLabWorld) -> None:
    epic, (a, b) = await epic_and_sections(world, 2)
    await world.platform.link_child(epic, a)
    await world.platform.link_child(epic, b)
    fake = world.fake
    assert fake.graphql.parents == {a.number: epic.number, b.number: epic.number}
    assert [fake.issues[s.number]["type"] for s in (a, b)] == ["TASK", "TASK"]
    assert fake.links == []  # no relates_to link when the hierarchy works
    sent = graphql_requests(world)
    assert [r["operationName"] for r in sent] == [
        "workItemTypes", "workItemConvert", "workItemSetParent", "workItemConvert", "workItemSetParent"
    ]  # fmt: skip
    assert sent[0]["variables"] == {"path": "octo-org/widgets"}
    assert sent[1]["variables"] == {"id": gid(a), "type": TASK_TYPE}
    assert sent[2]["variables"] == {"id": gid(a), "parent": gid(epic)}
    assert graphql_calls(world)[0].request.headers["Authorization"] == "Bearer glpat-test-token"
    assert str(graphql_calls(world)[0].request.url) == "https://gitlab.example.test/api/graphql"

    children = await world.platform.list_children(epic)
    assert [(c.number, c.id, c.body) for c in children] == [
        (a.number, a.id, "- [ ] item 0"), (b.number, b.id, "- [ ] item 1")
    ]  # fmt: skip


async def test_a_converted_section_still_works_over_rest(world: GitLabWorld) -> None:
    epic, (a,) = await epic_and_sections(world, 1)
    await world.platform.link_child(epic, a)
    await world.platform.create_comment(a.number, "evidence went away")

    closed = await world.platform.update_issue(a.number, IssueUpdate(state="closed", body="- [x] item 0"))
    assert (closed.state, closed.body) == ("closed", "- [x] item 0")
    assert world.fake.notes[a.number][-1]["body"] == "evidence went away"


async def test_children_from_both_sources_are_listed_once(world: GitLabWorld) -> None:
    epic, (task, both, linked) = await epic_and_sections(world, 3)
    p, fake = world.platform, world.fake
    await p.link_child(epic, task)
    await p.link_child(epic, both)
    fake.links += [(1, epic.number, both.number), (2, epic.number, linked.number)]  # from older runs
    p = await p.client.for_repo(p.full_name)  # a later sync's view: it asks GitLab
    assert [c.number for c in await p.list_children(epic)] == [task.number, both.number, linked.number]

    await p.unlink_child(epic, both)
    assert fake.graphql.parents == {task.number: epic.number} and fake.links == [
        (2, epic.number, linked.number)
    ]
    await p.unlink_child(epic, linked)
    await p.unlink_child(epic, task)
    assert await p.list_children(epic) == []


async def test_relinking_a_child_task_is_harmless(world: GitLabWorld) -> None:
    epic, (a,) = await epic_and_sections(world, 1)
    await world.platform.link_child(epic, a)
    world.fake.graphql.reject_parent = "is already assigned to this parent"  # however GitLab puts it
    await world.platform.link_child(epic, a)
    assert world.fake.graphql.parents == {a.number: epic.number} and world.fake.links == []
    assert world.platform.client.hierarchy.linking


async def test_17_sections_cost_and_every_graphql_call_is_counted(
    world: GitLabWorld, rsps: responses.RequestsMock
) -> None:
    before = {op: api_calls(f"graphql:{op}", "ok", "POST") for op in ("workItemConvert", "workItemSetParent")}
    start = len(rsps.calls)
    epic, sections = await epic_and_sections(world, 17)
    for s in sections:
        await world.platform.link_child(epic, s)
    # REST: 18 creations + one check that the REST API serves tasks; GraphQL: 1 type lookup + 2 x 17.
    assert len(rsps.calls) - start == 19 and len(graphql_calls(world)) == 35
    assert sum(world.clock.slept) == 51.0  # 52 writes (mutations included), one a second, none dropped
    assert api_calls("graphql:workItemConvert", "ok", "POST") - before["workItemConvert"] == 17
    assert api_calls("graphql:workItemSetParent", "ok", "POST") - before["workItemSetParent"] == 17
    assert len(await world.platform.list_children(epic)) == 17  # 1 GraphQL + 2 REST calls


# ------------------------------------------------------------------------------- fallbacks


@pytest.mark.parametrize("graphql", ["unsupported", "absent"])
async def test_an_instance_without_work_items_falls_back_to_links_once(
    rsps: responses.RequestsMock, graphql: str
) -> None:
    outcome = "invalid" if graphql == "unsupported" else "not_found"  # HTTP 200 + errors, or 404
    before = api_calls("graphql:workItemTypes", outcome, "POST")
    async for world in build_world(rsps, graphql=graphql):  # type: ignore[arg-type]
        epic, sections = await epic_and_sections(world, 3)
        with capture_logs() as logs:
            for s in sections:
                await world.platform.link_child(epic, s)
            later = await world.platform.client.for_repo(world.platform.full_name)  # a later sync
            for _ in range(2):
                assert len(await later.list_children(epic)) == 3
        assert {dst for _, _, dst in world.fake.links} == {s.number for s in sections}
        # One failed attempt to link, one to read: never again on this client.
        assert world.fake.graphql.operations == ["workItemTypes", "workItemChildren"]
        assert api_calls("graphql:workItemTypes", outcome, "POST") - before == 1
        fallbacks = [e for e in logs if e["event"] == "gitlab_hierarchy_unavailable"]
        assert len(fallbacks) == 1 and fallbacks[0]["log_level"] == "info"
        reason = world.platform.client.hierarchy.reason or ""
        assert ("doesn't exist on type" in reason) if graphql == "unsupported" else ("404" in reason)


async def test_parent_refused_after_convert_ends_linked_by_relates_to(world: GitLabWorld) -> None:
    epic, (a, b) = await epic_and_sections(world, 2)
    fake = world.fake
    fake.graphql.reject_parent = "parent already has maximum number of children."
    await world.platform.link_child(epic, a)
    assert fake.links and fake.links[-1][1:] == (epic.number, a.number)
    assert fake.issues[a.number]["type"] == "ISSUE"  # converted back: an ordinary linked issue
    assert fake.graphql.parents == {}
    ops = len(fake.graphql.operations)
    await world.platform.link_child(epic, b)  # later links skip the hierarchy
    assert fake.graphql.operations[ops:] == [] and fake.links[-1][1:] == (epic.number, b.number)
    assert [c.number for c in await world.platform.list_children(epic)] == [a.number, b.number]
    assert "maximum number of children" in (world.platform.client.hierarchy.reason or "")


async def test_a_rest_api_that_hides_tasks_keeps_sections_as_issues(world: GitLabWorld) -> None:
    # Before GitLab 16.3 the REST issues API answered 404 for tasks: every later edit would fail.
    world.fake.rest_hides_tasks = True
    epic, (a,) = await epic_and_sections(world, 1)
    await world.platform.link_child(epic, a)
    assert world.fake.issues[a.number]["type"] == "ISSUE"
    assert (await world.platform.get_issue(a.number)).number == a.number
    assert [c.number for c in await world.platform.list_children(epic)] == [a.number]
    convert_types = [
        r["variables"]["type"] for r in graphql_requests(world) if r["operationName"] == "workItemConvert"
    ]
    assert convert_types == [TASK_TYPE, ISSUE_TYPE]


# ------------------------------------------------------------ sections created as tasks


async def sections_as_tasks(world: GitLabWorld, n: int) -> tuple[Issue, list[Issue]]:
    p = world.platform
    epic = await p.create_issue(title="Production readiness", body="epic")
    sections = [await p.create_issue(title=f"Section {i}", body=f"- [ ] {i}", child=True) for i in range(n)]
    for section in sections:
        await p.link_child(epic, section)
    return epic, sections


async def test_sections_created_as_tasks_need_no_conversion(
    world: GitLabWorld, rsps: responses.RequestsMock
) -> None:
    start = len(rsps.calls)
    epic, sections = await sections_as_tasks(world, 17)
    fake = world.fake
    assert [fake.issues[s.number]["type"] for s in sections] == ["TASK"] * 17
    assert fake.issues[epic.number]["type"] == "ISSUE"
    assert fake.graphql.children_of(epic.number) == [s.number for s in sections]
    # REST: 18 creations + one check that the REST API serves tasks; GraphQL: 1 type lookup + 17
    # parents (converting first cost 17 more)
    assert len(rsps.calls) - start == 19 and len(graphql_calls(world)) == 18
    assert "workItemConvert" not in fake.graphql.operations


async def test_a_gitlab_that_will_not_create_tasks_converts_them(world: GitLabWorld) -> None:
    world.fake.rest_creates_tasks = False
    epic, sections = await sections_as_tasks(world, 2)
    assert [world.fake.issues[s.number]["type"] for s in sections] == ["TASK", "TASK"]
    assert world.fake.graphql.operations.count("workItemConvert") == 2
    assert world.fake.graphql.children_of(epic.number) == [s.number for s in sections]


async def test_a_task_the_rest_api_hides_becomes_an_issue_again(world: GitLabWorld) -> None:
    world.fake.rest_hides_tasks = True  # GitLab before 16.3
    epic, sections = await sections_as_tasks(world, 2)
    assert [world.fake.issues[s.number]["type"] for s in sections] == ["ISSUE", "ISSUE"]
    assert [link[1:] for link in world.fake.links] == [(epic.number, s.number) for s in sections]
    assert world.fake.graphql.parents == {}
    assert "does not serve tasks" in (world.platform.client.hierarchy.reason or "")


# ---------------------------------------------------------------- retries and rate limits


async def test_graphql_429_is_waited_out_and_counted(world: GitLabWorld) -> None:
    before = api_calls("graphql:workItemConvert", "rate_limited", "POST")
    epic, (a,) = await epic_and_sections(world, 1)
    world.fake.graphql.fail("workItemConvert", 429, {"Retry-After": "7"})
    await world.platform.link_child(epic, a)
    assert 7.0 in world.clock.slept
    assert api_calls("graphql:workItemConvert", "rate_limited", "POST") - before == 1
    assert world.fake.graphql.parents == {a.number: epic.number}


async def test_graphql_5xx_is_retried_then_transient_without_giving_up(world: GitLabWorld) -> None:
    epic, (a, b) = await epic_and_sections(world, 2)
    world.fake.graphql.fail("workItemChildren", 502)
    assert await world.platform.list_children(epic) == []  # retried after 1 s
    assert 1.0 in world.clock.slept
    for _ in range(4):
        world.fake.graphql.fail("workItemSetParent", 503)
    with pytest.raises(Transient, match="workItemSetParent"):
        await world.platform.link_child(epic, a)
    assert world.platform.client.hierarchy.linking  # an outage says nothing about support
    await world.platform.link_child(epic, a)  # the job's retry
    await world.platform.link_child(epic, b)
    assert world.fake.graphql.parents == {a.number: epic.number, b.number: epic.number}


async def test_a_quota_spent_on_graphql_holds_the_next_rest_request(world: GitLabWorld) -> None:
    # GraphQL and REST draw on the same user's budget: GitLab's RateLimit-* headers on either count.
    epic = await world.platform.get_issue(1)
    reset = int(world.clock.now) + 20
    world.fake.graphql.headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
    assert await world.platform.list_children(epic) == []  # REST links first, then GraphQL
    assert world.clock.slept == []
    await world.platform.get_issue(4)
    assert world.clock.slept == [20.0]


# --------------------------------------------------------------------------------- setting


def test_hierarchy_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().platform(GitLabSettings).gitlab_hierarchy == "auto"
    monkeypatch.setenv("READINESS_GITLAB_HIERARCHY", "links")
    assert load_settings().platform(GitLabSettings).gitlab_hierarchy == "links"
    monkeypatch.setenv("READINESS_GITLAB_HIERARCHY", "epics")
    with pytest.raises(SettingsError, match="READINESS_GITLAB_HIERARCHY"):
        load_settings()
