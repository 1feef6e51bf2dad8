"""Print the API calls each event of issue 9's budget table costs, on GitHub and on GitLab.

Measured from outside: the bot is driven only by signed, real-shaped webhooks (the test
fixtures, re-addressed) into the real app, queue and worker, against the stateful fakes the tests
use, at the HTTP layer (respx for GitHub's REST and GraphQL; `responses` for python-gitlab's REST
and respx for GitLab's GraphQL). Authentication calls (GitHub: app JWT → installation token,
`GET /app`; GitLab: `GET /user`) are left out, as in the issue's table.

Onboarding 100 repositories is one repository's onboarding writes times 100, paced with
`bot.core.pacing.ready_at` at GitHub's limits (a second apart, 80 a minute, 500 an hour): the
hours such an organisation waits for its issues, for each layout of `LAYOUTS` (each measured:
the event rows are the default `sections` layout, then onboarding again with `issues.layout`).

Usage: `.venv/bin/python bench/api_budget.py [-v]` (-v lists every call per scenario).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import requests
import responses
import respx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from e2e.conftest import TEMPLATE_PATH, Clock, base_files, fixture, new_delivery, running_bot  # noqa: E402
from e2e.test_github_e2e import (  # noqa: E402
    API,
    SECRET,
    _installation,
    _repo_json,
    check_run_payload,
    deliver,
    push_payload,
)
from e2e.test_gitlab_e2e import _project, pipeline_payload  # noqa: E402
from e2e.test_gitlab_e2e import push_payload as gitlab_push  # noqa: E402
from platforms.conftest import FakeClock  # noqa: E402
from platforms.contract import SPEC, SeedIssue  # noqa: E402
from platforms.fake_github import APP_ID, FakeGitHub, app_key_pair  # noqa: E402
from platforms.gitlab_fake import BASE, FakeGitLab  # noqa: E402
from webhooks.helpers import GL_WHSEC, gitlab_signed_headers  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.core.pacing import PaceLimits, ready_at  # noqa: E402
from bot.core.snapshot import SUCCESS, CIResult  # noqa: E402
from bot.jobs.router import Router  # noqa: E402
from bot.logging import configure_logging  # noqa: E402
from bot.platforms.github.client import GitHubClient  # noqa: E402
from bot.platforms.gitlab.client import GitLabClient  # noqa: E402
from bot.resources import load_shipped  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.migrate import upgrade_engine  # noqa: E402

HEAD1, HEAD2, HEAD3, HEAD4, HEAD5 = (f"c0ffee{n:034d}" for n in range(1, 6))
PR_HEAD = "beef" * 10
WRITES = ("POST", "PATCH", "PUT", "DELETE")
LAYOUTS = ("sections", "single")  # `issues.layout` in .readiness.yml
REPOSITORIES = 100
VERBOSE = "-v" in sys.argv


@dataclasses.dataclass
class Row:
    platform: str
    event: str
    reads: int
    writes: int
    needs: str  # the issue's target, as printed
    within: bool  # at or under it


# ------------------------------------------------------------------------------------ targets


def needs_onboarding(sections: int) -> tuple[str, Callable[[int, int], bool]]:
    limit = 2 * sections + 10
    return f"<= {limit} (2S+10, S={sections})", lambda r, w: r + w <= limit


NEEDS: dict[str, tuple[str, Callable[[int, int], bool]]] = {
    "ci-other-branch": ("0", lambda r, w: r + w == 0),
    "ci-default-branch": ("<= 4 reads + 2 writes", lambda r, w: r <= 4 and w <= 2),
    "push-no-change": ("<= 3", lambda r, w: r + w <= 3),
    "push-tick": ("<= 5 reads + 2 writes", lambda r, w: r <= 5 and w <= 2),
    "push-no-ci": ("<= 1", lambda r, w: r + w <= 1),
}
SECURITY_SECTION = """\
  - id: security
    title: Security
    items:
      - id: policy
        title: Security policy
        why: Reporters know where to write
        evidence: {files: [SECURITY.md]}
