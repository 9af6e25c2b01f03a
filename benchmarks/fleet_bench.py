"""Fleet benchmarks: a monitor cycle over many accounts, and one Selling Partner API sync cycle.

    .venv/bin/python benchmarks/fleet_bench.py cycle [ACCOUNTS] [ORDERS_PER_ACCOUNT] [--postgres URL]
    .venv/bin/python benchmarks/fleet_bench.py sync [SELLERS] [LATENCY_SECONDS] [CONCURRENCY]

**cycle** (SQLite, or with --postgres a fresh schema of PostgreSQL): ACCOUNTS x ORDERS_PER_ACCOUNT
orders over 150 days written straight into a fresh database (as benchmarks/dashboard_bench.py does), their daily snapshots stored; then the
first full cycle (check and dashboards of every account) and a cycle after 10 accounts changed
(each imports a small file: import, snapshots, check, dashboards), with the peak RSS. Targets
(issue 17): the cycle after 10 changed accounts under 15 s, peak RSS under 500 MB.

With FLEET_PROFILE=PATH the cycle after 10 changed accounts is profiled (cProfile) into PATH.

**daemons** (PostgreSQL, TEST_POSTGRES_URL or the local one): ACCOUNTS accounts with a small shop
each (alerts to send) in a fresh schema, two real `account-health run` processes sharing them
through leases, one killed with SIGKILL once every account was alerted: the takeover time, and
the accounts alerted never or more than once. Target: 0 lost, 0 duplicate.

**sync**:
Runs the monitor's pipelined sync against the loopback fake of tests/fakes/spapi_fleet.py:
every seller with its own refresh token, one marketplace, its orders and two reports (feedback,
performance), each report ready LATENCY seconds after it was requested, every call metered by
Amazon's documented rate limits per seller and operation (a call over the limit is a 429 and is
counted). The clock skips waits (report latency, polling, rate limits) instead of sleeping them,
and counts everything the monitor really does in real time: the "cycle" figure is what a cycle
would take against Amazon with that latency (waits of threads at the same time add up, so it
errs long). Prints figures; asserts nothing. Target (issue 17): 300 sellers, 60 s latency, under
10 minutes.

"""

from __future__ import annotations

import cProfile
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select, update  # noqa: E402

from monitor.config import load_settings  # noqa: E402
from monitor.models import ImportRecord, Order, PerformanceReport  # noqa: E402
from monitor.monitor import Monitor  # noqa: E402
from tests.fakes.spapi_fleet import FleetFake, SkippingClock  # noqa: E402


def fleet_cycle(accounts: int, per_account: int, postgres: str | None = None) -> None:
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            _fleet_cycle(accounts, per_account, Path(tmp), Path(tmp) / "fleet.db")
        return
    from tests.conftest import fresh_schema

    with fresh_schema(postgres, "fleet") as url, tempfile.TemporaryDirectory() as tmp:
        _fleet_cycle(accounts, per_account, Path(tmp), url)


def _fleet_cycle(accounts: int, per_account: int, folder: Path, database: Path | str) -> None:
    from dashboard_bench import AS_OF, fill

    from monitor import health
    from monitor.metrics import Targets

    per_day = max(1, per_account // 150)
    started = time.perf_counter()
    fill(database, accounts, per_day)
    filled = time.perf_counter() - started
    settings = load_settings(
        environ={
            "DATABASE_URL": database if isinstance(database, str) else f"sqlite:///{database}",
            "REPORTS_DIR": str(folder / "reports"),
            "INBOX_DIR": str(folder / "inbox"),
            "STALE_HOURS": "100000",
        }
    )
    with Monitor.open(settings, clock=lambda: AS_OF) as monitor:
        started = time.perf_counter()
        with monitor.sessions.begin() as session:
            health.refresh_snapshots(session, Targets(), range(1, accounts + 1), 90, AS_OF.date())
            session.execute(update(ImportRecord).values(refreshed_at=AS_OF))  # the ledger: done
        snapshots = time.perf_counter() - started
        print(
            f"{accounts} accounts x {per_day * 150:,} orders ({accounts * per_day * 150:,}): written in "
            f"{filled:.0f} s, 90 days of snapshots in {snapshots:.0f} s"
        )
        started = time.perf_counter()
        first = monitor.check()
        checked = time.perf_counter() - started
        built = monitor.build_dashboards()
        print(
            f"  first full cycle: check {checked:.1f} s ({first.evaluated} accounts), dashboards "
            f"{time.perf_counter() - started - checked:.1f} s ({len(built.pages)} pages); "
            f"peak RSS {_peak():.0f} MB"
        )
        changed = []
        for n in range(10):
            path = folder / f"change-{n}.csv"
            path.write_text(
                "order_id,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at\n"
                f"NEW-{n},2026-10-30T10:00:00Z,MFN,Shipped,2026-11-01T23:59:59Z,2026-10-31T09:00:00Z\n",
                encoding="utf-8",
            )
            changed.append(path)
        profile = os.environ.get("FLEET_PROFILE")  # a path: the cycle after 10 changes, profiled into it
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        for n, path in enumerate(changed):
            monitor.import_paths([path], account=f"seller-{n + 1:02d}", new_account=False)
        imported = time.perf_counter() - started
        snap = 0.0  # each import refreshed its account's snapshots (part of "import")
        monitor.loads = health.SharedLoads()  # as the daemon's cycle: one load per account for both steps
        second = monitor.check()
        checked = time.perf_counter() - started - imported - snap
        built = monitor.build_dashboards()
        total = time.perf_counter() - started
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(profile))
        shared, monitor.loads = monitor.loads.hits, None
        print(
            f"  cycle after 10 accounts changed: {total:.1f} s (import with snapshots {imported:.1f}, "
            f"check {checked:.1f} s: {second.evaluated} evaluated, {second.unchanged} unchanged; dashboards "
            f"{total - imported - snap - checked:.1f} s: {len(built.pages)} pages, {built.unchanged} unchanged)"
            f"; {shared} loads shared; target < 15 s"
        )
        print(f"  peak RSS {_peak():.0f} MB (target < 500 MB)")


