"""Print the GitHub API calls a sync costs: onboarding the largest shipped template, a push that
changes nothing, and a push that ticks one item.

Runs the real sync (Router → Syncer → GitHubClient) against the stateful respx fake the
tests use, on a temporary SQLite database, with a fake clock so write pacing costs no real time.
The repository is this project's own checkout (tracked files and contents).
Usage: `.venv/bin/python bench/sync_calls.py [TEMPLATE_ID]` (default: the largest shipped template).
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import respx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from platforms.conftest import FakeClock  # noqa: E402
from platforms.contract import SPEC, SeedIssue  # noqa: E402
from platforms.fake_github import APP_ID, INSTALLATION_ID, FakeGitHub, app_key_pair  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.core.events import Platform, RepoRef  # noqa: E402
from bot.core.rules import compile_checklist, evaluate  # noqa: E402
from bot.core.snapshot import RepoSnapshot  # noqa: E402
from bot.jobs.router import Router  # noqa: E402
from bot.platforms.github.client import GitHubClient  # noqa: E402
from bot.resources import load_shipped  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.migrate import upgrade_engine  # noqa: E402

API = "https://github.test/api/v3"
CANDIDATES = (
    "SECURITY.md",
    "CODEOWNERS",
    ".github/CODEOWNERS",
    "locustfile.py",
    "docs/runbooks/db.md",
    "CHANGELOG.md",
)


def own_files() -> dict[str, bytes]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    out = {}
    for name in names.decode().split("\0"):
        path = ROOT / name
        if name and path.is_file():
            out[name] = path.read_bytes()[:262_144]
    return out


def one_item_file(template_id: str, files: dict[str, bytes]) -> str:
    """A file whose addition flips exactly one item of the template."""
    compiled = compile_checklist(load_shipped()[template_id])

    def ticked(paths: dict[str, bytes]) -> set[str]:
        snap = RepoSnapshot(paths=tuple(paths), read=paths.get)
        return {k for k, v in evaluate(compiled, snap).items() if v.passed}

    base = ticked(files)
    for name in CANDIDATES:
        if name not in files and len(ticked({**files, name: b"# x\n"}) - base) == 1:
            return name
    raise SystemExit("no single-item candidate file found; extend CANDIDATES")


def counts(log: list[tuple[str, str, float]]) -> str:
    c = Counter(
        "write"
        if m in ("POST", "PATCH", "DELETE") and "access_tokens" not in p and p != "/graphql"
        else "read"
        for m, p, _ in log
    )
    return f"{c['read'] + c['write']:4d} calls ({c['read']} reads, {c['write']} writes)"


async def main(template_id: str) -> None:
    pem, public = app_key_pair()
    settings = load_settings(github_app_id=APP_ID, github_private_key=pem, github_api_url=API)
    files = {k: v for k, v in own_files().items() if k != ".readiness.yml"}
    files[".readiness.yml"] = f"checklists: [{template_id}]\n".encode()
    extra = one_item_file(template_id, files)
    clock = FakeClock()
    spec = dataclasses.replace(
        SPEC, files=files, ci=(), labels=(), comments=(), issues=(SeedIssue(1, "Bug", "x", "hubot"),)
    )
    fake = FakeGitHub(spec, API, public_key=public, now=clock)
    fake.push("a" * 40, files)
    template = load_shipped()[template_id]
    items = sum(len(s.items) for s in template.sections)
    with (
        tempfile.TemporaryDirectory() as tmp,
        respx.mock(base_url=fake.host, assert_all_called=False) as router,
    ):
        router.route().mock(side_effect=fake)
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade_engine(engine)
        client = GitHubClient(settings, clock=clock, sleep=clock.sleep, http_cache=False)
        handler = Router(engine, {"github": client}, load_shipped())
        repo = RepoRef(
            Platform("github"), SPEC.full_name, installation_id=INSTALLATION_ID, default_branch="main"
        )
        sections = len(template.sections)
        print(f"template {template_id}: {sections} sections, {items} items; repo of {len(files)} files")

        async def step(label: str, commit: str) -> None:
            start = len(fake.log)
            t0 = clock()
            await handler.sync(repo, installation_id=INSTALLATION_ID, commit=commit)
            print(f"  {label:<38} {counts(fake.log[start:])}, {clock() - t0:5.0f} s of write pacing")

        await step("onboarding (first sync)", "a" * 40)
        fake.push("b" * 40, {**files, "notes.txt": b"nothing a rule looks at\n"})
        await step("push that changes nothing", "b" * 40)
        fake.push("c" * 40, {**files, "notes.txt": b"x\n", extra: b"# x\n"})
        await step(f"push that ticks one item ({extra})", "c" * 40)
        await client.aclose()
        engine.dispose()


if __name__ == "__main__":
    shipped = load_shipped()
    default = max(shipped, key=lambda t: sum(len(s.items) for s in shipped[t].sections))
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else default))