"""


def pacing_hours(writes: int, limits: PaceLimits = PaceLimits()) -> float:
    """Hours from the first write to the last at the pacing limits (the bot's own arithmetic)."""
    sent: list[float] = []
    now = 0.0
    for _ in range(writes):
        now = ready_at(sent[-limits.per_hour :], now, 0.0, limits)
        sent.append(now)
    return now / 3600


# ------------------------------------------------------------------------------------- GitHub


def without_ci_rules(files: dict[str, str]) -> dict[str, str]:
    """The same repository once its template has no `ci` rule left: CI results are not read."""
    template = files[TEMPLATE_PATH].replace('evidence: {ci: ["test*"]}', "evidence: {files: [Makefile]}")
    assert template != files[TEMPLATE_PATH]
    return {**files, TEMPLATE_PATH: template}


def github_ci_burst(head: str, branch: str) -> list[tuple[str, dict[str, Any]]]:
    """3 workflow runs as the App receives them (each: a check_run and a check_suite; the App
    does not subscribe to workflow_run / workflow_job) and one more check run."""
    out: list[tuple[str, dict[str, Any]]] = []
    common = {"repository": _repo_json(), "installation": _installation()}
    for n in range(3):
        cr = check_run_payload(head, f"tests-{n}")
        cr["check_run"]["check_suite"]["head_branch"] = branch
        suite = fixture("github", "check_suite.completed.payload.json") | common
        suite["check_suite"].update(head_sha=head, head_branch=branch)
        out += [("check_run", cr), ("check_suite", suite)]
    cr = check_run_payload(head, "lint")
    cr["check_run"]["check_suite"]["head_branch"] = branch
    return [*out, ("check_run", cr)]


def github_counted(log: list[tuple[str, str, float]]) -> tuple[int, int, list[str]]:
    reads = writes = 0
    shown = []
    for method, path, _ in log:
        if "access_tokens" in path or path.rstrip("/").endswith("/app") or path.endswith("/installation"):
            continue  # authentication
        shown.append(f"{method} {path}")
        if method in WRITES and path != "/graphql":
            writes += 1
        else:
            reads += 1
    return reads, writes, shown


def layout_files(layout: str) -> dict[str, str]:
    """The bench repository, its template with 3 sections (S in the issue's 2S+10), with
    `issues.layout` set when it is not the default."""
    files = base_files(Dockerfile="FROM python:3.11\n")
    files[TEMPLATE_PATH] += SECURITY_SECTION
    if layout != "sections":
        files[".readiness.yml"] += f"issues:\n  layout: {layout}\n"
    return files


async def github_rows(tmp: str, layout: str = "sections") -> tuple[list[Row], int]:
    pem, public = app_key_pair()
    spec = dataclasses.replace(SPEC, files={}, ci=(), labels=(), issues=SPEC.issues[:1], comments=())
    fake = FakeGitHub(spec, API, public_key=public, now=FakeClock())
    files = layout_files(layout)
    fake.push(HEAD1, files)
    rows: list[Row] = []
    onboarding_writes = 0
    with respx.mock(base_url=fake.host, assert_all_called=False) as r:
        r.route().mock(side_effect=fake)
        settings = load_settings(
            database_url=f"sqlite:///{tmp}/github-{layout}.db",
            github_webhook_secret=SECRET,
            github_app_id=APP_ID,
            github_private_key=pem,
            github_api_url=API,
        )
        engine = make_engine(settings.database_url)
        upgrade_engine(engine)
        clock = FakeClock()
        client = GitHubClient(settings, clock=clock, sleep=clock.sleep, http_cache=False)
        handler = Router(engine, {"github": client}, load_shipped())
        async with running_bot(settings, engine, handler, Clock()) as bot:

            async def scenario(key: str, name: str, deliveries: list[tuple[str, dict[str, Any]]]) -> Row:
                fake.log.clear()
                for event, payload in deliveries:
                    response = await deliver(bot, event, json.loads(json.dumps(payload)))
                    assert response.status_code == 202, (event, response.status_code, response.text)
                await bot.drain()
                reads, writes, shown = github_counted(fake.log)
                if VERBOSE:
                    print(f"github {name}: {shown}")
                sections = sum(1 for i in fake.issues.values() if "readiness:section" in (i["body"] or ""))
                needs, ok = needs_onboarding(sections) if key == "onboarding" else NEEDS[key]
                row = Row("github", name, reads, writes, needs, ok(reads, writes))
                rows.append(row)
                return row

            onboarding = await scenario(
                "onboarding", "onboarding, one custom template", [("push", push_payload(HEAD1))]
            )
            onboarding_writes = onboarding.writes
            await scenario(
                "ci-other-branch",
                "CI on a pull-request branch (7 deliveries)",
                github_ci_burst(PR_HEAD, "feature"),
            )
            fake.push(HEAD1, files, ci=(CIResult("tests-0", SUCCESS, url="https://ci/1"),))
            await scenario(
                "ci-default-branch",
                "CI success on the default branch (7 deliveries), one tick",
                github_ci_burst(HEAD1, "main"),
            )
            fake.push(HEAD2, {**files, "NOTES.md": "x\n"}, ci=fake.spec.ci)
            await scenario(
                "push-no-change", "a push that changes no item", [("push", push_payload(HEAD2, HEAD1))]
            )
            fake.push(HEAD3, {**files, "docs/runbooks/db.md": "# db\n"}, ci=fake.spec.ci)
            await scenario("push-tick", "a push that ticks one item", [("push", push_payload(HEAD3, HEAD2))])
            no_ci = without_ci_rules({**files, "docs/runbooks/db.md": "# db\n"})
            fake.push(HEAD4, no_ci, ci=fake.spec.ci)
            await deliver(bot, "push", push_payload(HEAD4, HEAD3))  # the template change itself: not counted
            await bot.drain()
            fake.push(HEAD5, {**no_ci, "NOTES.md": "y\n"}, ci=fake.spec.ci)
            await scenario(
                "push-no-ci",
                "a push that changes no item, no `ci` rule chosen",
                [("push", push_payload(HEAD5, HEAD4))],
            )
        await client.aclose()
        engine.dispose()
    return rows, onboarding_writes


# ------------------------------------------------------------------------------------- GitLab


def gitlab_job(sha: str, ref: str, name: str, status: str = "success") -> dict[str, Any]:
    p = fixture("gitlab", "job.json")
    p.update(
        ref=ref, sha=sha, before_sha=sha, build_name=name, build_status=status, project_id=_project()["id"]
    )
    p["project"] = _project()
    p["project_name"] = _project()["path_with_namespace"]
    return p


def gitlab_ci_burst(sha: str, ref: str) -> list[tuple[str, dict[str, Any]]]:
    """A pipeline of 3 jobs as GitLab sends it: a Job Hook per job and the Pipeline Hook."""
    jobs = tuple((f"tests-{n}", "success") for n in range(3))
    pipeline = pipeline_payload(sha, jobs)
    pipeline["object_attributes"]["ref"] = ref
    return [*(("Job Hook", gitlab_job(sha, ref, n)) for n, _ in jobs), ("Pipeline Hook", pipeline)]


async def gitlab_rows(tmp: str, layout: str = "sections") -> tuple[list[Row], int]:
    spec = dataclasses.replace(
        SPEC,
        bot_login="readiness-bot",
        files={},
        ci=(),
        labels=(),
        issues=(SeedIssue(1, "Bug: widgets are square", "They should be round.", "hubot"),),
        comments=(),
    )
    rows: list[Row] = []
    onboarding_writes = 0
    files = layout_files(layout)
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
        respx.mock(assert_all_called=False) as router,
    ):
        fake = FakeGitLab(spec, rsps)
        fake.graphql.mode = "hierarchy"  # sections as child tasks, as GitLab 16+ allows
        fake.graphql.mount(router)
        fake.pipelines.clear()
        fake.external.clear()
        fake.push(HEAD1, files)
        settings = load_settings(
            database_url=f"sqlite:///{tmp}/gitlab-{layout}.db",
            gitlab_signing_secret=GL_WHSEC,
            gitlab_url=BASE,
            gitlab_token="glpat-bench",
        )
        engine = make_engine(settings.database_url)
        upgrade_engine(engine)
        clock = FakeClock()
        client = GitLabClient(settings, session=requests.Session(), clock=clock, sleep=clock.sleep)
        handler = Router(engine, {"gitlab": client}, load_shipped())
        async with running_bot(settings, engine, handler, Clock()) as bot:

            async def scenario(key: str, name: str, deliveries: list[tuple[str, dict[str, Any]]]) -> Row:
                rest_before, ops_before = len(rsps.calls), len(fake.graphql.operations)
                for event, payload in deliveries:
                    body = json.dumps(payload).encode()
                    headers = gitlab_signed_headers(body, event, msg_id=new_delivery())
                    response = await bot.post("/webhooks/gitlab", body, headers)
                    assert response.status_code == 202, (event, response.status_code, response.text)
                await bot.drain()
                reads = writes = 0
                shown = []
                for call in list(rsps.calls)[rest_before:]:
                    method, url = call.request.method, call.request.url or ""
                    if url.split("?")[0].endswith("/api/v4/user"):
                        continue  # authentication: the bot's identity
                    shown.append(f"{method} {url.split('/api/v4', 1)[-1].split('?')[0]}")
                    writes, reads = (writes + 1, reads) if method in WRITES else (writes, reads + 1)
                for op in fake.graphql.operations[ops_before:]:
                    shown.append(f"graphql {op}")
                    is_write = op.startswith("workItem") and op not in ("workItemTypes", "workItemChildren")
                    writes, reads = (writes + 1, reads) if is_write else (writes, reads + 1)
                if VERBOSE:
                    print(f"gitlab {name}: {shown}")
                sections = sum(
                    1 for i in fake.issues.values() if "readiness:section" in (i["description"] or "")
                )
                needs, ok = needs_onboarding(sections) if key == "onboarding" else NEEDS[key]
                row = Row("gitlab", name, reads, writes, needs, ok(reads, writes))
                rows.append(row)
                return row

            onboarding = await scenario(
                "onboarding", "onboarding, one custom template", [("Push Hook", gitlab_push(HEAD1))]
            )
            onboarding_writes = onboarding.writes
            await scenario(
                "ci-other-branch",
                "CI on a merge-request branch (4 deliveries)",
                gitlab_ci_burst(PR_HEAD, "feature"),
            )
            fake.push(HEAD1, files, jobs=(("tests-0", "success"),))
            await scenario(
                "ci-default-branch",
                "CI success on the default branch (4 deliveries), one tick",
                gitlab_ci_burst(HEAD1, "main"),
            )
            fake.push(HEAD2, {**files, "NOTES.md": "x\n"}, jobs=(("tests-0", "success"),))
            await scenario(
                "push-no-change", "a push that changes no item", [("Push Hook", gitlab_push(HEAD2, HEAD1))]
            )
            fake.push(HEAD3, {**files, "docs/runbooks/db.md": "# db\n"}, jobs=(("tests-0", "success"),))
            await scenario(
                "push-tick", "a push that ticks one item", [("Push Hook", gitlab_push(HEAD3, HEAD2))]
            )
            no_ci = without_ci_rules({**files, "docs/runbooks/db.md": "# db\n"})
            fake.push(HEAD4, no_ci, jobs=(("tests-0", "success"),))
            await scenario(  # the template change itself: run, not printed
                "push-tick", "(template change)", [("Push Hook", gitlab_push(HEAD4, HEAD3))]
            )
            rows.pop()
            fake.push(HEAD5, {**no_ci, "NOTES.md": "y\n"}, jobs=(("tests-0", "success"),))
            await scenario(
                "push-no-ci",
                "a push that changes no item, no `ci` rule chosen",
                [("Push Hook", gitlab_push(HEAD5, HEAD4))],
            )
        await client.aclose()
        engine.dispose()
    return rows, onboarding_writes