def fleet_daemons(accounts: int, lease: float = 10.0) -> None:
    import shutil
    import signal
    import subprocess
    import uuid
    from collections import Counter

    from sqlalchemy import create_engine, text

    from tests.conftest import POSTGRES_URL, shop
    from tests.test_fleet import Receiver, held

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    receiver = Receiver()
    exe = shutil.which("account-health") or str(
        Path(__file__).resolve().parents[1] / ".venv" / "bin" / "account-health"
    )
    base = {
        "DATABASE_URL": url,
        "WEBHOOK_URL": receiver.url,
        "LEASE_SECONDS": str(lease),
        "IMPORT_INTERVAL_MINUTES": "0.05",
        "STALE_HOURS": "100000",
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            settings = load_settings(environ={**base, "REPORTS_DIR": str(folder / "r"), "INBOX_DIR": str(folder / "i")})
            started = time.perf_counter()
            with Monitor.open(settings, migrate=True) as monitor:
                for n in range(accounts):
                    (folder / f"s{n}").mkdir()
                    monitor.import_paths([shop(folder / f"s{n}")], account=f"shop-{n:03d}", new_account=True)
            print(f"{accounts} accounts imported into PostgreSQL in {time.perf_counter() - started:.0f} s")

            def start(name: str) -> subprocess.Popen:
                (folder / name / "inbox").mkdir(parents=True)
                env = {
                    **os.environ,
                    **base,
                    "REPORTS_DIR": str(folder / name / "r"),
                    "INBOX_DIR": str(folder / name / "inbox"),
                }
                return subprocess.Popen([exe, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            def wait(condition, timeout: float) -> float:
                began = time.monotonic()
                while time.monotonic() - began < timeout:
                    if condition():
                        return time.monotonic() - began
                    time.sleep(0.2)
                raise SystemExit("timed out")

            processes.append(start("a"))
            processes.append(start("b"))
            shared = wait(lambda: sorted(held(url).values()) == [accounts // 2, accounts - accounts // 2], 120)
            print(
                f"  two daemons share {accounts} accounts {accounts // 2} / {accounts - accounts // 2} after {shared:.1f} s"
            )
            alerted = wait(lambda: len({m["account"] for m in receiver.messages}) == accounts, 300)
            print(f"  every account alerted {alerted:.1f} s later ({len(receiver.messages)} messages)")
            processes[0].send_signal(signal.SIGKILL)
            processes[0].wait(10)
            took = wait(lambda: sorted(held(url).values()) == [accounts], 6 * lease)
            time.sleep(lease)  # the survivor's cycles check what it took over
            counts = Counter(m["account"] for m in receiver.messages)
            lost = accounts - len(counts)
            duplicates = sum(n - 1 for n in counts.values() if n > 1)
            print(
                f"  kill -9 of one daemon: its accounts taken over in {took:.1f} s (lease {lease:.0f} s, "
                f"target under {2 * lease:.0f} s); alerts lost {lost}, duplicate {duplicates}"
            )
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
        receiver.server.shutdown()
        receiver.server.server_close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _local_postgres() -> str:
    from tests.conftest import POSTGRES_URL

    return POSTGRES_URL


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "sync"
    if mode == "daemons":
        fleet_daemons(int(sys.argv[2]) if len(sys.argv) > 2 else 300)
        return
    if mode == "cycle":
        args = sys.argv[2:]
        postgres = None
        if "--postgres" in args:
            at = args.index("--postgres")
            postgres = args[at + 1] if at + 1 < len(args) else _local_postgres()
            del args[at : at + 2]
        fleet_cycle(int(args[0]) if args else 300, int(args[1]) if len(args) > 1 else 20_000, postgres)
        return
    sellers = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    latency = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    concurrency = sys.argv[4] if len(sys.argv) > 4 else "8"
    clock = SkippingClock()
    fake = FleetFake(sellers, latency, clock)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = load_settings(environ=fake.environ(folder, int(concurrency)))
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
