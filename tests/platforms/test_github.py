"""The GitHub adapter against a stateful respx fake with GitHub's JSON shapes, on a GHES base URL."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
import respx
from prometheus_client import REGISTRY
from pydantic import SecretStr

from bot.config import Settings, load_settings
from bot.platforms.base import (
    Annotation,
    CheckReport,
    Forbidden,
    Invalid,
    IssueUpdate,
    Platform,
    PlatformClient,
    PlatformError,
    RateLimited,
    Transient,
)
from bot.platforms.github.client import GitHubClient, GitHubRepo

from .conftest import GHES, FakeClock
from .contract import SPEC, PlatformContract
from .fake_github import INSTALLATION_ID, FakeGitHub, _error


class GitHubWorld:
    def __init__(self, platform: GitHubRepo, fake: FakeGitHub) -> None:
        self.platform = platform
        self.spec = SPEC
        self.fake = fake

    def reactions(self) -> list[tuple[int, str]]:
        return list(self.fake.reactions)

    def checks(self) -> list[tuple[str, str, str]]:
        return [(r["name"], r["head_sha"], r["conclusion"]) for r in self.fake.check_runs_posted]


class TestGitHubContract(PlatformContract):
    @pytest.fixture
    def world(self, repo: GitHubRepo, fake: FakeGitHub) -> GitHubWorld:
        return GitHubWorld(repo, fake)


def _calls(fake: FakeGitHub, method: str, path_part: str) -> int:
    return sum(1 for m, p, _ in fake.log if m == method and path_part in p)


def _metric(route: str, outcome: str, method: str = "GET") -> float:
    labels = {
        "platform": "github",
        "installation": str(INSTALLATION_ID),
        "route": route,
        "method": method,
        "outcome": outcome,
    }
    return REGISTRY.get_sample_value("readiness_api_calls_total", labels) or 0.0


# ------------------------------------------------------------------------------- auth, tokens


async def test_implements_the_protocols(client: GitHubClient, repo: GitHubRepo) -> None:
    assert isinstance(client, PlatformClient)
    assert isinstance(repo, Platform)


async def test_ghes_base_url_and_app_identity(repo: GitHubRepo, router: respx.MockRouter) -> None:
    assert repo.bot_login == "readiness-bot[bot]"  # learned from GET /app (JWT)
    await repo.get_issue(1)
    assert router.calls and all(str(c.request.url).startswith(GHES + "/") for c in router.calls)


async def test_installation_token_is_minted_once_and_refreshed_before_expiry(
    repo: GitHubRepo, fake: FakeGitHub, clock: FakeClock
) -> None:
    await repo.get_issue(1)
    await repo.get_issue(4)
    assert fake.minted == 1
    clock.advance(3600 - 200)  # within five minutes of expiry: refresh before GitHub refuses it
    await repo.get_issue(1)
    assert fake.minted == 2
    assert _calls(fake, "POST", "/access_tokens") == 2


async def test_revoked_token_is_refreshed_once_and_the_call_retried(
    repo: GitHubRepo, fake: FakeGitHub
) -> None:
    await repo.get_issue(1)
    fake.tokens.clear()  # GitHub no longer accepts the cached token (revoked, clock skew)
    issue = await repo.get_issue(4)
    assert issue.number == 4
    assert fake.minted == 2
    assert [m for m, p, _ in fake.log if p.endswith("/issues/4")] == ["GET", "GET"]


async def test_for_repo_finds_the_installation(client: GitHubClient) -> None:
    repo = await client.for_repo(SPEC.full_name)
    assert repo.installation_id == INSTALLATION_ID


async def test_missing_app_credentials_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("READINESS_GITHUB_APP_ID", raising=False)
    with pytest.raises(ValueError, match="READINESS_GITHUB_APP_ID"):
        GitHubClient(load_settings(github_private_key="x"))


def test_a_malformed_key_fails_at_startup_not_per_request(settings: Settings) -> None:
    with pytest.raises(ValueError, match="not a PEM private key"):
        GitHubClient(
            settings.model_copy(
                update={"github_private_key": SecretStr("-----BEGIN RSA PRIVATE KEY-----\nnope")}
            )
        )


async def test_a_key_with_escaped_newlines_works(
    settings: Settings, rsa_key: tuple[str, str], clock: FakeClock, router: respx.MockRouter, fake: FakeGitHub
) -> None:
    escaped = settings.model_copy(update={"github_private_key": SecretStr(rsa_key[0].replace("\n", "\\n"))})
    client = GitHubClient(escaped, clock=clock, sleep=clock.sleep, http_cache=False)
    repo = await client.for_repo(SPEC.full_name, installation_id=INSTALLATION_ID)
    assert (await repo.get_issue(1)).number == 1
    await client.aclose()


# --------------------------------------------------------------------------------- pagination


async def test_installation_repos_follow_link_headers(client: GitHubClient, fake: FakeGitHub) -> None:
    repos = await client.installation_repos(INSTALLATION_ID)
    assert len(repos) == 151
    assert repos[0].full_name == SPEC.full_name
    assert [r.full_name for r in repos if r.archived] == ["octo-org/service-3"]
    assert _calls(fake, "GET", "/installation/repositories") == 2


async def test_find_issues_pages_through_all_of_the_bots_issues(repo: GitHubRepo, fake: FakeGitHub) -> None:
    for n in range(10, 260):
        fake._new_issue(n, f"Section {n}", f"<!-- readiness:section s{n % 3} -->", SPEC.bot_login)
    found = await repo.find_issues("<!-- readiness:section s1 -->")
    assert [i.number for i in found] == [n for n in range(10, 260) if n % 3 == 1]
    assert _calls(fake, "GET", "/issues") == 3  # 253 bot items (incl. one PR) at 100 per page


# ---------------------------------------------------------------------------------- trees


async def test_truncated_tree_is_completed_by_walking_subtrees(repo: GitHubRepo, fake: FakeGitHub) -> None:
    fake.truncate_over = 3
    tree = await repo.tree(SPEC.head)
    assert tree.complete
    assert list(tree.paths) == sorted(SPEC.files)
    assert _calls(fake, "GET", "/git/trees/") > 1


async def test_untruncated_tree_is_one_call(repo: GitHubRepo, fake: FakeGitHub) -> None:
    before = _calls(fake, "GET", "/git/trees/")
    await repo.tree(SPEC.head)
    assert _calls(fake, "GET", "/git/trees/") - before == 1


# ------------------------------------------------------------------------- batched file reads


async def test_files_come_fifty_to_a_graphql_query(repo: GitHubRepo, fake: FakeGitHub) -> None:
    files = {f"src/mod{i}.py": f"import os  # {i}\n" for i in range(120)}
    fake.push(SPEC.head, {**SPEC.files, **files})
    got = await repo.files([*files, "src/missing.py"], SPEC.head)
    assert got == {**{p: c.encode() for p, c in files.items()}, "src/missing.py": None}
    assert _calls(fake, "POST", "/graphql") == 3 and _calls(fake, "GET", "/contents/") == 0


async def test_binary_files_and_refused_queries_are_left_to_rest(repo: GitHubRepo, fake: FakeGitHub) -> None:
    fake.push(SPEC.head, {**SPEC.files, "logo.png": b"\x89PNG\r\n\x1a\n\0\0", "a.md": b"# a\n"})
    assert await repo.files(["logo.png", "a.md"], SPEC.head) == {"a.md": b"# a\n"}  # no text: not batched
    refused = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for installation."}]}
    fake.fail_next.append((r"POST /graphql$", httpx.Response(200, json=refused)))
    assert await repo.files(["a.md", "README.md"], SPEC.head) == {}
    assert _calls(fake, "GET", "/contents/") == 0  # the caller reads what it still needs, one by one


# --------------------------------------------------------------------- retries and rate limits


async def test_502_is_retried_with_backoff(repo: GitHubRepo, fake: FakeGitHub, clock: FakeClock) -> None:
    fake.fail_next.append((r"GET .*/issues/4$", _error(502, "Server Error")))
    issue = await repo.get_issue(4)
    assert issue.title == "Bug: widgets are square"
    assert clock.slept == [1.0]
    assert _metric("/repos/{owner}/{repo}/issues/{number}", "transient") >= 1


async def test_persistent_5xx_becomes_transient(repo: GitHubRepo, fake: FakeGitHub, clock: FakeClock) -> None:
    fake.fail_next.extend([(r"GET .*/issues/4$", _error(503, "Unavailable"))] * 4)
    with pytest.raises(Transient):
        await repo.get_issue(4)
    assert clock.slept == [1.0, 2.0, 4.0]


async def test_timeouts_are_retried(repo: GitHubRepo, router: respx.MockRouter, fake: FakeGitHub) -> None:
    await repo.get_issue(1)
    failures = iter([httpx.ConnectTimeout("connect timed out"), httpx.ReadTimeout("read timed out")])

    def flaky(request: httpx.Request) -> httpx.Response:
        exc = next(failures, None)
        if exc is not None:
            raise exc
        return fake(request)

    router.routes.clear()
    router.route().mock(side_effect=flaky)
    assert (await repo.get_issue(4)).number == 4


async def test_secondary_rate_limit_retry_after_is_waited_out_and_nothing_is_duplicated(
    repo: GitHubRepo, fake: FakeGitHub, clock: FakeClock
) -> None:
    limited = httpx.Response(
        403,
        json={
            "message": "You have exceeded a secondary rate limit. "
            "Please wait a few minutes before you try again."
        },
        headers={"retry-after": "30"},
    )
    fake.fail_next.append((r"POST .*/issues$", limited))
    waited = REGISTRY.get_sample_value("readiness_rate_limit_wait_seconds_total", {"platform": "github"}) or 0
    issue = await repo.create_issue(title="Section: security", body="b")
    assert 30.0 in clock.slept
    after = REGISTRY.get_sample_value("readiness_rate_limit_wait_seconds_total", {"platform": "github"})
    assert after - waited >= 30
    assert [i["title"] for i in fake.issues.values()].count("Section: security") == 1
    assert issue.number == max(fake.issues)


async def test_long_rate_limit_goes_back_to_the_worker(
    repo: GitHubRepo, fake: FakeGitHub, clock: FakeClock
) -> None:
    reset = int(clock.now) + 1800
    limited = _error(403, "API rate limit exceeded for installation ID 4242.")
    limited.headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    fake.fail_next.append((r"GET .*/issues/1$", limited))
    with pytest.raises(RateLimited) as err:
        await repo.get_issue(1)
    assert err.value.retry_after == pytest.approx(1800)
    assert clock.slept == []


async def test_primary_limit_with_a_near_reset_is_waited_out(
    repo: GitHubRepo, fake: FakeGitHub, clock: FakeClock
) -> None:
    limited = _error(429, "API rate limit exceeded")
    limited.headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 45)})
    fake.fail_next.append((r"GET .*/issues/1$", limited))
    assert (await repo.get_issue(1)).number == 1
    assert clock.slept == [45.0]


async def test_error_mapping(repo: GitHubRepo, fake: FakeGitHub) -> None:
    fake.fail_next.append((r"PATCH .*/issues/4$", _error(403, "Resource not accessible by integration")))
    with pytest.raises(Forbidden):
        await repo.update_issue(4, IssueUpdate(body="x"))
    fake.fail_next.append((r"POST .*/comments$", _error(422, "Validation Failed")))
    with pytest.raises(Invalid):
        await repo.create_comment(4, "x" * 70000)


# ------------------------------------------------------------------------------ normalisation


async def test_ci_results_leave_out_our_own_check_runs(repo: GitHubRepo) -> None:
    await repo.report_check(CheckReport("readiness/config", SPEC.head, "failure", "bad config", "line 2"))
    names = sorted(r.name for r in await repo.ci_results(SPEC.head))
    assert names == sorted(r.name for r in SPEC.ci)


async def test_permission_prefers_role_name(repo: GitHubRepo, fake: FakeGitHub) -> None:
    fake.spec = dataclasses.replace(SPEC, permissions={"mia": "maintain"})
    assert await repo.permission("mia") == "maintain"  # legacy `permission` says write


async def test_check_run_payload(repo: GitHubRepo, fake: FakeGitHub) -> None:
    notes = tuple(Annotation(".readiness.yml", n, f"problem {n}") for n in range(1, 61))
    await repo.report_check(CheckReport("readiness/config", SPEC.head, "failure", "2 errors", "…", notes))
    posted = fake.check_runs_posted[-1]
    assert posted["status"] == "completed"
    assert len(posted["output"]["annotations"]) == 50
    assert posted["output"]["summary"].endswith("10 more problem(s) not shown as annotations.")
    assert posted["output"]["annotations"][0] == {
        "path": ".readiness.yml",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "failure",
        "message": "problem 1",
    }


async def test_concurrent_first_calls_mint_one_token(repo: GitHubRepo, fake: FakeGitHub) -> None:
    await asyncio.gather(*(repo.get_issue(n) for n in (1, 2, 3, 4)))
    assert fake.minted == 1


async def test_http_cache_revalidates_with_etags(
    settings: Settings, clock: FakeClock, router: respx.MockRouter, fake: FakeGitHub
) -> None:
    """Production keeps githubkit's cache on: repeated reads become conditional, 304s are free."""
    client = GitHubClient(settings, clock=clock, sleep=clock.sleep)  # http_cache defaults to on
    repo = await client.for_repo(SPEC.full_name, installation_id=INSTALLATION_ID)
    first = await repo.get_issue(4)
    second = await repo.get_issue(4)
    assert second == first
    assert fake.not_modified == 1
    requests = [c.request for c in router.calls if c.request.url.path.endswith("/issues/4")]
    assert "if-none-match" not in requests[0].headers
    assert requests[1].headers["if-none-match"].startswith('W/"')
    await client.aclose()


