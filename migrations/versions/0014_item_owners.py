"""item owners as the last sync resolved them (`item_owners`), so weekly summaries read no
CODEOWNERS file

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_owners",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repository_id", sa.Integer(), sa.ForeignKey("repositories.id"), nullable=False),
        sa.Column("checklist", sa.String(length=128), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("owners", sa.Text(), nullable=False),
        sa.UniqueConstraint("repository_id", "checklist", "item_id", name="uq_item_owners"),
    )


def downgrade() -> None:
    op.drop_table("item_owners")
