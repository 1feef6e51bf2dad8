"""Print the GitHub API calls each event of issue 9's budget table costs, measured from outside.

The bot is driven only by signed, real-shaped webhooks (the test fixtures, re-addressed) into the
real app, queue and worker, against the stateful respx fake of GitHub's REST API the tests use.
Authentication calls (app JWT → installation token) are left out, as in the issue's table.
Usage: `.venv/bin/python bench/api_budget.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import respx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from e2e.conftest import Clock, base_files, fixture, running_bot  # noqa: E402
from e2e.test_github_e2e import (  # noqa: E402
    API,
    SECRET,
    _installation,
    _repo_json,
    check_run_payload,
    deliver,
    push_payload,
)
from platforms.conftest import FakeClock  # noqa: E402
from platforms.contract import SPEC  # noqa: E402
from platforms.fake_github import APP_ID, FakeGitHub, app_key_pair  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.core.snapshot import SUCCESS, CIResult  # noqa: E402
from bot.jobs.router import Router  # noqa: E402
from bot.platforms.github import GitHubClient  # noqa: E402
from bot.resources import load_shipped  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.migrate import upgrade_engine  # noqa: E402

HEAD1, HEAD2, HEAD3 = (f"c0ffee{n:034d}" for n in (1, 2, 3))
PR_HEAD = "beef" * 10


def ci_burst(head: str, branch: str) -> list[tuple[str, dict[str, Any]]]:
    """3 workflow runs (each: workflow_run, workflow_job, check_run, check_suite) and a check run."""
    out: list[tuple[str, dict[str, Any]]] = []
    common = {"repository": _repo_json(), "installation": _installation()}
    for n in range(3):
        run = fixture("github", "workflow_run.completed.payload.json") | common
        run["workflow_run"].update(head_sha=head, head_branch=branch, name=f"tests-{n}", conclusion="success")
        job = fixture("github", "workflow_job.completed.success.with-organization.payload.json") | common
        job["workflow_job"].update(head_sha=head, head_branch=branch, name=f"tests-{n}")
        cr = check_run_payload(head, f"tests-{n}")
        cr["check_run"]["check_suite"]["head_branch"] = branch
        suite = fixture("github", "check_suite.completed.payload.json") | common
        suite["check_suite"].update(head_sha=head, head_branch=branch)
        out += [("workflow_run", run), ("workflow_job", job), ("check_run", cr), ("check_suite", suite)]
    cr = check_run_payload(head, "lint")
    cr["check_run"]["check_suite"]["head_branch"] = branch
    return [*out, ("check_run", cr)]


def counted(log: list[tuple[str, str, float]]) -> Counter[str]:
    c: Counter[str] = Counter()
    for method, path, _ in log:
        if "access_tokens" in path or path.rstrip("/").endswith("/app") or "/installation" in path:
            continue  # authentication
        c["write" if method in ("POST", "PATCH", "DELETE", "PUT") and path != "/graphql" else "read"] += 1
    return c


async def main() -> None:
    pem, public = app_key_pair()
    spec = dataclasses.replace(SPEC, files={}, ci=(), labels=(), issues=SPEC.issues[:1], comments=())
    fake = FakeGitHub(spec, API, public_key=public, now=FakeClock())
    files = base_files(Dockerfile="FROM python:3.11\n")
    fake.push(HEAD1, files)
    rows: list[tuple[str, Counter[str]]] = []
    with tempfile.TemporaryDirectory() as tmp, respx.mock(base_url=fake.host, assert_all_called=False) as r:
        r.route().mock(side_effect=fake)
        settings = load_settings(
            database_url=f"sqlite:///{tmp}/bench.db",
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

            async def scenario(name: str, deliveries: list[tuple[str, dict[str, Any]]]) -> None:
                fake.log.clear()
                for event, payload in deliveries:
                    status = (await deliver(bot, event, json.loads(json.dumps(payload)))).status_code
                    # 200: an event the app does not subscribe to (workflow events)
                    assert status in (200, 202), (event, status)
                await bot.drain()
                rows.append((name, counted(fake.log)))
                if "-v" in sys.argv:
                    print(name, [(m, p) for m, p, _ in fake.log if "access_tokens" not in p])

            await scenario("onboarding, 2 sections (S), one custom template", [("push", push_payload(HEAD1))])
            await scenario("CI on a pull-request branch (16 deliveries)", ci_burst(PR_HEAD, "feature"))
            fake.push(HEAD1, files, ci=(CIResult("tests-0", SUCCESS, url="https://ci/1"),))
            await scenario(
                "CI success on the default branch (16 deliveries), one tick", ci_burst(HEAD1, "main")
            )
            fake.push(HEAD2, {**files, "NOTES.md": "x\n"}, ci=fake.spec.ci)
            await scenario("a push that changes no item", [("push", push_payload(HEAD2, HEAD1))])
            fake.push(HEAD3, {**files, "docs/runbooks/db.md": "# db\n"}, ci=fake.spec.ci)
            await scenario("a push that ticks one item", [("push", push_payload(HEAD3, HEAD2))])
        await client.aclose()
        engine.dispose()
    print(f"{'event':<62} {'reads':>5} {'writes':>6}")
    for name, c in rows:
        print(f"{name:<62} {c['read']:>5} {c['write']:>6}")


if __name__ == "__main__":
    asyncio.run(main())
