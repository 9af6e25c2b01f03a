"""Metrics speed: 1,000,000 orders over two accounts, every metric with a 90-day history.

    .venv/bin/python benchmarks/metrics_bench.py [ORDERS]

Fills a fresh SQLite database (directly, in the monitor's schema), then times
loading both accounts and computing every metric and channel for each of the
90 days, as `account-health metrics --history 90` does (the second account is loaded while the
first is counted, as there). Beside it, the floor:
the sqlite3 command-line tool computing only the 90-day lsr_30d series with a
plain SQL aggregate. Target: at most 3 seconds.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 90
MARKETPLACES = {1: ("amazon.com", "amazon.ca"), 2: ("amazon.de", "amazon.fr")}


def stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def fill(database: Path, count: int) -> None:
    from monitor import db

    engine = db.make_engine(f"sqlite:///{database}")
    db.migrate(engine)
    engine.dispose()
    rng = random.Random(7)
    start = AS_OF - timedelta(days=150)
    connection = sqlite3.connect(database)
    connection.execute(
        "INSERT INTO accounts (id, key, created_at) VALUES (1, 'acme-us', '2026-01-01 00:00:00.000000'), "
        "(2, 'bolt-de', '2026-01-01 00:00:00.000000')"
    )
    rows, defects = [], []
    for n in range(count):
        bought = start + timedelta(seconds=rng.randint(0, 150 * 86400))
        channel = "MFN" if rng.random() < 0.7 else "AFN"
        ship_by = bought + timedelta(days=2)
        cancelled = rng.random() < 0.015
        shipped = None if cancelled else bought + timedelta(hours=rng.uniform(2, 60))
        if shipped and shipped >= AS_OF:
            shipped = None
        promised = ship_by + timedelta(days=4)
        delivered = shipped + timedelta(hours=rng.uniform(24, 130)) if shipped else None
        if delivered and delivered >= AS_OF:
            delivered = None
        account = 1 + n % 2
        rows.append(
            (
                account,
                MARKETPLACES[account][rng.random() < 0.2],
                f"{n:09d}",
                stamp(bought),
                channel,
                "Canceled" if cancelled else "Shipped" if shipped else "Unshipped",
                stamp(ship_by),
                stamp(shipped),
                stamp(bought + timedelta(hours=2)) if cancelled else None,
                rng.choice(("buyer", "seller", None)) if cancelled else None,
                rng.random() < 0.98 if shipped else None,
                f"1Z{n:012d}" if shipped else None,
                stamp(promised),
                stamp(delivered),
                rng.choice((1, 1, 1, 2, 3)),
            )
        )
        if shipped and rng.random() < 0.006:
            defects.append(
                (
                    1 + n % 2,
                    f"d{n}",
                    f"{n:09d}",
                    rng.choice(("a_to_z_claim", "negative_feedback")),
                    stamp(shipped + timedelta(days=rng.uniform(3, 20))),
                    "open",
                    1,
                )
            )
    connection.executemany(
        "INSERT INTO orders (account_id, marketplace, order_id, purchase_date, fulfillment_channel, order_status,"
        " latest_ship_date, shipped_at, cancelled_at, cancelled_by, tracking_valid, tracking_id, latest_delivery_date,"
        " delivered_at, quantity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.executemany(
        "INSERT INTO defects (account_id, defect_key, order_id, defect_type, received_at, status,"
        " rating) VALUES (?, ?, ?, ?, ?, ?, ?)",
        defects,
    )
    connection.commit()
    connection.close()
    from monitor.sources import rebuild_sources

    engine = db.make_engine(f"sqlite:///{database}")
    with db.session_factory(engine).begin() as session:
        rebuild_sources(session)  # what imports would have recorded: which fields each marketplace carries
    engine.dispose()


FLOOR_SQL = """
WITH RECURSIVE days(k, t) AS (
  SELECT 0, '{first}' UNION ALL SELECT k + 1, strftime('%Y-%m-%d %H:%M:%S.000000', t, '+1 day') FROM days WHERE k < {last})
SELECT d.t, o.account_id, COUNT(*),
       SUM(CASE WHEN o.shipped_at IS NOT NULL AND o.shipped_at <= o.latest_ship_date THEN 0 ELSE 1 END)
