"""Data coverage everywhere a seller looks, and never green (or red) without data: sources and
their newest data in status, the pages and the metrics JSON; freshness judged on the data; a
feed that stops raises a data-gap alert, not a false breach; a metric that cannot be computed
gets one notice saying what would supply it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from monitor.cli import cli
from monitor.monitor import Monitor
from monitor.present import alerts as words
from tests.conftest import env_of, write

NOW = datetime.now(UTC).replace(microsecond=0)
HEADER = (
    "order_id,purchase_date,fulfillment_channel,order_status,marketplace,latest_ship_date,shipped_at,tracking_valid\n"
)


def orders(days: int, confirmed_until: int | None = None, start: int = 0) -> str:
    """An order every 6 hours for `days` days up to now; confirmed (on time) only up to
    `confirmed_until` days ago (None: all of them)."""
    rows = []
    for n in range(start, start + days * 4):
        bought = NOW - timedelta(days=days) + timedelta(hours=6 * (n - start))
        ship_by = bought + timedelta(days=1)
        confirmed = confirmed_until is None or bought < NOW - timedelta(days=confirmed_until)
        shipped = (bought + timedelta(hours=10)).isoformat() if confirmed and bought + timedelta(hours=10) < NOW else ""
        status = "Shipped" if shipped else "Unshipped"
        rows.append(
            f"C-{n},{bought.isoformat()},MFN,{status},amazon.com,{ship_by.isoformat()},{shipped},{'true' if shipped else ''}"
        )
    return HEADER + "\n".join(rows) + "\n"


def checker(monitor: Monitor, at: datetime = NOW) -> Monitor:
    return Monitor(monitor.settings, monitor.sessions, monitor.http, lambda: at, None, lambda _s: None)


def test_a_feed_that_stops_raises_a_data_gap_alert_not_a_breach(monitor, tmp_path):
    # 40 days of orders; the shipping tool's confirmations stopped 8 days ago (orders kept coming)
    monitor.import_paths([write(tmp_path / "o.csv", orders(40, confirmed_until=8))], account="acme")
    run = checker(monitor).check(NOW)
    text = "\n".join(words.text(m) for m in run.messages)
    assert "STALE DATA Ship confirmations stopped on Amazon.com (US)" in text
    assert "the Late Shipment Rate" in text and "leave the orders after it out" in text
    assert "CRITICAL Late Shipment Rate" not in text  # 32 unconfirmed orders are not a breach
    lsr = next(v for v in monitor.metrics("acme", NOW).values if v.metric == "lsr_30d")
    assert lsr.status != "critical" and lsr.coverage is not None and lsr.coverage < 1
    # the confirmations come in again: the gap closes, and says so
    monitor.import_paths([write(tmp_path / "o2.csv", orders(40))], account="acme")
    later = checker(monitor, NOW + timedelta(minutes=5)).check(NOW)
    resolved = "\n".join(words.text(m) for m in later.messages)
    assert (
        "RESOLVED Ship confirmations stopped on Amazon.com (US): ship confirmations on amazon.com come in again"
        in resolved
    )


def test_a_metric_that_cannot_be_computed_gets_one_notice_of_what_would_supply_it(monitor, tmp_path):
    monitor.import_paths([write(tmp_path / "o.csv", orders(20))], account="acme")  # no feedback, no claims
    first = checker(monitor).check(NOW)
    text = "\n".join(words.text(m) for m in first.messages)
    assert "NOTICE Order Defect Rate cannot be computed on Amazon.com (US)" in text
    assert "Amazon's Seller Feedback report (GET_SELLER_FEEDBACK_DATA)" in text
    assert "NOTICE On-Time Delivery Rate cannot be computed on Amazon.com (US)" in text
    assert "Delivery scans: your shipping tool's export with delivery dates" in text
    assert "NOTICE Late Shipment Rate" not in text  # it has what it needs
    again = checker(monitor, NOW + timedelta(days=2)).check(NOW + timedelta(days=2) - timedelta(hours=1))
    assert not any("NOTICE" in words.text(m) for m in again.messages)  # said once


def test_freshness_is_judged_on_the_newest_order_not_on_the_import(monitor, tmp_path):
    old = orders(10).replace("C-", "OLD-")
    rows = [line for line in old.splitlines()[1:]]
    shifted = []
    for line in rows:  # the same orders, 24 days older
        parts = line.split(",")
        for i in (1, 5, 6):
            if parts[i]:
                parts[i] = (datetime.fromisoformat(parts[i]) - timedelta(days=24)).isoformat()
        shifted.append(",".join(parts))
    monitor.import_paths([write(tmp_path / "old.csv", HEADER + "\n".join(shifted) + "\n")], account="acme")
    status = json.loads(CliRunner().invoke(cli, ["status", "--format", "json"], env=env_of(monitor.settings)).output)
    (account,) = status["accounts"]
    assert account["stale"] is True and account["last_import"] > (NOW - timedelta(minutes=5)).isoformat()
    run = checker(monitor).check(NOW)
    assert run.stale_accounts == ["acme"]
    assert "Its newest order is from" in "\n".join(words.text(m) for m in run.messages)


def test_coverage_in_status_pages_and_metrics(monitor, tmp_path):
    monitor.import_paths([write(tmp_path / "o.csv", orders(20))], account="acme")
    env = env_of(monitor.settings)
    status = json.loads(CliRunner().invoke(cli, ["status", "--format", "json"], env=env).output)
    sources = {s["source"]: s for s in status["accounts"][0]["coverage"]["amazon.com"]}
    assert sources["orders"]["state"] == "ok" and sources["orders"]["newest_data_at"] is not None
    assert sources["ship_confirmations"]["state"] == "ok"
    assert sources["delivery_scans"]["state"] == "never" and sources["feedback"]["state"] == "never"
    table = CliRunner().invoke(cli, ["status"], env=env).output
    assert "delivery scans never imported" in table and "amazon.com: orders" in table
    values = json.loads(CliRunner().invoke(cli, ["metrics", "--format", "json"], env=env).output)
    lsr = next(v for v in values if v["metric"] == "lsr_10d")
    assert set(lsr["sources"]) == {"orders", "ship_by", "ship_confirmations"}
    assert all(lsr["sources"][s] is not None for s in lsr["sources"])
    odr = next(v for v in values if v["metric"] == "odr" and v["channel"] == "mfn")
    assert odr["sources"]["feedback"] is None and odr["status"] == "no_data"
    CliRunner().invoke(cli, ["dashboard"], env=env)
    page = next(p for p in (tmp_path / "reports").glob("*.html") if "acme" in p.name and "appeal" not in p.name)
    html = page.read_text()
    assert "Data coverage" in html and "never imported" in html and "ship confirmations" in html
