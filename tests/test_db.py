from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from monitor import db
from monitor.errors import DatabaseNotReady


def test_migrate_creates_every_table_and_is_idempotent(database_url):
    engine = db.make_engine(database_url)
    try:
        with pytest.raises(DatabaseNotReady, match="run `account-health init` first"):
            db.require_current(engine)
        before, after = db.migrate(engine)
        assert before is None and after == db.head_revision()
        assert db.migrate(engine) == (after, after)
        db.require_current(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"accounts", "orders", "defects", "imports", "quarantine", "feedback",
                "performance_reports", "performance_metrics", "alembic_version"} <= tables
    finally:
        engine.dispose()


def test_constraints_follow_the_naming_convention(database_url):
    engine = db.make_engine(database_url)
    try:
        db.migrate(engine)
        uniques = {u["name"] for u in inspect(engine).get_unique_constraints("orders")}
        assert "uq_orders_account_id_order_id" in uniques
        foreign = {f["name"] for f in inspect(engine).get_foreign_keys("orders")}
        assert "fk_orders_account_id_accounts" in foreign
    finally:
        engine.dispose()


def test_sqlite_gets_wal_busy_timeout_and_foreign_keys(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'nested' / 'monitor.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == db.SQLITE_BUSY_TIMEOUT_MS
        assert (tmp_path / "nested" / "monitor.db").exists()
    finally:
        engine.dispose()
