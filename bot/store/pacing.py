"""Write pacing state in the database, so every replica draws on one budget per installation.

A claim is one short transaction: lock the installation's `write_pacers` row (PostgreSQL:
`SELECT … FOR UPDATE`; SQLite takes its write lock at BEGIN IMMEDIATE and is one process anyway),
read the last hour of `write_slots`, and either record a slot at `now` or say how long to wait.
The lock is never held across the write itself, which goes out right after the claim commits.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, update
from sqlmodel import col, select

from bot.core.pacing import HOUR, PaceLimits, ready_at
from bot.store.db import session_scope
from bot.store.models import WritePacerRow, WriteSlot
from bot.store.sql import insert_ignore


def claim_write_slot(
    engine: Engine, *, platform: str, installation_id: int, now: float, limits: PaceLimits
) -> float:
    """Record a write at `now` and return 0.0, or return the seconds to wait (nothing recorded)."""
    with session_scope(engine) as s:
        s.execute(
            insert_ignore(s, WritePacerRow, ["platform", "installation_id"]).values(
                platform=platform, installation_id=installation_id, paused_until=0.0
            )
        )
        pacer = s.exec(
            select(WritePacerRow)
            .where(WritePacerRow.platform == platform, WritePacerRow.installation_id == installation_id)
            .with_for_update()
        ).one()
        mine = (col(WriteSlot.platform) == platform, col(WriteSlot.installation_id) == installation_id)
        s.execute(delete(WriteSlot).where(*mine, col(WriteSlot.sent_at) <= now - HOUR))
        sent = s.exec(select(WriteSlot.sent_at).where(*mine).order_by(col(WriteSlot.sent_at))).all()
        wait = ready_at(sent, now, pacer.paused_until, limits) - now
        if wait > 0:
            return wait
        s.add(WriteSlot(platform=platform, installation_id=installation_id, sent_at=now))
        return 0.0


def pause_writes(engine: Engine, *, platform: str, installation_id: int, until: float) -> None:
    """Hold every replica's writes for this installation until `until` (a `retry-after`)."""
    with session_scope(engine) as s:
        s.execute(
            insert_ignore(s, WritePacerRow, ["platform", "installation_id"]).values(
                platform=platform, installation_id=installation_id, paused_until=until
            )
        )
        s.execute(
            update(WritePacerRow)
            .where(
                col(WritePacerRow.platform) == platform,
                col(WritePacerRow.installation_id) == installation_id,
                col(WritePacerRow.paused_until) < until,
            )
            .values(paused_until=until)
        )
