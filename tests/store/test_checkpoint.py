"""SQLite WAL checkpoints (issue 12 finding 13): they succeed under ordinary traffic, so a
"WAL checkpoint failed" warning always means something an operator should look at."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine
from structlog.testing import capture_logs

from bot.store.db import checkpoint_wal
from bot.webhooks import ingest
from bot.webhooks.ingest import Ingestor, NewDelivery


@pytest.fixture
def sqlite_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite-only: WAL checkpoints")
    return engine


def test_a_checkpoint_moves_the_wal_into_the_database_while_a_writer_holds_its_lock(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS scratch (x)")
        conn.exec_driver_sql("INSERT INTO scratch VALUES (1)")
    with sqlite_engine.begin() as writer:  # a write transaction is open meanwhile
        writer.exec_driver_sql("INSERT INTO scratch VALUES (2)")
        busy, frames, done = checkpoint_wal(sqlite_engine)  # neither waits nor fails
        assert busy == 0 and frames > 0 and done == frames  # the committed frames were copied


async def test_ordinary_ingest_traffic_checkpoints_without_a_warning(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "CHECKPOINT_SECONDS", 0.0)  # checkpoint after every commit
    ingestor = Ingestor(sqlite_engine)
    await ingestor.start()
    with capture_logs() as logs:
        for batch in range(20):
            await asyncio.gather(
                *(
                    ingestor.submit(
                        NewDelivery("github", f"d{batch}-{i}", "push", None, 1, f"github:o/r{i}", b"{}")
                    )
                    for i in range(5)
                )
            )
        await ingestor.stop()
    assert [e for e in logs if e["log_level"] == "warning"] == []
    _, frames, done = checkpoint_wal(sqlite_engine)
    assert done == frames  # nothing left behind in the WAL
