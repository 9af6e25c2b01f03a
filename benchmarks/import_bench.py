"""Import speed and peak memory against a floor: the sqlite3 tool's own `.import`.

    .venv/bin/python benchmarks/import_bench.py [ROWS]      (default 1,000,000)
    .venv/bin/python benchmarks/import_bench.py --postgres URL [ROWS]

Writes ROWS canonical order rows (one order per row, every column filled),
imports them into a fresh SQLite database in a child process (so that its memory
is the importer's alone; then again with every process's PSS summed, sampled
every 20 ms, which slows a run), again with the readers turned off, for scale,
then times `sqlite3 -cmd ".import"` of the same file into an equivalent table with
the same unique key (best of three). Targets: at most 2.5x the floor, memory
under 400 MB.
"""

from __future__ import annotations

import itertools
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

COLUMNS = [
    "order_id",
    "purchase_date",
    "fulfillment_channel",
    "order_status",
    "marketplace",
    "latest_ship_date",
    "shipped_at",
    "cancelled_at",
    "cancelled_by",
    "tracking_id",
    "tracking_valid",
    "carrier",
    "latest_delivery_date",
    "delivered_at",
    "sku",
    "quantity",
    "order_total",
    "currency",
]
FLOOR_TABLE = "CREATE TABLE orders (" + ", ".join(f"{c} TEXT" for c in COLUMNS) + ", UNIQUE (order_id));"


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(42)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(",".join(COLUMNS) + "\n")
        for n in range(rows):
            bought = start + timedelta(seconds=n * 3 + rng.randint(0, 2))
            channel = "MFN" if n % 3 else "AFN"
            cancelled = rng.random() < 0.02
            ship_by = bought + timedelta(days=2)
            shipped = "" if cancelled else (bought + timedelta(hours=rng.uniform(2, 60))).isoformat()
            handle.write(
                ",".join(
                    (
                        f"111-{n:07d}-{rng.randint(1000000, 9999999)}",
                        bought.isoformat(),
                        channel,
                        "Canceled" if cancelled else "Shipped",
                        "amazon.com",
                        ship_by.isoformat(),
                        shipped,
                        (bought + timedelta(hours=3)).isoformat() if cancelled else "",
                        rng.choice(("buyer", "seller", "")) if cancelled else "",
                        f"1Z{n:012d}",
                        "true" if rng.random() < 0.98 else "false",
                        rng.choice(("UPS", "USPS", "FedEx")),
                        (ship_by + timedelta(days=4)).isoformat(),
                        "" if cancelled else (ship_by + timedelta(days=3)).isoformat(),
                        f"SKU-{n % 500}",
                        str(rng.randint(1, 3)),
                        f"{rng.uniform(5, 90):.2f}",
                        "USD",
                    )
                )
                + "\n"
            )


