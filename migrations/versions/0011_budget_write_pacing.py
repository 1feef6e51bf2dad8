"""write pacing shared by replicas: a row per installation and the last hour of writes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "write_pacers",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "installation_id"),
    )
    op.create_table(
        "write_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_write_slots_pacer", "write_slots", ["platform", "installation_id", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_write_slots_pacer", table_name="write_slots")
    op.drop_table("write_slots")
    op.drop_table("write_pacers")
