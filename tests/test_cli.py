from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli

ORDERS = (
    "order_id,purchase_date,fulfillment_channel,order_status\nA-1,2026-10-01,MFN,Shipped\nA-2,2026-10-01,AFN,Shipped\n"
)


def run(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def test_import_before_init_tells_the_user_to_run_init(tmp_path):
    (tmp_path / "o.csv").write_text(ORDERS)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "import", str(tmp_path / "o.csv")],
        env={**os.environ, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: the database is empty: run `account-health init` first"


def test_init_then_import_as_a_user_types_it(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    exe = Path(sys.executable).parent / "account-health"
    for args, expected in (
        (["init"], "database upgraded from empty to revision"),
        (["import", str(orders)], "orders.csv: orders, 2 rows read, 2 inserted, 0 updated, 0 quarantined"),
        (["import", str(orders)], "orders.csv: already imported (import #1), nothing changed"),
        (["init"], "database is up to date"),
    ):
        done = subprocess.run([str(exe), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout


def test_a_rejected_file_exits_1_and_the_others_still_import(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    (tmp_path / "good.csv").write_text(ORDERS)
    (tmp_path / "bad.csv").write_bytes(b"\x00\x01\x02")
    assert run(["init"], env).exit_code == 0
    result = run(["import", str(tmp_path / "bad.csv"), str(tmp_path / "good.csv"), "--output", "json"], env)
    assert result.exit_code == 1
    reports = {Path(r["file"]).name: r for r in json.loads(result.stdout)}
    assert reports["bad.csv"]["status"] == "rejected" and "binary" in reports["bad.csv"]["error"]
    assert reports["good.csv"]["inserted"] == 2


def test_account_option_and_env_file(tmp_path):
    env_file = tmp_path / "my.env"
    env_file.write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'm.db'}\n")
    (tmp_path / "o.csv").write_text(ORDERS)
    assert run(["init", "--env-file", str(env_file)], {}).exit_code == 0
    result = run(
        ["import", str(tmp_path / "o.csv"), "--account", "acme-us", "--new-account", "--env-file", str(env_file)], {}
    )
    assert result.exit_code == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "m.db") as connection:
        assert connection.execute("select key from accounts").fetchall() == [("acme-us",)]


def test_unknown_format_name_is_a_usage_error(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    (tmp_path / "o.csv").write_text(ORDERS)
    run(["init"], env)
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "import", str(tmp_path / "o.csv"), "--format", "xml"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: --format xml: unknown format")
    assert "Traceback" not in done.stderr
