"""repositories remember their GitHub topics from the last webhook that carried them, so
`applies_when: {topics: [...]}` holds on scheduled resyncs too, without an API call (issue 11)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable: NULL means no payload has said yet (GitLab, or before the first GitHub event),
    # which rules nothing out; a JSON list once known (`[]`: the repository has no topics)
    with op.batch_alter_table("repositories") as batch:
        batch.add_column(sa.Column("topics", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("repositories") as batch:
        batch.drop_column("topics")
