"""governed exemptions: who approved a skip, who may, and why each change happened

Revision ID: 0011_owners_approvals
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_owners_approvals"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_states") as batch:
        batch.add_column(sa.Column("approved_by", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("approvers", sa.Text(), nullable=True))
    with op.batch_alter_table("item_events") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item_events") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("item_states") as batch:
        batch.drop_column("approvers")
        batch.drop_column("approved_by")
