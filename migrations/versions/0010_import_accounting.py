"""imports account for every row (skipped, duplicates) and record the snapshot refresh; the
heartbeat keeps the daemon's failing jobs

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("duplicates", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("refreshed_at", sa.DateTime(), nullable=True))
    # the imports of before were refreshed right after them (a lost refresh cannot be told now)
    op.execute("UPDATE imports SET refreshed_at = finished_at")
    with op.batch_alter_table("heartbeat", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failing", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("heartbeat", schema=None) as batch_op:
        batch_op.drop_column("failing")
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_column("refreshed_at")
        batch_op.drop_column("duplicates")
        batch_op.drop_column("skipped")
