"""Several daemons on one PostgreSQL database: real `account-health run` processes sharing the
accounts through leases; one killed with SIGKILL; its accounts taken over within two lease
periods; every alert delivered once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
from sqlalchemy import create_engine, text

from monitor.config import load_settings
from monitor.monitor import Monitor
from tests.conftest import shop

EXE = shutil.which("account-health") or str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "account-health")
LEASE = 4.0  # seconds: short, for the test
ACCOUNTS = [f"shop-{n}" for n in range(6)]


class Receiver:
    """A loopback webhook that keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.messages.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        Thread(target=self.server.serve_forever, daemon=True).start()


def held(url: str) -> dict[str, int]:
    """Live leases per owner."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT owner, count(*) FROM account_leases WHERE owner IS NOT NULL AND expires_at > now() AT TIME ZONE 'utc' GROUP BY owner"
            )
        ).all()
    engine.dispose()
    return {owner: n for owner, n in rows}


def wait_for(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_daemons_share_the_accounts_and_a_killed_one_is_taken_over(tmp_path, database_url):
    receiver = Receiver()
    base = {
        "DATABASE_URL": database_url,
        "WEBHOOK_URL": receiver.url,
        "LEASE_SECONDS": str(LEASE),
        "IMPORT_INTERVAL_MINUTES": "0.02",
        "STALE_HOURS": "100000",  # the shop's orders are from October: judge the metrics, not the age
        "PYTHONUNBUFFERED": "1",
    }
    settings = load_settings(environ={**base, "REPORTS_DIR": str(tmp_path / "r"), "INBOX_DIR": str(tmp_path / "i")})
    with Monitor.open(settings, migrate=True) as monitor:
        for key in ACCOUNTS:
            (tmp_path / key).mkdir()
            monitor.import_paths([shop(tmp_path / key)], account=key)

    def start(name: str) -> subprocess.Popen:
        env = {
            **os.environ,
            **base,
            "REPORTS_DIR": str(tmp_path / name / "reports"),
            "INBOX_DIR": str(tmp_path / name / "inbox"),
        }
        (tmp_path / name / "inbox").mkdir(parents=True)
        return subprocess.Popen([EXE, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    first = start("a")
    second = None
    try:
        wait_for(lambda: sorted(held(database_url).values()) == [6], 30, "the first daemon to hold every account")
        wait_for(lambda: len({m["account"] for m in receiver.messages}) == 6, 30, "one alert per account")
        second = start("b")
        wait_for(lambda: sorted(held(database_url).values()) == [3, 3], 30, "the accounts shared three and three")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        took = wait_for(lambda: sorted(held(database_url).values()) == [6], 4 * LEASE, "the takeover")
        print(f"\nkill -9 of one of two daemons: its 3 accounts taken over in {took:.1f} s (lease {LEASE:.0f} s)")
        assert took < 2 * LEASE
        time.sleep(3 * 0.02 * 60 + 1)  # the survivor's next cycles check the accounts it took over
        status = subprocess.run(
            [EXE, "status", "--format", "json"],
            env={
                **os.environ,
                **base,
                "REPORTS_DIR": str(tmp_path / "b" / "reports"),
                "INBOX_DIR": str(tmp_path / "b" / "inbox"),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        daemons = json.loads(status.stdout)["daemons"]
        alive = [d for d in daemons if d["alive"]]
        assert len(alive) == 1 and len(alive[0]["accounts"]) == 6 and len(daemons) == 2
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(20)
        receiver.server.shutdown()
        receiver.server.server_close()
    out = second.stdout.read() if second and second.stdout else ""
    for process in (first, second):
        if process is not None and process.stdout:
            process.stdout.close()
    accounts = [m["account"] for m in receiver.messages]
    assert sorted(accounts) == sorted(ACCOUNTS), (accounts, out)  # each once: none lost, none twice
    assert "leases: 6 accounts held" in out and "check: " in out.split("leases: 6 accounts held")[1]
