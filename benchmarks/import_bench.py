"""Import speed and peak memory for growing files: memory should stay flat.

    .venv/bin/python benchmarks/import_bench.py [ROWS ...]

Each size runs in a fresh process (peak RSS is per process) against a new
SQLite file, importing an Amazon All Orders flat file with two items per order.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HEADER = ("amazon-order-id\tpurchase-date\torder-status\tfulfillment-channel\tsales-channel\t"
          "product-name\tsku\tasin\tquantity\tcurrency\titem-price\n")


def write_file(path: Path, rows: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        for n in range(rows):
            order = n // 2
            moment = (start + timedelta(seconds=order * 7)).isoformat()
            channel = "Merchant" if order % 3 else "Amazon"
            handle.write(f"111-{order:07d}-0000000\t{moment}\tShipped\t{channel}\tAmazon.com\t"
                         f'12" mug no. {n}\tSKU-{n % 97}\tB0{n % 13:08d}\t1\tUSD\t9.99\n')


def measure(rows: int) -> None:
    from monitor import db
    from monitor.config import load_settings
    from monitor.ingest import import_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "all_orders.txt"
        write_file(path, rows)
        url = f"sqlite:///{folder}/bench.db"
        engine = db.make_engine(url)
        db.migrate(engine)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = import_file(db.session_factory(engine), path, load_settings(environ={"DATABASE_URL": url}))
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        size_mb = path.stat().st_size / 1e6
        print(f"{rows:>9,} rows  {size_mb:7.1f} MB  {result.inserted:>8,} orders  {seconds:6.1f} s  "
              f"{rows / seconds:>8,.0f} rows/s  peak RSS {peak / 1024:6.1f} MB (before import {before / 1024:5.1f} MB)")
        engine.dispose()


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        measure(int(sys.argv[2]))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000, 400_000]
    for rows in sizes:
        subprocess.run([sys.executable, __file__, "--one", str(rows)], check=True)


if __name__ == "__main__":
    main()
