"""deliveries keep the event the receiver normalised (versioned JSON), so the worker does not
normalise the body again (issue 9)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable, no default: rows stored before it (and internal events) are normalised from
    # their body by the worker, as before; no table rewrite on PostgreSQL
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("normalized", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("normalized")