async def test_a_create_that_may_have_happened_is_not_retried(
    repo: GitHubRepo, fake: FakeGitHub, clock: FakeClock
) -> None:
    """A 502 on POST /issues may hide a created issue: the worker re-syncs and adopts it instead."""
    fake.fail_next.append((r"POST .*/issues$", _error(502, "Server Error")))
    with pytest.raises(Transient):
        await repo.create_issue(title="Section: security", body="b")
    assert _calls(fake, "POST", "/issues") == 1
    assert clock.slept == []


async def test_a_token_refused_twice_is_forbidden(repo: GitHubRepo, fake: FakeGitHub) -> None:
    await repo.get_issue(1)
    fake.fail_next.extend([(r"GET .*/issues/4$", _error(401, "Bad credentials"))] * 2)
    with pytest.raises(Forbidden):
        await repo.get_issue(4)
    assert fake.minted == 2


def test_blob_queries_carry_paths_as_variables_only() -> None:
    from bot.platforms.github.convert import blob_query, blob_texts

    query = blob_query(2)
    assert "$e0: String!" in query and "f1: object(expression: $e1)" in query and '"' not in query
    answer = {
        "data": {"repository": {"f0": {"text": "é\n", "isBinary": False, "isTruncated": False}, "f1": None}}
    }
    assert blob_texts(answer, ["a.md", "gone.md"]) == {"a.md": "é\n".encode(), "gone.md": None}
    partial = {**answer, "errors": [{"message": "Something went wrong"}]}
    assert blob_texts(partial, ["a.md", "gone.md"]) == {"a.md": "é\n".encode()}  # unsure: read via REST
    with pytest.raises(PlatformError, match="Could not resolve"):
        blob_texts(
            {"data": {"repository": None}, "errors": [{"message": "Could not resolve to a Repository"}]},
            ["a"],
        )


