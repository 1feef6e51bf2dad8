"""Print the database transactions a sync opens: a push that changes nothing, through the whole
handler path and through `Context.sync` alone (issue 9 measured nine; the budget is two: one
read, one write). Counted by the store itself (`bot.store.db.transactions`), on a temporary
SQLite database with the in-memory platform. Usage: `.venv/bin/python bench/sync_transactions.py`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "sync"))

from memory_world import CONFIG, REPO, TEMPLATE, push, ref  # noqa: E402

from bot.core.templates import parse_template  # noqa: E402
from bot.jobs.router import Router  # noqa: E402
from bot.platforms.memory import MemoryClient  # noqa: E402
from bot.store.db import make_engine, transactions  # noqa: E402
from bot.store.migrate import upgrade_engine  # noqa: E402


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade_engine(engine)
        client = MemoryClient()
        platform = client.add_repo(REPO)
        shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
        router = Router(
            engine, {"github": client}, shipped, clock=lambda: datetime(2026, 11, 22, 9, tzinfo=UTC)
        )
        platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "FROM python"})
        onboarding = transactions(engine)
        await router(push("c1"))
        onboarding = transactions(engine) - onboarding
        platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "FROM python", "README.md": "a"})
        before = transactions(engine)
        await router(push("c2"))
        handler_path = transactions(engine) - before
        platform.set_commit("c3", {".readiness.yml": CONFIG, "Dockerfile": "FROM python", "README.md": "b"})
        before = transactions(engine)
        await router.ctx.sync(ref(), installation_id=7, commit="c3")
        sync_alone = transactions(engine) - before
        engine.dispose()
    print(f"onboarding (3 issues created): {onboarding} transactions")
    print(f"push that changes nothing, handler path: {handler_path} transactions")
    print(f"push that changes nothing, Context.sync alone: {sync_alone} transactions")


if __name__ == "__main__":
    asyncio.run(main())
