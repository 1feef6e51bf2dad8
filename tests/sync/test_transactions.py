"""A sync's database transactions are budgeted: one read and one write when nothing changes
(issue 9 measured nine). The count is the store's own (`bot.store.db.transactions`)."""

from __future__ import annotations

from datetime import UTC, datetime

from memory_world import CONFIG, REPO, TEMPLATE, push, ref

from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.platforms.memory import MemoryClient
from bot.store.db import transactions

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


async def synced_once(engine) -> Router:
    """A repository synced at c1, and a push to c2 that changes no item waiting."""
    client = MemoryClient()
    platform = client.add_repo(REPO)
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    router = Router(engine, {"github": client}, shipped, clock=lambda: NOW)
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "FROM python"})
    await router(push("c1"))
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "FROM python", "README.md": "hi"})
    return router


async def test_a_sync_that_changes_nothing_opens_one_read_and_one_write_transaction(engine):
    router = await synced_once(engine)
    before = transactions(engine)
    result = await router.ctx.sync(ref(), installation_id=7, commit="c2")
    assert result.writes == 0
    assert transactions(engine) - before <= 2


async def test_a_push_that_changes_nothing_stays_within_three_transactions_end_to_end(engine):
    """Dispatch and the handler may add one read (the head the last sync left, to trust a push)."""
    router = await synced_once(engine)
    before = transactions(engine)
    [result] = await router(push("c2"))
    assert result.writes == 0
    assert transactions(engine) - before <= 3


async def test_a_sync_that_ticks_an_item_saves_its_state_for_the_next_process(engine):
    """The budget is not met by skipping writes: a fresh router (a restart) sees the tick saved."""
    client = MemoryClient()
    platform = client.add_repo(REPO)
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "FROM python"})
    await Router(engine, {"github": client}, shipped, clock=lambda: NOW)(push("c1"))
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "x", "docs/runbooks/db.md": "s"})
    [ticked] = await Router(engine, {"github": client}, shipped, clock=lambda: NOW)(push("c2"))
    restarted = Router(engine, {"github": client}, shipped, clock=lambda: NOW)
    again = await restarted.ctx.sync(ref(), installation_id=7, commit="c2")
    assert ticked.changed_items == 1
    assert again.writes == 0 and again.changed_items == 0
