"""item states: a skip may end (`until`), from a comment or the config file

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_states") as batch:
        batch.add_column(sa.Column("until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item_states") as batch:
        batch.drop_column("until")
