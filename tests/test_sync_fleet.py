"""The pipelined sync of many sellers against a loopback fake on a compressed clock: every report
requested first and polled together, accounts synced concurrently, each seller's rate limits kept,
and one seller's failure holding up nobody."""

from __future__ import annotations

import os

from sqlalchemy import func, select

from monitor.config import load_settings
from monitor.models import Order, PerformanceReport
from monitor.monitor import Monitor
from tests.fakes.spapi_fleet import CompressedClock, FleetFake

LATENCY = 60.0  # seconds of the fake's clock before a report is ready


def test_twelve_sellers_sync_in_about_one_report_latency_with_no_limit_exceeded(tmp_path, monkeypatch):
    clock = CompressedClock(speed=20)
    fake = FleetFake(12, LATENCY, clock, bad_tokens={5}, marketplaces=("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"))
    try:
        monkeypatch.setattr(os, "environ", dict(os.environ))  # the sellers' tokens go away with the test
        settings = load_settings(environ=fake.environ(tmp_path, concurrency=4))
        Monitor.init_database(settings)
        with Monitor.open(settings, migrate=True, sleep=clock.sleep) as monitor:
            monitor.monotonic = clock.monotonic
            started = clock.monotonic()
            run = monitor.sync()
            elapsed = clock.monotonic() - started
            with monitor.sessions() as session:
                orders = session.scalar(select(func.count()).select_from(Order))
                reports = session.scalar(select(func.count()).select_from(PerformanceReport))
    finally:
        fake.close()
    print(f"\n12 sellers x 2 marketplaces x 2 reports, {LATENCY:.0f} s latency: {elapsed:.0f} s of the fake's clock")
    by_key = {r.account: r for r in run.accounts}
    failed = by_key["seller-005"]
    assert failed.errors and "Login with Amazon refused" in failed.errors[0] and not failed.imports
    good = [r for key, r in by_key.items() if key != "seller-005"]
    assert all(not r.errors and r.orders == 2 and len(r.imports) == 2 + 4 for r in good), [r.errors for r in good]
    assert orders == 22 and reports == 22  # 11 good sellers x 2 marketplaces
    assert sum(fake.throttled.values()) == 0, fake.throttled  # no seller ever over Amazon's limits
    assert fake.max_in_flight >= 2  # sellers really were served at the same time
    # pipelined: one latency, a few polling rounds and the imports, not one latency per seller
    # (12 x 60 s one after the other); the imports' real time counts 20 times on this clock
    assert elapsed < 12 * LATENCY / 2
