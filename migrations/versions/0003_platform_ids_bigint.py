"""platform ids are 64-bit: GitHub issue, comment and installation ids outgrow a 32-bit integer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "installations": [("installation_id", False)],
    "repositories": [("platform_id", True), ("installation_id", True)],
    "deliveries": [("installation_id", True)],
    "owned_issues": [("platform_issue_id", True)],
    "summary_posts": [("comment_id", True)],
}


def _alter(to: sa.types.TypeEngine, frm: sa.types.TypeEngine) -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for name, nullable in columns:
                batch.alter_column(name, type_=to, existing_type=frm, existing_nullable=nullable)


def upgrade() -> None:
    _alter(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _alter(sa.Integer(), sa.BigInteger())