FROM days d JOIN orders o
  ON o.fulfillment_channel = 'MFN'
 AND o.latest_ship_date >= strftime('%Y-%m-%d %H:%M:%S.000000', d.t, '-30 days') AND o.latest_ship_date < d.t
WHERE NOT (o.order_status = 'Canceled' AND o.shipped_at IS NULL AND (o.cancelled_at IS NULL OR o.cancelled_at < d.t))
GROUP BY d.t, o.account_id ORDER BY o.account_id, d.t;
"""


def fetch_only(database: Path) -> tuple[float, float]:
    """What fetching the fields costs on this driver, before any work of its own: as rows (how
    loading read them before), and a column at a time (how loading reads them now, columnar.py)."""
    from monitor import columnar
    from monitor.health import DEFECT_FIELDS, ORDER_FIELDS, columnar_columns
    from monitor.models import Base

    connection = sqlite3.connect(database)
    started = time.perf_counter()
    for account in (1, 2):
        connection.execute(f"SELECT {', '.join(ORDER_FIELDS)} FROM orders WHERE account_id = {account}").fetchall()
        connection.execute(f"SELECT {', '.join(DEFECT_FIELDS)} FROM defects WHERE account_id = {account}").fetchall()
    rows = time.perf_counter() - started
    started = time.perf_counter()
    for account in (1, 2):
        for table, fields in (("orders", ORDER_FIELDS), ("defects", DEFECT_FIELDS)):
            columns = columnar_columns(Base.metadata.tables[table], fields)
            assert (
                columns and columnar.read(connection, f"FROM {table} WHERE account_id = {account}", columns) is not None
            )
    columns_read = time.perf_counter() - started
    connection.close()
    return rows, columns_read


def main() -> None:
    from monitor import db, health
    from monitor.metrics import Targets

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.db"
        started = time.perf_counter()
        fill(database, count)
        print(f"database: {count:,} orders over two accounts (filled in {time.perf_counter() - started:.1f} s)")
        engine = db.make_engine(f"sqlite:///{database}")
        sessions = db.session_factory(engine)
        started = time.perf_counter()
        with sessions() as session:
            values = health.current(session, Targets(), AS_OF, days=DAYS)
        ours = time.perf_counter() - started
        engine.dispose()
        print(
            f"account-health metrics --history {DAYS}: {len(values):,} values (2 accounts x 2 marketplaces x "
            f"7 metric-channels x {DAYS} days, projections and forecasts included) in {ours:.2f} s "
            "(target <= 3 s; per-marketplace groups must stay under 5 s)"
        )
        rows, columns = fetch_only(database)
        print(
            f"for scale: Python's sqlite3 alone fetching the same fields, nothing converted or counted: as rows "
            f"{rows:.2f} s, a column at a time as loading does {columns:.2f} s ({columns / ours:.0%} of ours)"
        )
        sqlite3_tool = shutil.which("sqlite3")
        if not sqlite3_tool:
            print("floor: the sqlite3 command-line tool is not installed (apt-get install sqlite3)")
            return
        first = stamp(AS_OF - timedelta(days=DAYS - 1))
        sql = FLOOR_SQL.format(first=first, last=DAYS - 1)
        started = time.perf_counter()
        out = subprocess.run([sqlite3_tool, str(database)], input=sql, capture_output=True, text=True, check=True)
        floor = time.perf_counter() - started
        floor_rows = out.stdout.strip().splitlines()
        print(f"floor (sqlite3 tool, SQL aggregate of the lsr_30d series only, {len(floor_rows)} rows): {floor:.2f} s")
        print(f"ratio: {ours / floor:.2f}x the floor, for 7 metric-channels instead of 1")
        mine: dict[tuple[str, datetime], tuple[int, int]] = {}
        for v in values:
            if v.metric == "lsr_30d":  # the floor pools an account's marketplaces
                n, b = mine.get((v.account, v.as_of), (0, 0))
                mine[(v.account, v.as_of)] = (n + v.denominator, b + v.numerator)
        agree = sum(
            mine.get((("acme-us", "bolt-de")[int(a) - 1], datetime.fromisoformat(t).replace(tzinfo=UTC)))
            == (int(n), int(b))
            for t, a, n, b in (row.split("|") for row in floor_rows)
        )
        print(f"check: {agree} of {len(floor_rows)} lsr_30d points equal to the SQL floor's counts")


if __name__ == "__main__":
    main()
