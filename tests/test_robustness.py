"""Nothing poisons the rest, and alerts survive faults: one account that cannot be evaluated,
a corrupt stored value, control characters from report data, a refresh cut short, a failing
daemon step, a process killed while a message is in flight, a dead channel fixed."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from monitor import health
from monitor.cli import cli
from monitor.ingest import import_paths
from monitor.models import ImportRecord, MetricSnapshot, Order
from monitor.monitor import Monitor
from monitor.present import alerts as words
from tests.conftest import env_of, reconfigured, shop, write

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
EXE = str(Path(sys.executable).parent / "account-health")
ESCAPES = "\x1b]0;PWNED\x07\x1b[2J"


@pytest.fixture
def two_accounts(monitor, tmp_path):
    """acme misses its late-shipment target; side is any other account."""
    monitor.import_paths([shop(tmp_path)], account="acme")
    (tmp_path / "side").mkdir()
    other = shop(tmp_path / "side")
    other.write_text(other.read_text() + "SIDE-1,2026-10-25T10:00:00Z,AFN,Shipped,,,,,,,MUG\n")  # other content
    monitor.import_paths([other], account="side")
    return monitor


@pytest.fixture
def side_breaks(monkeypatch):
    """Evaluating the account `side` fails (a bug, a value nobody foresaw); acme is fine."""
    real = health.load

    def load(session, account, *args, **kwargs):
        if account.key == "side":
            raise ValueError("Time data 10000-01-0 T00:59:59.00000 is not ISO8601 format.\nmore text")
        return real(session, account, *args, **kwargs)

    monkeypatch.setattr(health, "load", load)


def test_one_account_that_cannot_be_evaluated_does_not_silence_the_others(two_accounts, side_breaks, slack):
    settings = reconfigured(two_accounts.settings, slack_webhook_url=slack.url)
    checker = Monitor(settings, two_accounts.sessions, two_accounts.http, lambda: datetime.now(UTC))
    run = checker.check(AS_OF)
    assert [f.account for f in run.faults] == ["side"] and run.failed
    assert "Time data 10000-01-0" in run.faults[0].error and "\n" not in run.faults[0].error
    heads = sorted(m["text"] for m in slack.received)
    assert len(heads) == 2
    assert heads[0].startswith("[account-health] acme") and "CRITICAL" in heads[0]  # acme's alert still goes out
    assert heads[1] == "[account-health] side: CRITICAL: The monitor cannot evaluate this account"
    again = checker.check(AS_OF)  # the fault is an alert like any other: not repeated before its time
    assert len(slack.received) == 2 and [f.account for f in again.faults] == ["side"]


def test_metrics_and_dashboards_report_the_failing_account_and_show_the_rest(two_accounts, side_breaks):
    env = env_of(two_accounts.settings)
    result = CliRunner().invoke(cli, ["metrics", "--as-of", "2026-10-31", "--format", "json"], env=env)
    assert result.exit_code == 1
    values = json.loads(result.stdout)
    assert {v["account"] for v in values} == {"acme"}
    assert "error: account side could not be evaluated: ValueError: Time data" in result.stderr
    pages = CliRunner().invoke(cli, ["dashboard", "--as-of", "2026-10-31"], env=env)
    assert pages.exit_code == 1 and "account side could not be evaluated" in pages.stderr
    out = Path(two_accounts.settings.reports_dir)
    index = (out / "index.html").read_text()
    assert "The monitor could not evaluate this account" in index and "acme" in index
    side = next(p for p in out.glob("*.html") if "side" in p.name and "appeal" not in p.name)
    assert "could not evaluate this account: ValueError" in side.read_text()


def test_a_corrupt_stored_timestamp_reads_as_missing(sqlite_settings, tmp_path, caplog):
    """What an earlier version could write for 9999-12-31T23:59:59-01:00: read back safely."""
    with Monitor.open(sqlite_settings, migrate=True) as monitor:
        monitor.import_paths([shop(tmp_path)], account="acme")
        with monitor.sessions.begin() as session:
            session.execute(text("UPDATE orders SET shipped_at = '10000-01-0 T00:59:59.00000' WHERE order_id = 'OK-1'"))
        caplog.set_level(logging.WARNING)
        run = monitor.metrics("acme", AS_OF)
        assert not run.faults and len(run.values) == 7
        with monitor.sessions() as session:
            order = session.scalar(select(Order).where(Order.order_id == "OK-1"))
        assert order is not None and order.shipped_at is None
        assert "cannot be read" in caplog.text
        assert monitor.check(AS_OF).faults == []


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_control_characters_from_report_data_reach_no_terminal_slack_field_or_header(monitor, tmp_path, slack):
    rows = "".join(
        f"E-{n},2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:59:59Z,2026-10-29T10:00:00Z,SKU{ESCAPES}{n}\n"
        for n in range(3)
    )
    header = "order_id,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at,sku\n"
    monitor.import_paths([write(tmp_path / "o.csv", header + rows)], account="acme")
    with monitor.sessions() as session:
        assert sorted(session.scalars(select(Order.sku))) == ["SKU]0;PWNED[2J0", "SKU]0;PWNED[2J1", "SKU]0;PWNED[2J2"]
    with monitor.sessions.begin() as session:  # data an earlier version stored raw
        session.execute(text("UPDATE orders SET sku = :s, order_id = order_id || :e"), {"s": ESCAPES, "e": "\x1b[2J"})
        session.execute(text("UPDATE accounts SET key = :k"), {"k": f"acme{ESCAPES}"})
    env = env_of(monitor.settings, SLACK_WEBHOOK_URL=slack.url)
    for args in (["check", "--as-of", "2026-10-31"], ["metrics", "--explain", "lsr_10d", "--as-of", "2026-10-31"]):
        result = CliRunner().invoke(cli, args, env=env, color=False)
        assert "\x1b" not in result.output and "\x07" not in result.output, args
        assert "]0;PWNED" in result.output  # what is left of the data is shown, harmlessly
    (payload,) = slack.received
    assert all(not any(ord(c) < 32 and c != "\n" for c in s) for s in _strings(payload))
    assert payload["blocks"][0]["type"] == "header" and "\x1b" not in payload["blocks"][0]["text"]["text"]
    from monitor.alerts.message import Item, Message
    from monitor.domain import AlertLevel

    subject = words.subject(Message(f"a{ESCAPES}\r\nBcc: x@y.z", (), (Item(AlertLevel.CRITICAL, "firing"),)))
    assert all(ord(c) >= 32 for c in subject)


def test_debug_keeps_the_exit_codes(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "STALE_HOURS": "not a number"}
    for extra in ([], ["--debug"]):
        result = subprocess.run([EXE, "status", *extra], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (extra, result.stderr)
        assert "STALE_HOURS" in result.stderr


def test_a_snapshot_refresh_cut_short_is_done_by_the_next_import(monitor, tmp_path):
    """The state a kill -9 leaves between an import's commit and its refresh: the ledger says the
    refresh is still to do, and the next import (even of nothing new) does it."""
    path = shop(tmp_path)
    (result,) = import_paths(monitor.sessions, [path], monitor.settings, account="acme")  # no refresh after it
    with monitor.sessions() as session:
        assert session.get(ImportRecord, result.import_id).refreshed_at is None
        assert session.scalar(select(MetricSnapshot.id).limit(1)) is None
    run = monitor.import_paths([path], account="acme")
    assert [r.status for r in run.results] == ["duplicate"] and run.snapshots > 0
    with monitor.sessions() as session:
        assert session.get(ImportRecord, result.import_id).refreshed_at is not None
        assert session.scalar(select(MetricSnapshot.id).limit(1)) is not None


def test_a_failing_daemon_step_fails_run_once_and_shows_in_status(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "INBOX_DIR": str(tmp_path / "inbox"),
        "REPORTS_DIR": str(tmp_path / "reports"),
        "INBOX_SETTLE_SECONDS": "0.01",
    }
    subprocess.run([EXE, "init"], env=env, check=True, capture_output=True, timeout=60)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "garbage.csv").write_bytes(b"\x00\x01binary")
    once = subprocess.run([EXE, "run", "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert once.returncode == 1, once.stdout + once.stderr
    status = subprocess.run([EXE, "status", "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 1
    failing = json.loads(status.stdout)["failing_jobs"]
    assert list(failing) == ["import"] and "1 rejected" in failing["import"]
    clean = subprocess.run([EXE, "run", "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    status = subprocess.run([EXE, "status", "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(status.stdout)["failing_jobs"] == {}


# ------------------------------------------------------------------ delivery under faults
def test_killed_between_the_channel_accepting_and_the_outbox_marking_sent(tmp_path, slack):
    """The one message in flight at the kill may arrive twice; none is lost."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "REPORTS_DIR": str(tmp_path / "reports"),
        "SLACK_WEBHOOK_URL": slack.url,
    }
    subprocess.run([EXE, "init"], env=env, check=True, capture_output=True, timeout=60)
    subprocess.run(
        [EXE, "import", str(shop(tmp_path)), "--account", "acme", "--new-account"], env=env, check=True, timeout=120
    )
    check = subprocess.Popen([EXE, "check", "--as-of", "2026-10-31"], env=env, stdout=subprocess.PIPE, text=True)
    slack.on_accept = lambda _payload: os.kill(check.pid, signal.SIGKILL)  # accepted; the sender dies unanswered
    check.communicate(timeout=120)
    assert check.returncode == -signal.SIGKILL and len(slack.received) == 1
    slack.on_accept = None
    again = subprocess.run(
        [EXE, "check", "--as-of", "2026-10-31"], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stdout + again.stderr
    later = subprocess.run(
        [EXE, "check", "--as-of", "2026-10-31"], env=env, capture_output=True, text=True, timeout=120
    )
    assert later.returncode == 0
    subjects = [m["text"] for m in slack.received]
    lost = 1 - len(set(subjects))
    duplicates = len(subjects) - len(set(subjects))
    print(f"\nkilled in flight: {lost} lost, {duplicates} duplicate ({len(subjects)} received)")
    assert lost == 0 and duplicates == 1


def test_a_dead_slack_is_named_on_every_check_and_a_fixed_url_gets_the_missed_alert_once(shop_db_slack):
    monitor, slack, settings = shop_db_slack
    slack.script.append((404, "no_service", {}))
    first = _check(monitor, settings, 0)
    assert first.delivery.dead_notifiers == ["slack"] and first.failed and slack.received == []
    for hours in (1, 2):
        later = _check(monitor, settings, hours)
        assert later.delivery.dead_notifiers == ["slack"] and later.failed  # said on every run until fixed
        result = CliRunner().invoke(
            cli, ["check", "--as-of", "2026-10-31"], env=env_of(settings, SLACK_WEBHOOK_URL=slack.url)
        )
        assert "notifier slack is dead" in result.output and result.exit_code == 1
    fixed = reconfigured(settings, slack_webhook_url=slack.url.replace("secret-token-XYZ", "new-token"))
    revived = _check(monitor, fixed, 3)
    assert revived.delivery.dead_notifiers == [] and len(slack.received) == 1
    assert "CRITICAL" in slack.received[0]["text"]
    _check(monitor, fixed, 4)
    assert len(slack.received) == 1  # once


@pytest.fixture
def shop_db_slack(monitor, tmp_path, slack):
    monitor.import_paths([shop(tmp_path)], account="acme")
    return monitor, slack, reconfigured(monitor.settings, slack_webhook_url=slack.url)


def _check(monitor: Monitor, settings, hours: float):
    now = datetime.now(UTC) + timedelta(hours=hours)
    return Monitor(settings, monitor.sessions, monitor.http, lambda: now, None, lambda _s: None).check(AS_OF)


def test_a_performance_report_listing_thousands_of_marketplaces_is_rejected_at_once(monitor, tmp_path, reference):
    """The fuzz run's one "hang" (input 1677 of run 0): a 47 MB report whose 24,000 entries took
    44 s to store one by one. Amazon lists each marketplace once: more than 100 is not its report."""
    document = json.loads(
        (reference / "amazon" / "transcribed__GET_V2_SELLER_PERFORMANCE_REPORT_DE_excerpt.json").read_text()
    )
    document["performanceMetrics"] = document["performanceMetrics"] * 101
    path = write(tmp_path / "performance.json", json.dumps(document))
    (result,) = monitor.import_paths([path], account="acme").results
    assert result.status == "rejected" and "101 performanceMetrics entries" in result.error
    assert "\n" not in result.error
