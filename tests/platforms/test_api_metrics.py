"""/metrics shows API calls by platform, installation and route class, and the rate limit left.

The adapters talk to the stateful fakes at the HTTP layer (respx for GitHub, `responses` for
python-gitlab), which send the platforms' own rate-limit headers; what an operator reads is the
app's /metrics text.
"""

from __future__ import annotations

import re

import httpx
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import load_settings
from bot.platforms.github.client import GitHubRepo

from .fake_github import INSTALLATION_ID, FakeGitHub
from .test_gitlab import GitLabWorld, rsps, world  # noqa: F401  (the GitLab fixtures)


async def scrape(engine: Engine, db_url: str) -> str:
    app = create_app(
        load_settings(database_url=db_url), engine=engine, start_worker=False, start_scheduler=False
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        response = await http.get("/metrics")
    assert response.status_code == 200
    return response.text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the one series of `name` with exactly these labels (any order)."""
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if m and dict(re.findall(r'(\w+)="([^"]*)"', m.group(1))) == labels:
            return float(m.group(2))
    return None


def api_calls_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("readiness_api_calls_total{")]


async def test_github_calls_by_installation_and_route_class_and_the_remaining_limit(
    repo: GitHubRepo, fake: FakeGitHub, engine: Engine, db_url: str
) -> None:
    installation = str(INSTALLATION_ID)
    before = await scrape(engine, db_url)
    issue = await repo.create_issue(title="Readiness", body="<!-- readiness:epic -->")
    await repo.get_issue(issue.number)
    await repo.get_issue(1)
    text = await scrape(engine, db_url)

    def grew(route: str, method: str) -> float:
        labels = dict(platform="github", installation=installation, route=route, method=method, outcome="ok")
        return (sample(text, "readiness_api_calls_total", **labels) or 0) - (
            sample(before, "readiness_api_calls_total", **labels) or 0
        )

    assert grew("/repos/{owner}/{repo}/issues/{number}", "GET") == 2  # two issues, one route class
    assert grew("/repos/{owner}/{repo}/issues", "POST") == 1
    # the route label is always a template: no repository name or issue number in any label
    assert not [line for line in api_calls_lines(text) if "octo" in line or re.search(r"/\d", line)]
    left = fake.rate_remaining[f"core:token {next(iter(fake.tokens))}"]
    assert left < 5000
    assert (
        sample(text, "readiness_rate_limit_remaining", platform="github", installation=installation) == left
    )


async def test_github_graphql_budget_is_not_reported_as_the_rest_limit(
    repo: GitHubRepo, fake: FakeGitHub, engine: Engine, db_url: str
) -> None:
    for _ in range(3):
        await repo.get_issue(1)
    core = sample(
        await scrape(engine, db_url),
        "readiness_rate_limit_remaining",
        platform="github",
        installation=str(INSTALLATION_ID),
    )
    await repo.files(["README.md"], fake.spec.head)  # one GraphQL query: its own budget
    after = sample(
        await scrape(engine, db_url),
        "readiness_rate_limit_remaining",
        platform="github",
        installation=str(INSTALLATION_ID),
    )
    assert core is not None and after == core == fake.rate_remaining[f"core:token {next(iter(fake.tokens))}"]
    assert fake.rate_remaining[f"graphql:token {next(iter(fake.tokens))}"] != core


async def test_gitlab_calls_by_route_class_and_the_remaining_limit(
    world: GitLabWorld,  # noqa: F811  (the fixture imported above)
    engine: Engine,
    db_url: str,
) -> None:
    labels = dict(
        platform="gitlab", installation="0", route="/projects/:id/issues/:iid", method="GET", outcome="ok"
    )
    before = sample(await scrape(engine, db_url), "readiness_api_calls_total", **labels) or 0
    await world.platform.get_issue(4)
    text = await scrape(engine, db_url)
    assert sample(text, "readiness_api_calls_total", **labels) == before + 1
    assert sample(text, "readiness_rate_limit_remaining", platform="gitlab", installation="0") == (
        world.fake.rate_remaining
    )
