"""Print how many GitHub API calls the bot's operations cost, measured through the real adapter.

Runs `GitHubClient` against the stateful respx fake used by the tests (no network), with a fake
clock so write pacing costs no real time. Usage: `.venv/bin/python bench/api_calls.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections import Counter
from pathlib import Path

import respx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.platforms.github.client import GitHubClient
from tests.platforms.conftest import FakeClock
from tests.platforms.contract import MARKER, SPEC
from tests.platforms.fake_github import APP_ID, INSTALLATION_ID, FakeGitHub, app_key_pair

API = "https://github.test/api/v3"


def big_repo(n: int, top_dirs: int = 20) -> dict[str, bytes]:
    return {f"dir{i % top_dirs}/sub{i % 7}/file{i}.txt": b"x" for i in range(n)}


async def measure() -> list[tuple[str, int, str]]:
    pem, public = app_key_pair()
    settings = load_settings(github_app_id=APP_ID, github_private_key=pem, github_api_url=API)
    clock = FakeClock()
    fake = FakeGitHub(dataclasses.replace(SPEC, files=big_repo(10_000)), API, public_key=public, now=clock)
    rows: list[tuple[str, int, str]] = []

    def mark() -> int:
        return len(fake.log)

    def since(start: int) -> tuple[int, str]:
        kinds = Counter(
            "token" if p.endswith("/access_tokens") else "read" if m == "GET" or p == "/graphql" else "write"
            for m, p, _ in fake.log[start:]
        )
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))
        return len(fake.log) - start, detail

    with respx.mock(base_url=fake.host, assert_all_called=False) as mock:
        mock.route().mock(side_effect=fake)
        client = GitHubClient(settings, clock=clock, sleep=clock.sleep, http_cache=False)
        s = mark()
        repo = await client.for_repo(SPEC.full_name, installation_id=INSTALLATION_ID)
        await repo.get_issue(1)
        rows.append(("first call of the process: GET /app (bot login) + token + GET issue", *since(s)))

        s = mark()
        tree = await repo.tree(SPEC.head)
        rows.append((f"tree of {len(tree.paths):,} files (not truncated)", *since(s)))

        fake.truncate_over = 5_000
        s = mark()
        tree = await repo.tree(SPEC.head)
        assert tree.complete and len(tree.paths) == 10_000
        rows.append(("same tree when GitHub truncates it (20 top-level dirs)", *since(s)))
        fake.truncate_over = None

        s = mark()
        await repo.default_branch()
        rows.append(("default branch + head commit", *since(s)))
        s = mark()
        await repo.ci_results(SPEC.head)
        rows.append(("CI results of a commit (check runs + statuses, 1 page each)", *since(s)))
        s = mark()
        await repo.file(".readiness.yml", SPEC.head)
        rows.append(("one file's content", *since(s)))
        s = mark()
        await repo.files(sorted(fake.spec.files)[:120], SPEC.head)
        rows.append((f"contents of {min(120, len(fake.spec.files))} files (GraphQL, 50 a query)", *since(s)))

        s = mark()
        await repo.ensure_labels(("readiness", "readiness:service"))
        rows.append(("ensure 2 labels (1 exists)", *since(s)))
        s = mark()
        start = clock.now
        epic = await repo.create_issue(title="Production readiness", body=MARKER)
        for n in range(17):
            section = await repo.create_issue(title=f"Section {n}", body=f"{MARKER} s{n}")
            await repo.link_child(epic, section)
        rows.append((f"epic with 17 sections ({clock.now - start:.0f} s of pacing)", *since(s)))

        s = mark()
        found = await repo.find_issues(MARKER)
        children = await repo.list_children(epic)
        rows.append((f"adopt: find {len(found)} marked issues + list {len(children)} children", *since(s)))

        s = mark()
        await repo.tree(SPEC.head)
        await repo.ci_results(SPEC.head)
        await repo.file(".readiness.yml", SPEC.head)
        await repo.find_issues(MARKER)
        await repo.list_children(epic)
        rows.append(("steady-state sync with nothing to change (reads only)", *since(s)))
        await client.aclose()
    return rows


def main() -> None:
    rows = asyncio.run(measure())
    width = max(len(r[0]) for r in rows)
    for label, calls, detail in rows:
        print(f"{label:<{width}}  {calls:>4} calls  ({detail})")


if __name__ == "__main__":
    main()
