"""notifiers: the outbox stores each notifier's own payload; channel_health becomes notifier_health;
the case log's channel becomes its medium

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column(
            "channel", new_column_name="notifier", existing_type=sa.String(length=20), existing_nullable=False
        )
        batch_op.add_column(sa.Column("payload", sa.Text(), nullable=True))
    # pending deliveries keep their message: each notifier's payload from the old per-medium columns
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT d.id, d.notifier, n.subject, n.text, n.html, n.slack FROM deliveries d "
            "JOIN notifications n ON n.id = d.notification_id"
        )
    ).all()
    for delivery_id, notifier, subject, text, html, slack in rows:
        payload = {"slack": slack, "email": json.dumps({"subject": subject, "text": text, "html": html})}.get(
            notifier, text
        )
        connection.execute(
            sa.text("UPDATE deliveries SET payload = :p WHERE id = :i"), {"p": payload, "i": delivery_id}
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("html")
        batch_op.drop_column("slack")
    op.create_table(
        "notifier_health",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("dead", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_notifier_health")),
    )
    # a dead notifier's old fingerprint cannot match the new scheme: it gets its new chance
    op.drop_table("channel_health")
    # "channel" means the fulfilment channel only: the case log has a medium
    with op.batch_alter_table("case_log", schema=None) as batch_op:
        batch_op.alter_column(
            "channel", new_column_name="medium", existing_type=sa.String(length=10), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_log", schema=None) as batch_op:
        batch_op.alter_column(
            "medium", new_column_name="channel", existing_type=sa.String(length=10), existing_nullable=False
        )
    op.create_table(
        "channel_health",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("dead", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_channel_health")),
    )
    op.drop_table("notifier_health")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("slack", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("payload")
        batch_op.alter_column(
            "notifier", new_column_name="channel", existing_type=sa.String(length=20), existing_nullable=False
        )
