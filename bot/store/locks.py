"""One sync per repository at a time, across tasks in this process and across replicas.

The worker already serialises deliveries by repository, but installation events, schedules and
operator commands can name a repository too; this lock is the last line against two syncs
creating the same issue. PostgreSQL: a session advisory lock on a dedicated connection, keyed by
the schema the bot's tables live in and the repository row id (advisory locks are per database:
two deployments, or parallel test runs, in separate schemas of one database must not wait for
each other's repository 1); SQLite (one process by design): an asyncio lock is enough.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine, text

# the first key: our prefix and the current schema, so other applications' advisory keys and other
# schemas' repositories stay apart; the second key is the repository's row id
_SPACE = "hashtext('readiness-bot:' || current_schema())"
_local: dict[tuple[int, int], asyncio.Lock] = {}


@asynccontextmanager
async def repository_lock(engine: Engine, repository_id: int) -> AsyncIterator[None]:
    lock = _local.setdefault((id(engine), repository_id), asyncio.Lock())
    async with lock:
        if engine.dialect.name != "postgresql":
            yield
            return
        conn = await asyncio.to_thread(engine.connect)
        try:
            await asyncio.to_thread(
                conn.execute, text(f"SELECT pg_advisory_lock({_SPACE}, :b)"), {"b": repository_id}
            )
            conn.commit()
            try:
                yield
            finally:
                await asyncio.to_thread(
                    conn.execute,
                    text(f"SELECT pg_advisory_unlock({_SPACE}, :b)"),
                    {"b": repository_id},
                )
                conn.commit()
        finally:
            await asyncio.to_thread(conn.close)
