"""The daemon as a user runs it: a real subprocess, real files, loopback Slack and SMTP, signals."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import db
from monitor.config import load_settings
from monitor.inbox import import_inbox_once, settled_files

EXE = str(Path(sys.executable).parent / "account-health")
HEADER = "order_id,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at,tracking_valid,sku\n"


def late_orders(count: int = 40, late: int = 6) -> str:
    """Orders due over the last days, `late` of them shipped a day late: LSR is critical now; and
    an FBA order an hour ago (the account's data is fresh)."""
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        ship_by = now - timedelta(days=1 + n % 8, hours=2)
        shipped = ship_by + timedelta(hours=20 if n < late else -10)
        rows.append(
            f"D-{n},{(ship_by - timedelta(days=2)).isoformat()},MFN,Shipped,{ship_by.isoformat()},"
            f"{shipped.isoformat()},true,SKU-{n % 3}"
        )
    rows.append(f"FRESH-1,{(now - timedelta(hours=1)).isoformat()},AFN,Pending,,,,S")  # the data is fresh
    return HEADER + "\n".join(rows) + "\n"


# ------------------------------------------------------------------ the inbox, alone
def test_only_settled_files_inside_the_inbox_are_taken(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    old = time.time() - 60
    for name in ("ready.csv", "writing.csv.part", ".hidden.csv"):
        (inbox / name).write_text("x")
        os.utime(inbox / name, (old, old))
    (inbox / "fresh.csv").write_text("x")  # modified just now: still being written
    outside = tmp_path / "secret.csv"
    outside.write_text("x")
    os.utime(outside, (old, old))
    (inbox / "link-out.csv").symlink_to(outside)
    ready, waiting, refused = settled_files(inbox, 10)
    assert [p.name for p in ready] == ["ready.csv"]
    assert sorted(waiting) == [".hidden.csv", "fresh.csv", "writing.csv.part"]
    assert [r.path.name for r in refused] == ["link-out.csv"]


def test_imported_files_move_to_processed_and_rejected_ones_keep_their_reason(tmp_path):
    settings = load_settings(
        environ={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
            "INBOX_DIR": str(tmp_path / "inbox"),
            "INBOX_SETTLE_SECONDS": "0.01",
        }
    )
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    content = late_orders()
    (inbox / "orders.csv").write_text(content)
    (inbox / "copy.csv").write_text(content)  # the same bytes: already known
    (inbox / "garbage.bin").write_bytes(b"\x00\x01\x02")
    time.sleep(0.05)
    result = import_inbox_once(db.session_factory(engine), settings)
    engine.dispose()
    assert sorted(r.status for r in result.results) == ["duplicate", "ok", "rejected"]
    assert [p.name for p in inbox.iterdir() if p.is_file()] == []
    processed = sorted(p.name for p in (inbox / "processed").iterdir())
    rejected = sorted(p.name for p in (inbox / "rejected").iterdir())
    assert len(processed) == 2 and len(rejected) == 2
    reason = next(p for p in (inbox / "rejected").iterdir() if p.name.endswith(".reason.txt"))
    assert "binary file" in reason.read_text()


def test_one_daemon_lock_per_database(database_url):
    from monitor.daemon import AlreadyRunning, DaemonLock

    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL: several daemons share the accounts through leases (tests/test_fleet.py)")
    first, second = db.make_engine(database_url), db.make_engine(database_url)
    held = DaemonLock(first)
    held.acquire()
    try:
        with pytest.raises(AlreadyRunning, match="another daemon already runs on this database"):
            DaemonLock(second).acquire()
    finally:
        held.release()
    again = DaemonLock(second)
    again.acquire()  # free once released (or once its process died)
    again.release()
    first.dispose()
    second.dispose()


# ------------------------------------------------------------------ the real daemon
def daemon_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "INBOX_DIR": str(tmp_path / "inbox"),
        "REPORTS_DIR": str(tmp_path / "reports"),
        "IMPORT_INTERVAL_MINUTES": "0.03",
        "INBOX_SETTLE_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    subprocess.run([EXE, "init"], env=env, check=True, capture_output=True, timeout=60)
    (tmp_path / "inbox").mkdir(exist_ok=True)
    return env


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_end_to_end_files_in_alerts_out_then_sigterm(tmp_path, slack, smtp, free_port):
    server = smtp(free_port)
    env = daemon_env(
        tmp_path,
        SLACK_WEBHOOK_URL=slack.url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(free_port),
        SMTP_SECURITY="none",
        ALERT_EMAIL_FROM="monitor@example.com",
        ALERT_EMAIL_TO="owner@example.com",
    )
    process = subprocess.Popen([EXE, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        (tmp_path / "inbox" / "orders.csv").write_text(late_orders())
        wait_for(lambda: slack.received and server.inbox.messages, 30, "the alert on Slack and by e-mail")
        wait_for(lambda: (tmp_path / "reports" / "index.html").exists(), 10, "the dashboards")
        status = subprocess.run(
            [EXE, "status", "--format", "json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert json.loads(status.stdout)["daemon"] == "running"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
    assert "CRITICAL" in slack.received[0]["text"]
    assert "import: 1 files (1 imported" in out and "check: " in out and "dashboards: " in out
    assert "daemon stopped" in out
    assert slack.url not in out + err and "secret-token-XYZ" not in out + err
    assert list((tmp_path / "inbox" / "processed").iterdir())


def test_a_second_daemon_on_the_same_database_exits_at_once(tmp_path):
    env = daemon_env(tmp_path)
    first = subprocess.Popen([EXE, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(
            lambda: (
                json.loads(
                    subprocess.run(
                        [EXE, "status", "--format", "json"], env=env, capture_output=True, text=True, timeout=60
                    ).stdout
                )["daemon"]
                == "running"
            ),
            30,
            "the first daemon",
        )
        started = time.monotonic()
        second = subprocess.run([EXE, "run"], env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1 and time.monotonic() - started < 10
        assert "another daemon already runs on this database" in second.stderr
        assert f"pid {first.pid}" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=10)
    assert first.returncode == 0


def test_kill_9_during_an_import_leaves_the_database_consistent_and_the_file_is_imported_next_time(tmp_path):
    env = daemon_env(tmp_path, INBOX_SETTLE_SECONDS="0.01")
    rows = 1_000_000  # an import of about 10 s on a 2-core machine
    big = tmp_path / "big.csv"
    now = datetime.now(UTC).replace(microsecond=0)
    times = ",".join(
        t.isoformat() for t in (now - timedelta(hours=2), now + timedelta(days=2), now - timedelta(hours=1))
    )
    with big.open("w") as handle:  # fresh orders: the run after the kill has nothing stale to report
        handle.write(HEADER)
        for n in range(rows):
            handle.write(
                f"K-{n},{times.split(',')[0]},MFN,Shipped,{times.split(',')[1]},{times.split(',')[2]},true,S\n"
            )
    big.rename(tmp_path / "inbox" / "big.csv")
    wal = tmp_path / "m.db-wal"
    before = wal.stat().st_size if wal.exists() else 0
    process = subprocess.Popen([EXE, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # kill only once the import is observably under way: its transaction grows the write-ahead log
    wait_for(lambda: wal.exists() and wal.stat().st_size > before + 8 * 1024 * 1024, 60, "the import to write")
    assert process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)
    database = tmp_path / "m.db"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT count(*) FROM orders").fetchone() == (0,)  # nothing half-imported
    assert (tmp_path / "inbox" / "big.csv").exists()
    again = subprocess.run([EXE, "run", "--once"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM orders").fetchone() == (rows,)
        assert connection.execute("SELECT status FROM imports").fetchall() == [("ok",)]
    assert not (tmp_path / "inbox" / "big.csv").exists()


def test_status_exits_1_when_no_daemon_runs_and_0_when_all_is_fresh(tmp_path):
    env = daemon_env(tmp_path)
    never = subprocess.run([EXE, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert never.returncode == 1 and "daemon: never" in never.stdout
    (tmp_path / "inbox" / "orders.csv").write_text(late_orders())
    time.sleep(0.3)
    process = subprocess.Popen([EXE, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(
            lambda: subprocess.run([EXE, "status"], env=env, capture_output=True, timeout=60).returncode == 0,
            30,
            "status to turn OK",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    stopped = subprocess.run([EXE, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 1 and "daemon: stopped" in stopped.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="the systemd unit is for Linux")
def test_systemd_unit_is_shipped_with_the_required_settings():
    unit = (Path(__file__).resolve().parents[1] / "deploy" / "account-health.service").read_text()
    for line in (
        "Type=exec",
        "Restart=on-failure",
        "RestartSec=",
        "EnvironmentFile=",
        "ExecStart=",
        "KillSignal=SIGTERM",
    ):
        assert line in unit
