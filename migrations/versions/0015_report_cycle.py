"""report cycle: eBay's seller standards profiles come for its last evaluation (CURRENT) and
"if evaluated today" (PROJECTED); each stands beside our figure of the same moment

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("performance_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cycle", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("performance_reports", schema=None) as batch_op:
        batch_op.drop_column("cycle")
