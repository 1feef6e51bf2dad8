"""command_comments rows are written before a reply is posted (replying = true) and finished after
it, so only a retry of an interrupted reply reads the issue's comments to adopt it (issue 12)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # rows already there are finished answers: false for all of them
    with op.batch_alter_table("command_comments") as batch:
        batch.add_column(sa.Column("replying", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # a claim still open is forgotten: the retry answers again, as before this revision
    op.execute("DELETE FROM command_comments WHERE replying")
    with op.batch_alter_table("command_comments") as batch:
        batch.drop_column("replying")