def import_in_child(path: Path, url: str) -> None:
    from monitor import db
    from monitor.config import load_settings
    from monitor.ingest import import_file

    engine = db.make_engine(url)
    db.migrate(engine)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    settings = {k: v for k, v in os.environ.items() if k.startswith("IMPORT_")}  # e.g. IMPORT_WORKER_MIN_MB
    result = import_file(db.session_factory(engine), path, load_settings(environ={**settings, "DATABASE_URL": url}))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reader = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest forked reader's, if any
    assert result.status == "ok", result
    print(f"{seconds:.3f} {peak / 1024:.1f} {before / 1024:.1f} {result.inserted} {reader / 1024:.1f}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        import_in_child(Path(sys.argv[2]), sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--postgres":
        postgres(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000)
        return
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    sqlite3 = shutil.which("sqlite3")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.csv"
        write_file(path, rows)
        size_mb = path.stat().st_size / 1e6
        print(f"file: {rows:,} canonical order rows, {size_mb:.1f} MB")
        run, together = timed_then_sampled(path, Path(folder) / "monitor.db")
        print(
            f"account-health import: {run.seconds:.2f} s, {rows / run.seconds:,.0f} rows/s, {run.inserted:,} orders; "
            f"peak RSS {run.peak:.0f} MB (of which {run.baseline:.0f} MB before the import began)"
            + (f", its largest forked reader's {run.reader:.0f} MB" if run.reader else "")
            + f"; all its processes together at most {together:.0f} MB (PSS: pages they share counted once)"
        )
        one, one_together = timed_then_sampled(path, Path(folder) / "monitor.db", IMPORT_WORKER_MIN_MB="1e9")
        print(
            f"for scale, the same import in one process (no forked readers): {one.seconds:.2f} s, peak {one_together:.0f} MB"
        )
        if not sqlite3:
            print("floor: the sqlite3 command-line tool is not installed (apt-get install sqlite3)")
            return
        floors = []
        for attempt in range(3):  # this machine's disk is noisy: the best of three is the strictest floor
            floor_db = Path(folder) / f"floor{attempt}.db"
            started = time.perf_counter()
            subprocess.run(
                [
                    sqlite3,
                    str(floor_db),
                    "-cmd",
                    FLOOR_TABLE,
                    "-cmd",
                    ".mode csv",
                    "-cmd",
                    f".import --skip 1 {path} orders",
                    ".exit",
                ],
                check=True,
            )
            floors.append(time.perf_counter() - started)
            floor_db.unlink()
        floor = min(floors)
        print(
            f"floor (sqlite3 .import, same file, UNIQUE(order_id)): {floor:.2f} s, {rows / floor:,.0f} rows/s "
            f"(best of {', '.join(f'{f:.2f}' for f in floors)} s)"
        )
        print(
            f"ratio: {run.seconds / floor:.2f}x the floor (target <= 2.5x; in one process {one.seconds / floor:.2f}x); "
            f"memory target < 400 MB"
        )
        binding = python_binding_floor(path, Path(folder) / "binding.db")
        print(
            f"for scale: Python's sqlite3 alone, csv.reader + executemany of the same strings into the same "
            f"table, nothing checked or converted: {binding:.2f} s ({binding / floor:.2f}x the floor)"
        )


def postgres(url: str, rows: int) -> None:
    """The same import into a fresh schema of PostgreSQL at `url`, against a plain COPY of the
    same file into a table of text columns with the same unique key (the floor), and, for
    scale, what PostgreSQL alone needs to merge the file into `orders` (postgres_alone)."""
    import psycopg

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import fresh_schema

    with fresh_schema(url) as schema_url, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.csv"
        write_file(path, rows)
        run = import_in_a_child(path, schema_url)
        seconds = run.seconds
        print(f"file: {rows:,} canonical order rows, {path.stat().st_size / 1e6:.1f} MB, PostgreSQL")
        print(
            f"account-health import: {seconds:.2f} s, {run.inserted:,} orders, peak RSS {run.peak:.0f} MB"
            f" (its largest forked reader's: {run.reader:.0f} MB)"
        )
        floors = []
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        options = schema_url.split("options=", 1)[1].replace("%3D", "=")
        for attempt in range(3):
            with psycopg.connect(plain, options=options) as connection:
                connection.execute(FLOOR_TABLE.replace("orders", f"floor{attempt}"))
                started = time.perf_counter()
                sql = f"COPY floor{attempt} FROM STDIN (FORMAT csv, HEADER)"
                with connection.cursor().copy(sql) as copy, path.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        copy.write(block)
                connection.commit()
                floors.append(time.perf_counter() - started)
        floor = min(floors)
        print(
            f"floor (plain COPY of the same file, UNIQUE(order_id)): {floor:.2f} s "
            f"(best of {', '.join(f'{f:.2f}' for f in floors)} s)"
        )
        print(f"ratio: {seconds / floor:.2f}x the floor (target <= 1.5x)")
        alone = postgres_alone(url, path)
        print(
            f"for scale: PostgreSQL alone, no Python, the file COPied into a temporary table of text and one "
            f"INSERT ... SELECT ... ON CONFLICT converting it in SQL into the real orders table: {alone.merge:.2f} s "
            f"({alone.merge / floor:.2f}x the floor; COPY {alone.copied:.2f} s, INSERT {alone.merged:.2f} s)"
        )
        print(
            f"for scale: the same rows, already converted, COPied straight into the empty orders table (no merge, "
            f"no Python; the least any import can take): {alone.straight:.2f} s ({alone.straight / floor:.2f}x the floor)"
        )


@dataclass(frozen=True)
class Alone:
    """Seconds PostgreSQL alone needs (postgres_alone)."""

    copied: float  # COPY of the file into a temporary table of text
    merged: float  # the merge from there into `orders`, converting in SQL
    straight: float  # COPY of the converted rows into an empty `orders`

    @property
    def merge(self) -> float:
        return self.copied + self.merged


def postgres_alone(url: str, path: Path) -> Alone:
    """What PostgreSQL itself needs to put the file's rows into a fresh schema's `orders` by the
    import's merge statement, every value converted in SQL (this file's columns only: a bound
    for any import, not one); then, the table emptied, to COPY the rows it converted straight
    into it, with nothing to merge (a bound for any route that writes the rows into `orders`)."""
    from monitor import accounts, db
    from monitor.ingest.store import merge_sql
    from tests.conftest import fresh_schema

    def utc(column: str) -> str:
        return f"(NULLIF({column}, '')::timestamptz AT TIME ZONE 'UTC')"

    converted = {name: name for name in COLUMNS}
    converted.update({name: utc(name) for name in COLUMNS if name.endswith(("_date", "_at"))})
    converted.update(
        cancelled_by="NULLIF(cancelled_by, '')",
        tracking_valid="(tracking_valid = 'true')",
        quantity="quantity::integer",
        order_total="order_total::float8",
    )
    with fresh_schema(url) as schema_url:
        engine = db.make_engine(schema_url)
        db.migrate(engine)
        with db.session_factory(engine).begin() as session:
            account = accounts.account_id(session, "bench")
        source = (
            f"(SELECT {', '.join(f'{v} AS {k}' for k, v in converted.items())}, {account} AS account_id FROM raw) AS c"
        )
        sql = merge_sql(engine.dialect, [*converted, "account_id"], 1, (), source)
        columns = ", ".join([*converted, "account_id"])
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            started = time.perf_counter()
            cursor.execute("SET LOCAL session_replication_role = replica")  # no key checks, as the import
            cursor.execute(f"CREATE TEMP TABLE raw ({', '.join(f'{c} text' for c in COLUMNS)}) ON COMMIT DROP")
            with cursor.copy("COPY raw FROM STDIN (FORMAT csv, HEADER)") as copy, path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    copy.write(block)
            copied = time.perf_counter()
            cursor.execute(sql)
            connection.commit()
            merged = time.perf_counter()
            converted_path = path.with_name("converted.txt")
            cursor.execute("CREATE TEMP TABLE kept AS SELECT * FROM orders")
            with converted_path.open("wb") as out, cursor.copy(f"COPY (SELECT {columns} FROM kept) TO STDOUT") as copy:
                for data in copy:
                    out.write(data)
            cursor.execute("TRUNCATE orders")
            connection.commit()
            again = time.perf_counter()
            cursor.execute("SET LOCAL session_replication_role = replica")
            with cursor.copy(f"COPY orders ({columns}) FROM STDIN") as copy, converted_path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    copy.write(block)
            connection.commit()
            straight = time.perf_counter() - again
            converted_path.unlink()
        finally:
            connection.close()
            engine.dispose()
    return Alone(copied - started, merged - copied, straight)


@dataclass(frozen=True)
class Run:
    seconds: float
    peak: float  # MB: the importing process's peak RSS
    baseline: float  # MB: its RSS before the import began
    inserted: int
    reader: float  # MB: the largest forked reader's peak RSS (0: none)
    together: float  # MB: the peak of all its processes' PSS summed, sampled every 20 ms (0: not sampled)


def timed_then_sampled(path: Path, database: Path, **settings: str) -> tuple[Run, float]:
    """Import `path` into a fresh SQLite `database` twice: timed, then with every process's
    PSS sampled (reading a process's PSS walks its page tables: 3 to 6 ms each time, on this
    2-core machine most of a core at 20 ms intervals, which would slow the timed run). The
    timed run's figures, and the sampled run's peak of the PSS summed (MB)."""
    runs = []
    for sampled in (False, True):
        for leftover in (
            database,
            database.with_name(database.name + "-wal"),
            database.with_name(database.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        runs.append(import_in_a_child(path, f"sqlite:///{database}", sampled, **settings))
    return runs[0], runs[1].together


def import_in_a_child(path: Path, url: str, sampled: bool = False, **settings: str) -> Run:
    """Import `path` into `url` in a child process (so that its memory is the importer's alone),
    with `settings` (IMPORT_...) in its environment; `sampled`: its processes' PSS summed,
    every 20 ms (else `together` is 0)."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", str(path), url],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **settings},
    )
    together = 0
    while child.poll() is None:
        if sampled:
            together = max(together, sum(map(_pss_kib, [child.pid, *_children(child.pid)])))
        time.sleep(0.02)
    assert child.returncode == 0 and child.stdout is not None
    out = child.stdout.read().split()
    return Run(float(out[0]), float(out[1]), float(out[2]), int(out[3]), float(out[4]), together / 1024)


def _pss_kib(pid: int) -> int:
    """A process's proportional set size: its own pages, and its share of those it shares."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    except OSError:  # gone, or not Linux
        return 0


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(n) for n in children.read().split()]
        except OSError:
            continue
    return found


def python_binding_floor(path: Path, database: Path) -> float:
    """What any Python importer pays before doing any work of its own."""
    import csv
    import sqlite3

    started = time.perf_counter()
    connection = sqlite3.connect(database)
    connection.execute(FLOOR_TABLE)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        marks = ", ".join("?" * len(COLUMNS))
        while batch := list(itertools.islice(reader, 50_000)):
            connection.executemany(f"INSERT INTO orders VALUES ({marks})", batch)
    connection.commit()
    connection.close()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
