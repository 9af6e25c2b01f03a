"""incremental: each account's data version (bumped by every import that touches it) and the
version its last evaluation and its pages saw, so that a cycle works in proportion to change

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_version", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("evaluated_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("evaluated_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("paged_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("paged_on", sa.Date(), nullable=True))
        # the settings the evaluation and the pages were made with (a changed limit: everything again)
        batch_op.add_column(sa.Column("evaluated_settings", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("paged_settings", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("paged_settings")
        batch_op.drop_column("evaluated_settings")
        batch_op.drop_column("paged_on")
        batch_op.drop_column("paged_version")
        batch_op.drop_column("evaluated_on")
        batch_op.drop_column("evaluated_version")
        batch_op.drop_column("data_version")
