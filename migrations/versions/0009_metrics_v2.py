"""metrics v2: marketplaces, sales channels, buyer-requested cancels, feedback status, the
report's day, per-marketplace snapshots and alerts, account sources

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# marketplace ids stored by version 1 become domains (monitor.marketplaces keeps the full table)
IDS = {
    "ATVPDKIKX0DER": "amazon.com",
    "A2EUQ1WTGCTBG2": "amazon.ca",
    "A1AM78C64UM0Y8": "amazon.com.mx",
    "A2Q3Y263D00KWC": "amazon.com.br",
    "A1F83G8C2ARO7P": "amazon.co.uk",
    "A1PA6795UKMFR9": "amazon.de",
    "A13V1IB3VIYZZH": "amazon.fr",
    "APJ6JRA9NG5V4": "amazon.it",
    "A1RKKUPIHCS9HS": "amazon.es",
    "A1805IZSGTT6HS": "amazon.nl",
    "A2NODRKZP88ZB9": "amazon.se",
    "A1C3SOZRARQ6R3": "amazon.pl",
    "AMEN7PMS3EDWL": "amazon.com.be",
    "A1VC38T7YXB528": "amazon.co.jp",
    "A21TJRUUN4KGV": "amazon.in",
    "A39IBJ37TRP1C6": "amazon.com.au",
}
ORDER_SOURCES = {  # source: (the field whose newest value it keeps, MFN orders only)
    "orders": ("purchase_date", False),
    "ship_by": ("latest_ship_date", True),
    "ship_confirmations": ("shipped_at", True),
    "delivery_promises": ("latest_delivery_date", True),
    "delivery_scans": ("delivered_at", True),
}


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sales_channel", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("buyer_requested_cancel", sa.Boolean(), nullable=True))
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="active"))
    with op.batch_alter_table("performance_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(), nullable=True))
    # version 1's daily values and alert keys are of another contract: recomputed, re-keyed
    op.execute("DELETE FROM metric_snapshots")
    with op.batch_alter_table("metric_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("marketplace", sa.String(length=50), nullable=False, server_default="unknown"))
        batch_op.drop_constraint("uq_metric_snapshots_account_id_metric_channel_day", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_metric_snapshots_account_id_marketplace_metric_channel_day"),
            ["account_id", "marketplace", "metric", "channel", "day"],
        )
    with op.batch_alter_table("alert_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("marketplace", sa.String(length=50), nullable=False, server_default=""))
        batch_op.drop_constraint("uq_alert_states_account_id_metric_channel", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_alert_states_account_id_marketplace_metric_channel"),
            ["account_id", "marketplace", "metric", "channel"],
        )
    op.create_table(
        "account_sources",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("marketplace", sa.String(length=50), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("newest_data_at", sa.DateTime(), nullable=True),
        sa.Column("last_import_id", sa.Integer(), nullable=True),
        sa.Column("last_import_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_sources_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["last_import_id"],
            ["imports.id"],
            name=op.f("fk_account_sources_last_import_id_imports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("account_id", "marketplace", "source", name=op.f("pk_account_sources")),
    )
    _backfill(op.get_bind())


def _backfill(connection: sa.Connection) -> None:
    for marketplace_id, domain in IDS.items():
        connection.execute(
            sa.text("UPDATE orders SET marketplace = :d WHERE marketplace = :i"), {"d": domain, "i": marketplace_id}
        )
    # version 1 read All Orders' sales-channel as the marketplace: Non-Amazon orders are multi-channel fulfilment
    connection.execute(
        sa.text(
            "UPDATE orders SET sales_channel = 'Non-Amazon', marketplace = NULL WHERE lower(marketplace) = 'non-amazon'"
        )
    )
    # one negative-feedback defect per order, keyed as the feedback importer keys it now
    rows = connection.execute(
        sa.text("SELECT id, account_id, order_id FROM defects WHERE defect_type = 'negative_feedback' ORDER BY id DESC")
    ).all()
    seen: set[tuple[int, str]] = set()
    for defect_id, account_id, order_id in rows:
        if (account_id, order_id) in seen:
            connection.execute(sa.text("DELETE FROM defects WHERE id = :i"), {"i": defect_id})
            continue
        seen.add((account_id, order_id))
        connection.execute(
            sa.text("UPDATE defects SET defect_key = :k WHERE id = :i"), {"k": f"feedback:{order_id}", "i": defect_id}
        )
    for report_id, date_to in connection.execute(
        sa.text(
            "SELECT report_id, max(date_to) FROM performance_metrics WHERE name = 'lateShipmentRate' "
            "AND date_to IS NOT NULL GROUP BY report_id"
        )
    ).all():
        day = date_to if isinstance(date_to, datetime) else datetime.fromisoformat(str(date_to))
        connection.execute(
            sa.text("UPDATE performance_reports SET report_date = :d WHERE id = :i"), {"d": day.date(), "i": report_id}
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    for source, (column, mfn_only) in ORDER_SOURCES.items():
        # multi-channel orders (only version 1's Non-Amazon ones exist now) count nowhere
        where = f"{column} IS NOT NULL AND sales_channel IS NULL" + (
            " AND fulfillment_channel = 'MFN'" if mfn_only else ""
        )
        _insert_sources(
            connection,
            source,
            f"SELECT account_id, coalesce(marketplace, ''), max({column}), "
            f"max(last_import_id) FROM orders WHERE {where} GROUP BY account_id, coalesce(marketplace, '')",
            now,
        )
    _insert_sources(
        connection,
        "tracking_validity",
        "SELECT account_id, coalesce(marketplace, ''), max(shipped_at), "
        "max(last_import_id) FROM orders WHERE tracking_valid IS NOT NULL AND fulfillment_channel = 'MFN' "
        "AND sales_channel IS NULL "
        "GROUP BY account_id, coalesce(marketplace, '')",
        now,
    )
    _insert_sources(
        connection,
        "tracking_numbers",
        "SELECT account_id, coalesce(marketplace, ''), max(shipped_at), "
        "max(last_import_id) FROM orders WHERE tracking_id IS NOT NULL AND fulfillment_channel = 'MFN' "
        "AND sales_channel IS NULL "
        "GROUP BY account_id, coalesce(marketplace, '')",
        now,
    )
    _insert_sources(
        connection,
        "feedback",
        "SELECT account_id, '', max(received_at), max(last_import_id) FROM (SELECT account_id, received_at, "
        "last_import_id FROM feedback UNION ALL SELECT account_id, received_at, last_import_id FROM defects "
        "WHERE defect_type = 'negative_feedback') AS f GROUP BY account_id",
        now,
    )
    _insert_sources(
        connection,
        "claims",
        "SELECT account_id, '', max(received_at), max(last_import_id) FROM defects "
        "WHERE defect_type <> 'negative_feedback' GROUP BY account_id",
        now,
    )
    _insert_sources(
        connection,
        "amazon_report",
        "SELECT account_id, coalesce(marketplace_id, ''), max(imported_at), "
        "max(import_id) FROM performance_reports GROUP BY account_id, coalesce(marketplace_id, '')",
        now,
    )
    for marketplace_id, domain in IDS.items():
        connection.execute(
            sa.text("UPDATE account_sources SET marketplace = :d WHERE marketplace = :i AND source = 'amazon_report'"),
            {"d": domain, "i": marketplace_id},
        )


def _insert_sources(connection: sa.Connection, source: str, query: str, now: datetime) -> None:
    for account_id, marketplace, newest, import_id in connection.execute(sa.text(query)).all():
        connection.execute(
            sa.text(
                "INSERT INTO account_sources (account_id, marketplace, source, newest_data_at, last_import_id, "
                "last_import_at) VALUES (:a, :m, :s, :n, :i, :t)"
            ),
            {"a": account_id, "m": marketplace or "", "s": source, "n": newest, "i": import_id, "t": now},
        )


def downgrade() -> None:
    op.drop_table("account_sources")
    op.execute("DELETE FROM alert_states WHERE marketplace <> ''")
    with op.batch_alter_table("alert_states", schema=None) as batch_op:
        batch_op.drop_constraint("uq_alert_states_account_id_marketplace_metric_channel", type_="unique")
        batch_op.create_unique_constraint(
            "uq_alert_states_account_id_metric_channel", ["account_id", "metric", "channel"]
        )
        batch_op.drop_column("marketplace")
    op.execute("DELETE FROM metric_snapshots")
    with op.batch_alter_table("metric_snapshots", schema=None) as batch_op:
        batch_op.drop_constraint("uq_metric_snapshots_account_id_marketplace_metric_channel_day", type_="unique")
        batch_op.create_unique_constraint(
            "uq_metric_snapshots_account_id_metric_channel_day", ["account_id", "metric", "channel", "day"]
        )
        batch_op.drop_column("marketplace")
    with op.batch_alter_table("performance_reports", schema=None) as batch_op:
        batch_op.drop_column("created_at")
        batch_op.drop_column("report_date")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("status")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("buyer_requested_cancel")
        batch_op.drop_column("sales_channel")
