"""Fleet benchmark: one Selling Partner API sync cycle of many sellers.

    .venv/bin/python benchmarks/fleet_bench.py [SELLERS] [LATENCY_SECONDS] [CONCURRENCY]

Runs the monitor's pipelined sync against the loopback fake of tests/fakes/spapi_fleet.py:
every seller with its own refresh token, one marketplace, its orders and two reports (feedback,
performance), each report ready LATENCY seconds after it was requested, every call metered by
Amazon's documented rate limits per seller and operation (a call over the limit is a 429 and is
counted). The clock skips waits (report latency, polling, rate limits) instead of sleeping them,
and counts everything the monitor really does in real time: the "cycle" figure is what a cycle
would take against Amazon with that latency (waits of threads at the same time add up, so it
errs long). Prints figures; asserts nothing. Target (issue 17): 300 sellers, 60 s latency, under
10 minutes.

Not measured here yet (issue 17, still open): 300 accounts x 20,000 orders on SQLite and
PostgreSQL, a cycle after 10 accounts changed, and two daemons sharing the fleet.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from monitor.config import load_settings  # noqa: E402
from monitor.models import Order, PerformanceReport  # noqa: E402
from monitor.monitor import Monitor  # noqa: E402
from tests.fakes.spapi_fleet import FleetFake, SkippingClock  # noqa: E402


def main() -> None:
    sellers = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    latency = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    concurrency = sys.argv[3] if len(sys.argv) > 3 else "8"
    clock = SkippingClock()
    fake = FleetFake(sellers, latency, clock)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.update(fake.accounts_file(folder / "accounts.toml"))
        settings = load_settings(
            environ={
                "DATABASE_URL": f"sqlite:///{folder / 'fleet.db'}",
                "INBOX_DIR": str(folder / "inbox"),
                "SPAPI_ACCOUNTS_FILE": str(folder / "accounts.toml"),
                "SPAPI_CLIENT_ID": "amzn1.application-oa2-client.bench",
                "SPAPI_CLIENT_SECRET": "secret",
                "SPAPI_ENDPOINT": f"http://127.0.0.1:{fake.port}",
                "LWA_TOKEN_URL": f"http://127.0.0.1:{fake.port}/auth/o2/token",
                "SYNC_CONCURRENCY": concurrency,
            }
        )
        with Monitor.open(settings, migrate=True, sleep=clock.sleep) as monitor:
            monitor.monotonic = clock.monotonic
            real, started = time.perf_counter(), clock.monotonic()
            run = monitor.sync()
            cycle, real = clock.monotonic() - started, time.perf_counter() - real
            with monitor.sessions() as session:
                orders = session.scalar(select(func.count()).select_from(Order))
                reports = session.scalar(select(func.count()).select_from(PerformanceReport))
    fake.close()
    errors = sum(len(r.errors) for r in run.accounts)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sync of {sellers} sellers, {latency:.0f} s report latency, concurrency {concurrency}")
    print(f"  cycle (waits skipped, work in real time): {cycle / 60:.1f} min   real: {real:.1f} s")
    print(f"  orders imported {orders}, performance reports {reports}, account errors {errors}")
    print(f"  calls {dict(fake.calls)}; over Amazon's limits (429): {sum(fake.throttled.values())}")
    print(f"  peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
