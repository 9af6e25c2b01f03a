"""orders keyed by (account_id, order_id): the surrogate id goes; PostgreSQL compares order
ids byte by byte

No query and no other table used orders.id: every reader and the import's
merge find an order by its account and order id, which were already unique.
The id's own B-tree was a second index every stored order had to enter: on
PostgreSQL about 15 % of the server's time to store a million orders
(2.18 to 2.35 s against 2.68 to 3.21 s for the same binary COPY).

On PostgreSQL the order id takes the "C" collation: the key's B-tree compares
ids by their bytes, as SQLite does, where the database's locale had each
comparison go through the C library's strcoll (a million orders: 1.89 to
2.13 s against 2.12 to 2.38 s). Equality is unchanged (a deterministic
collation's equal strings are equal bytes); ordering by order id is by
code point, as it was on this machine's C.UTF-8 databases. The
upgrade builds the key's index anew on PostgreSQL and rebuilds the table on
SQLite, once: for a million stored orders 0.40 s on PostgreSQL and 4.40 s on
SQLite (their import took 3.67 s and 6.34 s).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("pk_orders", "orders", type_="primary")
        op.drop_column("orders", "id")
        op.drop_constraint("uq_orders_account_id_order_id", "orders", type_="unique")
        op.alter_column("orders", "order_id", type_=sa.String(100, collation="C"))
        op.create_primary_key("pk_orders", "orders", ["account_id", "order_id"])
        return
    with op.batch_alter_table("orders", recreate="always") as batch_op:
        batch_op.drop_constraint("uq_orders_account_id_order_id", type_="unique")
        batch_op.drop_column("id")
        batch_op.create_primary_key("pk_orders", ["account_id", "order_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders ADD CONSTRAINT uq_orders_account_id_order_id UNIQUE (account_id, order_id)")
        op.drop_constraint("pk_orders", "orders", type_="primary")
        op.alter_column("orders", "order_id", type_=sa.String(100, collation="default"))
        op.execute("ALTER TABLE orders ADD COLUMN id SERIAL")  # as migration 0001 made it
        op.create_primary_key("pk_orders", "orders", ["id"])
        return
    with op.batch_alter_table("orders", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_orders", type_="primary")
        batch_op.add_column(sa.Column("id", sa.Integer(), nullable=False), insert_before="account_id")
        batch_op.create_primary_key("pk_orders", ["id"])
        batch_op.create_unique_constraint("uq_orders_account_id_order_id", ["account_id", "order_id"])