# -------------------------------------------------------------------------------------- main


async def main() -> None:
    configure_logging(load_settings(log_level="WARNING", log_format="console"))
    with tempfile.TemporaryDirectory() as tmp:
        measured: list[tuple[list[Row], int]] = []
        onboarding: list[tuple[str, str, int]] = []  # (platform, layout, writes per repository)
        run: Callable[..., Awaitable[tuple[list[Row], int]]]
        for run in (github_rows, gitlab_rows):
            for layout in LAYOUTS:
                rows, writes = await run(tmp, layout)
                if layout == LAYOUTS[0]:
                    measured.append((rows, writes))
                onboarding.append((rows[0].platform, layout, writes))
    print(f"{'platform':<8} {'event':<58} {'reads':>5} {'writes':>6}  {'needs':<26} ok")
    for rows, _ in measured:
        for row in rows:
            mark = "yes" if row.within else "NO"
            print(f"{row.platform:<8} {row.event:<58} {row.reads:>5} {row.writes:>6}  {row.needs:<26} {mark}")
    print()
    print(f"onboarding {REPOSITORIES} repositories, paced at GitHub's limits (1/s, 80/min, 500/h):")
    print(f"{'platform':<8} {'layout':<10} {'writes':>7} {'hours':>6}")
    for platform, layout, writes in onboarding:
        total = writes * REPOSITORIES
        print(f"{platform:<8} {layout:<10} {total:>7} {pacing_hours(total):>6.2f}")


if __name__ == "__main__":
    asyncio.run(main())
