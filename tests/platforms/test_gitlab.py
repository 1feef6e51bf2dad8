"""GitLab adapter against a stateful fake GitLab (`responses`; python-gitlab uses requests)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Literal

import pytest
import requests
import responses
import respx
from prometheus_client import REGISTRY

from bot.config import Settings, SettingsError
from bot.core.snapshot import CANCELLED, FAILURE, PENDING, SKIPPED, SUCCESS
from bot.platforms.base import (
    CheckReport,
    Forbidden,
    Invalid,
    Issue,
    IssueUpdate,
    NotFound,
    Platform,
    PlatformClient,
    PlatformError,
    RateLimited,
    RepoInfo,
    Transient,
)
from bot.platforms.gitlab import convert
from bot.platforms.gitlab.client import GitLabClient, GitLabRepo
from bot.platforms.gitlab.http import endpoint_template

from .conftest import FakeClock
from .contract import SPEC, PlatformContract, WorldSpec
from .gitlab_fake import BASE, PROJECT_ID, FakeGitLab
from .gitlab_fake_graphql import GraphQLMode

GITLAB_SPEC = dataclasses.replace(SPEC, bot_login="readiness-bot")


class GitLabWorld:
    def __init__(self, fake: FakeGitLab, platform: GitLabRepo, clock: FakeClock) -> None:
        self.fake, self.platform, self.spec, self.clock = fake, platform, fake.spec, clock
        self.router: respx.MockRouter | None = None  # GraphQL requests, when served

    def reactions(self) -> list[tuple[int, str]]:
        return self.fake.reactions()

    def checks(self) -> list[tuple[str, str, str]]:
        return self.fake.checks()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_client(clock: FakeClock, hierarchy: Literal["auto", "links"] = "auto") -> GitLabClient:
    """Every wait (retries in worker threads, write pacing) goes through the fake clock."""
    settings = Settings(gitlab_url=BASE, gitlab_token="glpat-test-token", gitlab_hierarchy=hierarchy)
    return GitLabClient(settings, session=requests.Session(), clock=clock, sleep=clock.sleep)


async def build_world(
    rsps: responses.RequestsMock,
    spec: WorldSpec = GITLAB_SPEC,
    *,
    hierarchy: Literal["auto", "links"] = "auto",
    graphql: GraphQLMode = "hierarchy",
) -> AsyncIterator[GitLabWorld]:
    """REST through `responses`, GraphQL (httpx) through respx, one stateful fake behind both."""
    fake = FakeGitLab(spec, rsps)
    fake.graphql.mode = graphql
    clock = FakeClock()
    with respx.mock(assert_all_called=False) as router:
        fake.graphql.mount(router)
        client = make_client(clock, hierarchy)
        platform = await client.for_repo(spec.full_name)
        world = GitLabWorld(fake, platform, clock)
        world.router = router
        yield world
        await client.aclose()


# Child tasks on a current GitLab, relates_to links by setting, and the fallback on instances
# whose GraphQL lacks work items or that have no GraphQL endpoint at all.
MODES = {
    "tasks": ("auto", "hierarchy"),
    "links-setting": ("links", "hierarchy"),
    "old-graphql": ("auto", "unsupported"),
    "no-graphql": ("auto", "absent"),
}


class TestGitLabContract(PlatformContract):
    @pytest.fixture(params=list(MODES))
    async def world(
        self, rsps: responses.RequestsMock, request: pytest.FixtureRequest
    ) -> AsyncIterator[GitLabWorld]:
        hierarchy, graphql = MODES[request.param]
        async for w in build_world(rsps, hierarchy=hierarchy, graphql=graphql):  # type: ignore[arg-type]
            yield w


# ------------------------------------------------------------------------------ helpers


@pytest.fixture
async def world(rsps: responses.RequestsMock) -> AsyncIterator[GitLabWorld]:
    async for w in build_world(rsps):
        yield w


@pytest.fixture
async def links_world(rsps: responses.RequestsMock) -> AsyncIterator[GitLabWorld]:
    """READINESS_GITLAB_HIERARCHY=links: sections are linked with `relates_to` only."""
    async for w in build_world(rsps, hierarchy="links"):
        yield w


def api_calls(route: str, outcome: str, method: str = "GET") -> float:
    labels = {"platform": "gitlab", "installation": "0", "route": route, "method": method, "outcome": outcome}
    return REGISTRY.get_sample_value("readiness_api_calls_total", labels) or 0.0


def waited() -> float:
    return REGISTRY.get_sample_value("readiness_rate_limit_wait_seconds_total", {"platform": "gitlab"}) or 0.0


def requests_to(rsps: responses.RequestsMock, method: str, fragment: str) -> list[str]:
    return [c.request.url for c in rsps.calls if c.request.method == method and fragment in c.request.url]


ISSUE = "/projects/:id/issues/:iid"


# ---------------------------------------------------------------------- protocol, settings


def test_client_and_repo_implement_the_protocols(rsps: responses.RequestsMock) -> None:
    client = make_client(FakeClock())
    assert isinstance(client, PlatformClient)
    assert isinstance(GitLabRepo(client, "g/r", bot_id=1, bot_login="bot"), Platform)


def test_missing_token_is_a_clear_settings_error() -> None:
    with pytest.raises(SettingsError, match="READINESS_GITLAB_TOKEN"):
        GitLabClient(Settings(gitlab_url=BASE))


async def test_self_managed_url_and_token_header(world: GitLabWorld, rsps: responses.RequestsMock) -> None:
    await world.platform.get_issue(4)
    request = rsps.calls[-1].request
    assert request.url.startswith("https://gitlab.example.test/api/v4/projects/octo-org%2Fwidgets/issues/4")
    assert request.headers["PRIVATE-TOKEN"] == "glpat-test-token"
    assert world.platform.bot_login == "readiness-bot"


# ----------------------------------------------------------------------------- contents


async def test_tree_follows_keyset_pages_and_keeps_only_blobs(rsps: responses.RequestsMock) -> None:
    files = {f"pkg{d}/mod{f}.py": b"" for d in range(3) for f in range(80)}  # 240 blobs + 3 dirs
    async for w in build_world(rsps, dataclasses.replace(GITLAB_SPEC, files=files)):
        tree = await w.platform.tree(w.spec.head)
    assert list(tree.paths) == sorted(files)
    pages = requests_to(rsps, "GET", "/repository/tree")
    assert len(pages) == 3  # 243 entries at 100 per page
    assert all("pagination=keyset" in u and "per_page=100" in u and "recursive=True" in u for u in pages)
    assert "page_token" not in pages[0] and all("page_token=" in u for u in pages[1:])


async def test_next_page_links_to_another_host_stay_on_the_configured_url(
    world: GitLabWorld, rsps: responses.RequestsMock
) -> None:
    # A self-managed GitLab reached at an internal address may advertise its public external_url.
    world.fake.link_base = "https://gitlab.public.example"
    world.fake.commits["c" * 40] = {f"f{n:03}.txt": b"" for n in range(150)}
    tree = await world.platform.tree("c" * 40)
    assert len(tree.paths) == 150
    assert all(u.startswith(BASE) for u in requests_to(rsps, "GET", "/repository/tree"))


async def test_a_10000_file_tree_costs_101_calls(rsps: responses.RequestsMock) -> None:
    # GitLab caps per_page at 100 with keyset pagination too, and directories are entries as well.
    files = {f"dir{d:03}/file{f:03}.txt": b"" for d in range(100) for f in range(100)}
    async for w in build_world(rsps, dataclasses.replace(GITLAB_SPEC, files=files)):
        start = len(rsps.calls)
        tree = await w.platform.tree(w.spec.head)
    assert len(tree.paths) == 10_000
    assert len(rsps.calls) - start == 101  # 10,000 blobs + 100 directories, 100 per page


async def test_file_of_missing_commit_or_path_is_none(world: GitLabWorld) -> None:
    assert await world.platform.file("README.md", "f" * 40) is None
    assert await world.platform.file("nope/README.md", world.spec.head) is None


async def test_default_branch_of_unknown_project_is_not_found(rsps: responses.RequestsMock) -> None:
    FakeGitLab(GITLAB_SPEC, rsps)
    platform = await make_client(FakeClock()).for_repo("octo-org/missing")
    with pytest.raises(NotFound, match="404 Project Not Found"):
        await platform.default_branch()


async def test_ci_uses_newest_ci_pipeline_and_ignores_our_own_statuses(world: GitLabWorld) -> None:
    p, fake = world.platform, world.fake
    # Our own status and an "external" pipeline it created must not hide or pollute CI results.
    await p.report_check(CheckReport("readiness", world.spec.head, "failure", "3 items open", ""))
    fake.pipelines.append({**fake.pipelines[-1], "id": 303, "source": "external", "status": "failed"})
    fake.jobs[303] = []
    results = {r.name: r for r in await p.ci_results(world.spec.head)}
    assert set(results) == {"build", "lint", "deploy-preview", "docs"}
    assert results["build"].conclusion == SUCCESS  # pipeline 302, not the failed build of 301
    assert results["build"].url == "https://ci.example.test/build/1"
    assert results["deploy-preview"].url == "https://ci.example.test/deploy/1"  # a commit status


async def test_ci_of_commit_without_pipelines_is_empty(world: GitLabWorld) -> None:
    assert await world.platform.ci_results("e" * 40) == []


def test_job_states_map_to_conclusions() -> None:
    states = ["success", "failed", "canceled", "skipped", "manual", "running", "pending", "created"]
    assert [convert.conclusion(s) for s in states] == [
        SUCCESS, FAILURE, CANCELLED, SKIPPED, SKIPPED, PENDING, PENDING, PENDING
    ]  # fmt: skip


# ------------------------------------------------------------------------------ retries


async def test_502_then_success_is_retried_with_backoff(world: GitLabWorld) -> None:
    before_ok, before_bad = api_calls(ISSUE, "ok"), api_calls(ISSUE, "transient")
    world.fake.fail("GET", r"/issues/4$", 502)
    issue = await world.platform.get_issue(4)
    assert issue.title == "Bug: widgets are square"
    assert world.clock.slept == [1.0]
    assert (api_calls(ISSUE, "ok") - before_ok, api_calls(ISSUE, "transient") - before_bad) == (1, 1)


async def test_persistent_5xx_becomes_transient_after_three_retries(world: GitLabWorld) -> None:
    world.fake.fail("GET", r"/issues/4$", 503, times=10)
    with pytest.raises(Transient, match="503"):
        await world.platform.get_issue(4)
    assert world.clock.slept == [1.0, 2.0, 4.0]


async def test_create_is_not_repeated_after_a_502(world: GitLabWorld, rsps: responses.RequestsMock) -> None:
    # The 502 may come from a proxy after GitLab created the issue: retrying could duplicate it.
    world.fake.fail("POST", r"/issues$", 502)
    with pytest.raises(Transient):
        await world.platform.create_issue(title="Section", body="b")
    assert len(requests_to(rsps, "POST", "/issues")) == 1
    assert world.clock.slept == []


async def test_connection_errors_are_retried_then_transient(world: GitLabWorld) -> None:
    world.fake.fail("GET", r"/issues/4$", error=requests.ConnectionError("reset by peer"))
    assert (await world.platform.get_issue(4)).number == 4
    world.fake.fail("GET", r"/issues/4$", times=4, error=requests.ReadTimeout("read timed out"))
    with pytest.raises(Transient, match="ReadTimeout"):
        await world.platform.get_issue(4)


async def test_429_waits_for_retry_after_then_succeeds(world: GitLabWorld) -> None:
    before = waited()
    world.fake.fail("GET", r"/issues/4$", 429, headers={"Retry-After": "7"}, body={"message": "Retry later"})
    assert (await world.platform.get_issue(4)).number == 4
    assert world.clock.slept == [7.0]
    assert waited() - before == 7.0


async def test_429_with_a_long_wait_is_rate_limited_not_slept(world: GitLabWorld) -> None:
    world.fake.fail("POST", r"/notes$", 429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited) as err:
        await world.platform.create_comment(4, "hello")
    assert err.value.retry_after == 600
    assert world.clock.slept == []
    assert world.fake.notes[4][-1]["body"] == "/readiness refresh"  # nothing was created


async def test_a_long_write_limit_holds_later_writes_without_calling(
    world: GitLabWorld, rsps: responses.RequestsMock
) -> None:
    world.fake.fail("POST", r"/notes$", 429, headers={"Retry-After": "900"})
    with pytest.raises(RateLimited):
        await world.platform.create_comment(4, "hello")
    sent = len(rsps.calls)
    with pytest.raises(RateLimited) as err:
        await world.platform.create_issue(title="t", body="b")
    assert len(rsps.calls) == sent and err.value.retry_after > 800


async def test_429_uses_ratelimit_reset_when_no_retry_after(world: GitLabWorld) -> None:
    reset = str(int(world.clock.now) + 12)
    world.fake.fail("GET", r"/issues/4$", 429, headers={"RateLimit-Remaining": "0", "RateLimit-Reset": reset})
    await world.platform.get_issue(4)
    assert world.clock.slept == [12.0]


async def test_exhausted_quota_pauses_the_next_request(world: GitLabWorld) -> None:
    reset = int(world.clock.now) + 20
    headers = {"RateLimit-Limit": "2000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
    world.fake.fail("GET", r"/issues/4$", 200, headers=headers, body=world.fake.issues[4])
    await world.platform.get_issue(4)  # succeeds, but the quota is now spent
    assert world.clock.slept == []
    await world.platform.get_issue(1)
    assert world.clock.slept == [20.0]


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, Forbidden), (403, Forbidden), (404, NotFound), (400, Invalid), (422, Invalid), (409, Invalid)],
)
async def test_http_errors_map_to_platform_errors(world: GitLabWorld, status: int, error: type) -> None:
    world.fake.fail("PUT", r"/issues/4$", status, body={"message": f"{status} nope"})
    with pytest.raises(error, match=f"PUT /projects/:id/issues/:iid: {status}"):
        await world.platform.update_issue(4, IssueUpdate(title="x"))


async def test_an_unparsable_response_is_a_platform_error(world: GitLabWorld) -> None:
    world.fake.fail("GET", r"/issues/4$", 200, body="<html>maintenance</html>")
    world.fake.canned[-1].headers["Content-Type"] = "text/html"
    with pytest.raises(PlatformError, match="GitlabParsingError"):
        await world.platform.get_issue(4)


# ------------------------------------------------------------------- issues and children


async def test_update_can_clear_assignees_and_labels(world: GitLabWorld) -> None:
    updated = await world.platform.update_issue(4, IssueUpdate(assignees=(), labels=()))
    assert (updated.assignees, updated.labels) == ((), ())


async def test_unknown_assignee_is_invalid(world: GitLabWorld) -> None:
    with pytest.raises(Invalid, match="no GitLab user 'nobody'"):
        await world.platform.create_issue(title="t", body="b", assignees=("nobody",))


async def test_epic_with_17_sections_costs_35_calls(
    links_world: GitLabWorld, rsps: responses.RequestsMock
) -> None:
    world = links_world
    start = len(rsps.calls)
    p = world.platform
    epic = await p.create_issue(title="Production readiness", body="epic", labels=("readiness",))
    for n in range(17):
        await p.link_child(epic, await p.create_issue(title=f"Section {n}", body="s", labels=("readiness",)))
    calls = rsps.calls[start:]
    assert len(calls) == 35  # 18 issue creations + 17 links; the project id comes from responses
    assert [c.request.method for c in calls] == ["POST"] * 35
    assert sum(world.clock.slept) == 34.0  # paced one write a second (fake clock), none dropped
    assert len(await p.list_children(epic)) == 17
    assert world.fake.graphql.operations == []  # the setting keeps GraphQL out entirely


async def test_link_child_looks_up_the_numeric_project_id_once(
    links_world: GitLabWorld, rsps: responses.RequestsMock
) -> None:
    p = links_world.platform
    epic, a, b = (Issue(n, 500_000 + n, "t", "", "open") for n in (1, 2, 4))
    await p.link_child(epic, a)
    await p.link_child(epic, b)
    project_gets = [c for c in rsps.calls if c.request.url == f"{BASE}/api/v4/projects/octo-org%2Fwidgets"]
    assert len(project_gets) == 1
    link_posts = [json.loads(c.request.body) for c in rsps.calls if c.request.url.endswith("/links")]
    assert link_posts[0] == {
        "target_project_id": PROJECT_ID,
        "target_issue_iid": 2,
        "link_type": "relates_to",
    }


async def test_unlinking_a_child_that_is_not_linked_is_harmless(world: GitLabWorld) -> None:
    epic, other = await world.platform.get_issue(1), await world.platform.get_issue(4)
    await world.platform.unlink_child(epic, other)
    assert await world.platform.list_children(epic) == []


# ------------------------------------------------------- comments, reactions, permission


async def test_system_notes_are_not_comments(world: GitLabWorld) -> None:
    note = {**world.fake.notes[4][0], "id": 9002, "body": "changed the description", "system": True}
    world.fake.notes[4].append(note)
    assert [c.id for c in await world.platform.list_comments(4)] == [9001]


async def test_github_reaction_names_become_award_emoji(world: GitLabWorld) -> None:
    await world.platform.add_reaction(4, 9001, "+1")
    await world.platform.add_reaction(4, 9001, "+1")  # GitLab refuses a duplicate: that is fine
    await world.platform.add_reaction(4, 9001, "hooray")
    assert world.fake.awards == [(9001, "thumbsup"), (9001, "tada")]


async def test_every_access_level_maps_to_a_permission(world: GitLabWorld) -> None:
    for login, level in {"owner": 50, "maint": 40, "dev": 30, "rep": 20, "planner": 15, "guest2": 10}.items():
        world.fake.members[world.fake.user(login)] = level
    world.fake.members[world.fake.user("minimal")] = 5
    levels = [
        await world.platform.permission(u) for u in ("owner", "maint", "dev", "rep", "planner", "guest2")
    ]
    assert levels == ["admin", "maintain", "write", "triage", "triage", "read"]
    assert await world.platform.permission("minimal") == "none"


async def test_check_report_becomes_a_commit_status(world: GitLabWorld) -> None:
    report = CheckReport("readiness", world.spec.head, "neutral", "x" * 400, "summary")
    await world.platform.report_check(report)
    posted = world.fake.posted_statuses[-1]
    assert (posted["status"], posted["name"]) == ("success", "readiness")  # neutral must not block
    assert len(posted["description"]) == 255 and posted["description"].endswith("…")


# -------------------------------------------------------------------------------- client


async def test_installation_repos_pages_through_member_projects(
    world: GitLabWorld, rsps: responses.RequestsMock
) -> None:
    base = world.fake._project()
    world.fake.other_projects = [
        {**base, "id": 5000 + n, "path_with_namespace": f"octo-org/svc-{n}", "archived": n == 0}
        for n in range(150)
    ]
    repos = await world.platform.client.installation_repos()
    assert len(repos) == 151 and len(requests_to(rsps, "GET", "/api/v4/projects?")) == 2
    assert repos[0] == RepoInfo("octo-org/widgets", PROJECT_ID, "main", archived=False)
    assert repos[1].archived and not repos[2].archived


def test_endpoint_templates_keep_metric_labels_small() -> None:
    assert endpoint_template("/projects/octo-org%2Fwidgets/issues/12/notes/99/award_emoji") == (
        "/projects/:id/issues/:iid/notes/:note_id/award_emoji"
    )
    assert endpoint_template(f"{BASE}/api/v4/projects/4711/repository/tree?page_token=abc") == (
        "/projects/:id/repository/tree"
    )
    assert endpoint_template("/projects/1/members/all/7") == "/projects/:id/members/all/:user_id"
    # a team owner's members: the group's path never becomes a label
    assert endpoint_template("/groups/octo-org%2Fsre/members/all") == "/groups/:group_id/members/all"
    assert endpoint_template("/projects/1/repository/files/docs%2Fa.md/raw") == (
        "/projects/:id/repository/files/:file_path/raw"
    )


# ------------------------------------------------------------------------- batched file reads


async def test_files_come_fifty_to_a_graphql_blobs_query(rsps: responses.RequestsMock) -> None:
    files = {f"src/mod{i}.py": f"import os  # {i}\n".encode() for i in range(60)}
    files["logo.png"] = b"\x89PNG\r\n\x1a\n\0\0"
    async for w in build_world(rsps, dataclasses.replace(GITLAB_SPEC, files=files)):
        got = await w.platform.files([*files, "src/missing.py"], w.spec.head)
        # the binary file has no text in GraphQL: left to a REST read by the caller
        assert got == {**{p: c for p, c in files.items() if p != "logo.png"}, "src/missing.py": None}
        assert w.fake.graphql.operations.count("repositoryBlobs") == 2
        assert requests_to(rsps, "GET", "/raw") == []


async def test_a_gitlab_without_the_blobs_query_is_asked_once(rsps: responses.RequestsMock) -> None:
    async for w in build_world(rsps, graphql="unsupported"):
        head, paths = w.spec.head, [".readiness.yml", "docs/runbook.md"]
        assert await w.platform.files(paths, head) == {}
        assert await w.platform.files(paths, head) == {}
        assert w.fake.graphql.operations.count("repositoryBlobs") == 1  # then REST only, by the caller
