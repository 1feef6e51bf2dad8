"""A dry run plans from the real state and prints the single writer's actions; it writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from memory_world import CONFIG, REPO, TEMPLATE, ref

from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.platforms.memory import MemoryClient
from bot.store.db import make_engine
from bot.store.migrate import upgrade_engine

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SHIPPED = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}


def scratch(tmp_path, name: str):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    upgrade_engine(engine)
    return engine


async def test_onboarding_dry_run_lists_every_planned_write_and_the_platform_gets_none(tmp_path) -> None:
    client = MemoryClient()
    platform = client.add_repo(REPO)
    platform.set_commit(
        "c1", {".readiness.yml": CONFIG + "issues:\n  labels: [readiness]\n", "Dockerfile": "x"}
    )
    router = Router(scratch(tmp_path, "dry.db"), {"github": client}, SHIPPED, clock=lambda: NOW, dry_run=True)

    result = await router.sync(ref(), installation_id=7)

    assert result.outcome == "synced"
    assert platform.writes == []
    assert platform.issues == {} and platform.checks == [] and platform.comments == {}
    planned = router.ctx.planned
    assert planned[0] == "ensure labels readiness"
    assert planned[1:4] == [
        "create issue 'Readiness · Service basics: Build' with labels readiness",
        "create issue 'Readiness · Service basics: Operations' with labels readiness",
        f"create issue 'Production readiness: {REPO}' with labels readiness",
    ]
    assert planned[4:] == [
        "link section:svc:build under epic",
        "link section:svc:ops under epic",
    ]


async def test_a_dry_run_on_a_fresh_scratch_database_adopts_and_plans_only_the_change(tmp_path) -> None:
    """What `readiness sync --dry-run` does: an empty scratch database, so every issue is found
    by its marker, and only what differs from the repository's issues is planned."""
    client = MemoryClient()
    platform = client.add_repo(REPO)
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await Router(scratch(tmp_path, "real.db"), {"github": client}, SHIPPED, clock=lambda: NOW).sync(
        ref(), installation_id=7
    )
    before = list(platform.writes)
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "x", "docs/runbooks/db.md": "# db"})
    router = Router(scratch(tmp_path, "dry.db"), {"github": client}, SHIPPED, clock=lambda: NOW, dry_run=True)

    await router.sync(ref(), installation_id=7)

    assert platform.writes == before  # nothing new was written
    ops = next(n for n, i in platform.issues.items() if "Operations" in i.title)
    epic = next(n for n, i in platform.issues.items() if i.title.startswith("Production readiness"))
    assert router.ctx.planned == [
        "ensure labels readiness",  # a record-less run creates (or adopts): labels first, as a real run would
        f"edit #{ops} 'Readiness · Service basics: Operations': body",
        f"edit #{epic} 'Production readiness: {REPO}': body",
    ]
