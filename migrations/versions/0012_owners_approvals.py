"""governed exemptions (who approved a skip, who may, why each change happened) and owner
reminders (`owner_mentions`, for their backoff)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_states") as batch:
        batch.add_column(sa.Column("approved_by", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("approvers", sa.Text(), nullable=True))
    with op.batch_alter_table("item_events") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
    op.create_table(
        "owner_mentions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repository_id", sa.Integer(), sa.ForeignKey("repositories.id"), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("checklist", sa.String(length=128), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_owner_mentions_repo", "owner_mentions", ["repository_id", "owner"])


def downgrade() -> None:
    op.drop_index("ix_owner_mentions_repo", table_name="owner_mentions")
    op.drop_table("owner_mentions")
    with op.batch_alter_table("item_events") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("item_states") as batch:
        batch.drop_column("approvers")
        batch.drop_column("approved_by")
