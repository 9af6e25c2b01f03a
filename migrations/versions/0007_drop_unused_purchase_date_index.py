"""drop the orders.purchase_date index

No query filters orders by purchase date alone: metrics load an account's
orders through the (account_id, order_id) key. The index only cost every
import a second B-tree to write (about 12 % of a million-row import).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_purchase_date"))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_purchase_date"), ["purchase_date"], unique=False)