# --------------------------------------------------------------- conditional default-branch reads


@pytest.mark.parametrize("http_cache", [False, True], ids=["no-cache", "githubkit-cache"])
async def test_the_org_default_is_revalidated_with_its_etag_and_a_304_is_free(
    settings: Settings, clock: FakeClock, router: respx.MockRouter, fake: FakeGitHub, http_cache: bool
) -> None:
    fake.org_files[".readiness.yml"] = b"checklists: [service]\n"
    client = GitHubClient(settings, clock=clock, sleep=clock.sleep, http_cache=http_cache)
    org = await client.for_repo("octo-org/.github", installation_id=INSTALLATION_ID)
    first = await org.default_branch_file(".readiness.yml")
    assert first.data == b"checklists: [service]\n" and first.etag and not first.unchanged
    token = f"core:token {next(iter(fake.tokens))}"
    left = fake.rate_remaining[token]

    again = await org.default_branch_file(".readiness.yml", etag=first.etag)
    assert again.unchanged and again.etag == first.etag
    sent = [
        c.request for c in router.calls if c.request.url.path.endswith("/.github/contents/.readiness.yml")
    ]
    assert sent[-1].headers["if-none-match"] == first.etag and "ref" not in sent[-1].url.params
    assert fake.rate_remaining[token] == left  # the 304 did not count
    assert _metric("/repos/{owner}/{repo}/contents/{path}", "not_modified") >= 1

    fake.org_files[".readiness.yml"] = b"checklists: [service, data]\n"  # the organisation edits it
    changed = await org.default_branch_file(".readiness.yml", etag=first.etag)
    assert changed.data == b"checklists: [service, data]\n" and changed.etag != first.etag
    await client.aclose()


async def test_a_missing_org_default_is_no_file_and_one_call(client: GitHubClient, fake: FakeGitHub) -> None:
    org = await client.for_repo("octo-org/.github", installation_id=INSTALLATION_ID)
    fake.log.clear()
    missing = await org.default_branch_file(".readiness.yml")
    assert missing.data is None and not missing.unchanged
    reads = [(m, p) for m, p, _ in fake.log if "access_tokens" not in p]  # authentication aside
    assert reads == [("GET", "/repos/octo-org/.github/contents/.readiness.yml")]
