"""One sync per repository at a time, across tasks in this process and across replicas.

The worker already serialises deliveries by repository, but installation events, schedules and
operator commands can name a repository too; this lock is the last line against two syncs
creating the same issue. PostgreSQL: a session advisory lock on a dedicated connection; SQLite
(one process by design): an asyncio lock is enough.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine, text

_LOCK_SPACE = 0x52454144  # "READ": keeps our advisory keys apart from other applications'
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
                conn.execute, text("SELECT pg_advisory_lock(:a, :b)"), {"a": _LOCK_SPACE, "b": repository_id}
            )
            conn.commit()
            try:
                yield
            finally:
                await asyncio.to_thread(
                    conn.execute,
                    text("SELECT pg_advisory_unlock(:a, :b)"),
                    {"a": _LOCK_SPACE, "b": repository_id},
                )
                conn.commit()
        finally:
            await asyncio.to_thread(conn.close)
