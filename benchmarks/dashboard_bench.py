"""Dashboard build time and page weight: 50 accounts with 90 days of history.

    .venv/bin/python benchmarks/dashboard_bench.py [ACCOUNTS] [ORDERS_PER_DAY]

Fills a fresh SQLite database (directly, in the monitor's schema), stores the
daily snapshots as imports do, then times `account-health dashboard`.
Targets: at most 10 seconds for 50 accounts; an account page at most 1 MB
without plotly.js (which is written once beside the pages).
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
SOURCES = (
    "orders",
    "ship_by",
    "ship_confirmations",
    "tracking_numbers",
    "tracking_validity",
    "delivery_promises",
    "delivery_scans",
)


def stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class _Postgres:
    """The few calls fill makes, on a psycopg connection (orders go in by COPY)."""

    def __init__(self, url: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        options = parsed.query.get("options")
        self.connection = psycopg.connect(
            parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False),
            **({"options": options} if isinstance(options, str) else {}),
        )

    def execute(self, sql: str) -> None:
        self.connection.execute(sql)

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        if sql.startswith("INSERT INTO orders"):
            names = sql[sql.index("(") + 1 : sql.index(")")]
            with self.connection.cursor().copy(f"COPY orders ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        self.connection.cursor().executemany(sql.replace("?", "%s"), rows)

    def commit(self) -> None:
        for table in ("accounts", "imports"):  # ids were given: the sequences continue after them
            self.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()


def fill(database: Path | str, accounts: int, per_day: int) -> None:
    """The accounts' orders and defects, written straight into a migrated database: a SQLite file,
    or the PostgreSQL database of a URL."""
    from monitor import db

    url = database if isinstance(database, str) else f"sqlite:///{database}"
    engine = db.make_engine(url)
    db.migrate(engine)
    engine.dispose()
    rng = random.Random(5)
    connection: Any = _Postgres(url) if isinstance(database, str) else sqlite3.connect(database)
    connection.executemany(
        "INSERT INTO accounts (id, key, created_at) VALUES (?, ?, '2026-01-01 00:00:00.000000')",
        [(a + 1, f"seller-{a + 1:02d}") for a in range(accounts)],
    )
    connection.execute(
        "INSERT INTO imports (id, file_name, sha256, format, rows_read, inserted, updated, quarantined,"
        " status, started_at, finished_at) VALUES (1, 'bench.csv', '', 'orders', 0, 0, 0, 0, 'ok',"
        " '2026-10-31 23:00:00.000000', '2026-10-31 23:00:00.000000')"
    )
    connection.executemany(
        "INSERT INTO import_accounts (import_id, account_id) VALUES (1, ?)", [(a + 1,) for a in range(accounts)]
    )
    # what each account's data holds (as imports record it): its newest order is fresh
    newest = stamp(AS_OF - timedelta(hours=1))
    connection.executemany(
        "INSERT INTO account_sources (account_id, marketplace, source, newest_data_at, last_import_id,"
        " last_import_at) VALUES (?, '', ?, ?, 1, '2026-10-31 23:00:00.000000')",
        [(a + 1, source, newest) for a in range(accounts) for source in SOURCES],
    )
    for account in range(1, accounts + 1):
        late = rng.uniform(0.005, 0.05)
        rows, defects = [], []
        for day in range(150):
            for n in range(per_day):
                bought = AS_OF - timedelta(days=150 - day, seconds=rng.randint(0, 86399))
                ship_by = bought + timedelta(days=2)
                shipped = ship_by + timedelta(hours=rng.uniform(-40, 30) if rng.random() < late * 3 else -20)
                shipped = shipped if shipped < AS_OF else None
                delivered = shipped + timedelta(days=rng.uniform(1, 6)) if shipped else None
                delivered = delivered if delivered and delivered < AS_OF else None
                order_id = f"{account}-{day}-{n}"
                rows.append(
                    (
                        account,
                        order_id,
                        stamp(bought),
                        "MFN" if n % 4 else "AFN",
                        "Shipped",
                        stamp(ship_by),
                        stamp(shipped),
                        rng.random() < 0.98 if shipped else None,
                        stamp(ship_by + timedelta(days=4)),
                        stamp(delivered),
                        f"SKU-{n % 40}",
                        "UPS",
                    )
                )
                if shipped and rng.random() < 0.005:
                    defects.append(
                        (
                            account,
                            order_id,
                            order_id,
                            "a_to_z_claim",
                            stamp(min(shipped + timedelta(days=5), AS_OF - timedelta(hours=1))),
                            "open",
                        )
                    )
        connection.executemany(
            "INSERT INTO orders (account_id, order_id, purchase_date, fulfillment_channel, order_status,"
            " latest_ship_date, shipped_at, tracking_valid, latest_delivery_date, delivered_at, sku, carrier)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.executemany(
            "INSERT INTO defects (account_id, defect_key, order_id, defect_type, received_at,"
            " status) VALUES (?, ?, ?, ?, ?, ?)",
            defects,
        )
    connection.commit()
    connection.close()


def main() -> None:
    from monitor import db, health
    from monitor.config import load_settings
    from monitor.dashboard.build import build
    from monitor.metrics import Targets

    accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    per_day = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.db"
        fill(database, accounts, per_day)
        settings = load_settings(environ={"DATABASE_URL": f"sqlite:///{database}"})
        engine = db.make_engine(settings.database_url)
        sessions = db.session_factory(engine)
        started = time.perf_counter()
        with sessions.begin() as session:
            health.refresh_snapshots(session, Targets(), range(1, accounts + 1), 90, AS_OF.date())
        snapshots = time.perf_counter() - started
        out = Path(folder) / "reports"
        started = time.perf_counter()
        with sessions() as session:
            result = build(session, Targets(), out, AS_OF, settings.stale_hours)
        seconds = time.perf_counter() - started
        engine.dispose()
        sizes = sorted(p.stat().st_size for p in result.pages)
        orders = accounts * per_day * 150
        print(
            f"data: {accounts} accounts, {orders:,} orders, 150 days; snapshots of 90 days stored in {snapshots:.1f} s"
        )
        print(
            f"account-health dashboard: {len(result.pages)} account pages + index in {seconds:.2f} s (target <= 10 s)"
        )
        print(
            f"account page weight without plotly.js: largest {sizes[-1] / 1024:.0f} KiB, median "
            f"{sizes[len(sizes) // 2] / 1024:.0f} KiB (target <= 1 MB); plotly.min.js "
            f"{(out / 'plotly.min.js').stat().st_size / 1e6:.1f} MB, written once"
        )


if __name__ == "__main__":
    main()
