"""recovery: a ledger of account changes (rename, merge, delete), every check recorded (status),
each import's header kept so that its quarantined rows can be read again; alert keys for data
gaps and notices

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("account_key", sa.String(length=100), nullable=False),
        sa.Column("other_key", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_events")),
    )
    op.create_table(
        "check_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("firing", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_log")),
    )
    op.create_index(op.f("ix_check_log_checked_at"), "check_log", ["checked_at"])
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("header", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("delimiter", sa.String(length=2), nullable=True))
    # alert keys of data gaps (a source) and notices (a metric) hold more than a channel
    with op.batch_alter_table("alert_states", schema=None) as batch_op:
        batch_op.alter_column("channel", existing_type=sa.String(length=3), type_=sa.String(length=30))


def downgrade() -> None:
    with op.batch_alter_table("alert_states", schema=None) as batch_op:
        batch_op.alter_column("channel", existing_type=sa.String(length=30), type_=sa.String(length=3))
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_column("delimiter")
        batch_op.drop_column("header")
    op.drop_index(op.f("ix_check_log_checked_at"), table_name="check_log")
    op.drop_table("check_log")
    op.drop_table("account_events")
