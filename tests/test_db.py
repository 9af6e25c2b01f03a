from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import inspect, text

from monitor import db
from monitor.errors import DatabaseNotReady


@pytest.fixture
def engine(database_url):
    """An engine on a fresh, empty database (SQLite and PostgreSQL)."""
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'nested' / 'monitor.db'}")
    yield engine
    engine.dispose()


def test_migrate_creates_every_table_and_is_idempotent(engine):
    with pytest.raises(DatabaseNotReady, match="run `account-health init` first"):
        db.require_current(engine)
    before, after = db.migrate(engine)
    assert before is None and after == db.head_revision()
    assert db.migrate(engine) == (after, after)
    db.require_current(engine)
    tables = set(inspect(engine).get_table_names())
    assert {
        "accounts",
        "orders",
        "defects",
        "imports",
        "quarantine",
        "feedback",
        "performance_reports",
        "performance_metrics",
        "alembic_version",
    } <= tables


def test_constraints_follow_the_naming_convention(engine):
    db.migrate(engine)
    key = inspect(engine).get_pk_constraint("orders")
    assert key["constrained_columns"] == ["account_id", "order_id"]
    if engine.dialect.name == "postgresql":  # SQLite keeps no name for a primary key
        assert key["name"] == "pk_orders"
    foreign = {f["name"] for f in inspect(engine).get_foreign_keys("orders")}
    assert "fk_orders_account_id_accounts" in foreign


def test_the_migrations_build_exactly_the_models_schema(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from monitor.models import Base

    db.migrate(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_sqlite_gets_wal_busy_timeout_and_foreign_keys(sqlite_engine, tmp_path):
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == db.SQLITE_BUSY_TIMEOUT_MS
    assert (tmp_path / "nested" / "monitor.db").exists()


def test_an_import_skips_foreign_key_checks_only_in_its_own_transaction(sqlite_engine, tmp_path):
    from sqlalchemy.exc import IntegrityError

    from monitor.config import load_settings
    from monitor.ingest import import_file
    from monitor.models import Order

    db.migrate(sqlite_engine)
    sessions = db.session_factory(sqlite_engine)
    seen = []
    with sessions() as session:
        db.without_foreign_key_checks(session)
        seen.append(session.execute(text("PRAGMA foreign_keys")).scalar())
    path = tmp_path / "orders.csv"
    path.write_text("order_id,purchase_date,fulfillment_channel,order_status\nA-1,2026-10-01T00:00:00Z,MFN,Shipped\n")
    settings = load_settings(environ={"DATABASE_URL": str(sqlite_engine.url)})
    assert import_file(sessions, path, settings).inserted == 1
    with sessions() as session:  # the same pooled connection, handed out again: checks are back on
        seen.append(session.execute(text("PRAGMA foreign_keys")).scalar())
        session.add(
            Order(
                account_id=999,
                order_id="X",
                purchase_date=datetime(2026, 10, 1),
                fulfillment_channel="MFN",
                order_status="Shipped",
            )
        )
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            session.flush()
    assert seen == [0, 1]


def test_a_version_1_database_upgrades_to_the_metrics_v2_schema_with_its_data(engine):
    """Migration 0009: marketplace ids become domains, version 1's Non-Amazon marketplace becomes a
    multi-channel order, negative feedback gets one key per order, the report's day and the
    account's sources are filled in."""
    from alembic import command

    command.upgrade(db.alembic_config(engine), "0008")
    with engine.begin() as c:
        c.execute(text("INSERT INTO accounts (id, key, created_at) VALUES (1, 'acme', '2026-01-01 00:00:00')"))
        c.execute(
            text(
                "INSERT INTO imports (id, file_name, sha256, rows_read, inserted, updated, quarantined, status, "
                "started_at) VALUES (1, 'f', 'x', 0, 0, 0, 0, 'ok', '2026-01-01 00:00:00')"
            )
        )
        for oid, market, shipped in (
            ("A", "ATVPDKIKX0DER", "2026-10-02 10:00:00"),
            ("B", "non-amazon", None),
            ("C", None, None),
        ):
            c.execute(
                text(
                    "INSERT INTO orders (account_id, order_id, marketplace, purchase_date, fulfillment_channel, "
                    "order_status, shipped_at, last_import_id) VALUES (1, :o, :m, '2026-10-01 10:00:00', "
                    "'MFN', 'Shipped', :s, 1)"
                ),
                {"o": oid, "m": market, "s": shipped},
            )
        c.execute(
            text(
                "INSERT INTO defects (account_id, defect_key, order_id, defect_type, received_at, status, "
                "rating) VALUES (1, 'A|negative_feedback|2026-10-05T00:00:00+00:00', 'A', 'negative_feedback', "
                "'2026-10-05 00:00:00', 'active', 1)"
            )
        )
    db.migrate(engine)
    with engine.connect() as c:
        orders = {
            r[0]: (r[1], r[2]) for r in c.execute(text("SELECT order_id, marketplace, sales_channel FROM orders"))
        }
        keys = list(c.execute(text("SELECT defect_key FROM defects")).scalars())
        sources = {(r[0], r[1]) for r in c.execute(text("SELECT marketplace, source FROM account_sources"))}
    assert orders == {"A": ("amazon.com", None), "B": (None, "Non-Amazon"), "C": (None, None)}
    assert keys == ["feedback:A"]
    assert {("amazon.com", "orders"), ("amazon.com", "ship_confirmations"), ("", "orders"), ("", "feedback")} <= sources
    assert ("", "ship_confirmations") not in sources  # B (multi-channel) and C carry none


def test_orders_keep_their_rows_when_their_key_becomes_account_and_order_id(engine):
    """Migration 0016: the surrogate id goes, the (account_id, order_id) key is the primary key,
    every order stays; and back (0015's schema, each order an id of its own)."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    def orders() -> list[tuple]:
        with engine.connect() as c:
            return c.execute(text("SELECT account_id, order_id, sku FROM orders ORDER BY account_id, order_id")).all()

    command.upgrade(db.alembic_config(engine), "0015")
    with engine.begin() as c:
        c.execute(
            text("INSERT INTO accounts (id, key, created_at) VALUES (1, 'a', '2026-01-01'), (2, 'b', '2026-01-01')")
        )
        for account, order in ((1, "X-1"), (1, "X-2"), (2, "X-1")):
            c.execute(
                text(
                    "INSERT INTO orders (account_id, order_id, purchase_date, fulfillment_channel, order_status, sku) "
                    "VALUES (:a, :o, '2026-10-01 00:00:00', 'MFN', 'Shipped', :s)"
                ),
                {"a": account, "o": order, "s": f"{account}{order}"},
            )
    command.upgrade(db.alembic_config(engine), "0016")
    assert orders() == [(1, "X-1", "1X-1"), (1, "X-2", "1X-2"), (2, "X-1", "2X-1")]
    columns = {c["name"]: c for c in inspect(engine).get_columns("orders")}
    assert "id" not in columns
    if engine.dialect.name == "postgresql":  # ids compared by their bytes, as SQLite compares them
        assert columns["order_id"]["type"].collation == "C"
    with pytest.raises(IntegrityError), engine.begin() as c:  # the key still holds
        c.execute(
            text(
                "INSERT INTO orders (account_id, order_id, purchase_date, fulfillment_channel, order_status) "
                "VALUES (1, 'X-1', '2026-10-01 00:00:00', 'MFN', 'Shipped')"
            )
        )
    command.downgrade(db.alembic_config(engine), "0015")
    assert orders() == [(1, "X-1", "1X-1"), (1, "X-2", "1X-2"), (2, "X-1", "2X-1")]
    with engine.connect() as c:
        ids = c.execute(text("SELECT id FROM orders")).scalars().all()
    assert sorted(ids) == [1, 2, 3]
    assert {c["name"]: c for c in inspect(engine).get_columns("orders")}["order_id"]["type"].collation is None
    assert "uq_orders_account_id_order_id" in {u["name"] for u in inspect(engine).get_unique_constraints("orders")}
    command.upgrade(db.alembic_config(engine), "head")
    assert orders() == [(1, "X-1", "1X-1"), (1, "X-2", "1X-2"), (2, "X-1", "2X-1")]
