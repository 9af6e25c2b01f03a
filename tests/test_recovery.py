"""Every mistake recoverable, through the command line, with the database checked for what is
kept: a mistyped account, a file under the wrong account, a wrong mapping, an account to merge
or delete; and settings that tell the truth."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from monitor.cli import cli
from monitor.config import load_settings
from monitor.models import Account, AccountEvent, Defect, ImportRecord, Order, QuarantinedRow
from tests.conftest import env_of, shop, write

EXE = str(Path(sys.executable).parent / "account-health")


def invoke(settings, *args: str, **env: str):
    return CliRunner().invoke(cli, list(args), env=env_of(settings, **env))


def run(settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed command, for its exit codes (the entry point maps errors to 1 and 2)."""
    return subprocess.run(
        [EXE, *args], env={**os.environ, **env_of(settings, **env)}, capture_output=True, text=True, timeout=120
    )


def count(monitor, model, *where) -> int:
    with monitor.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_mistyped_account_is_refused_until_asked_for(monitor, tmp_path):
    path = shop(tmp_path)
    refused = run(monitor.settings, "import", str(path), "--account", "acme-su")
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0 and "--new-account creates it" in refused.stderr
    assert count(monitor, Account) == 0
    created = invoke(monitor.settings, "import", str(path), "--account", "acme-us", "--new-account")
    assert created.exit_code == 0 and count(monitor, Account) == 1


def test_the_same_file_under_the_right_account_and_a_forced_reimport(monitor, tmp_path):
    path = shop(tmp_path)
    invoke(monitor.settings, "import", str(path), "--account", "wrong", "--new-account")
    again = invoke(monitor.settings, "import", str(path), "--account", "right", "--new-account")
    assert again.exit_code == 0 and "already imported" not in again.output  # another account: not a duplicate
    same = invoke(monitor.settings, "import", str(path), "--account", "right")
    assert "already imported" in same.output
    forced = invoke(monitor.settings, "import", str(path), "--account", "right", "--force")
    assert forced.exit_code == 0 and "(25 skipped)" in forced.output
    assert count(monitor, ImportRecord) == 3  # the duplicate leaves no row; the forced import does


def test_account_rename_merge_and_delete(monitor, tmp_path):
    header = "order_id,purchase_date,fulfillment_channel,order_status,shipped_at,carrier\n"
    invoke(
        monitor.settings,
        "import",
        str(write(tmp_path / "a.csv", header + "A-1,2026-10-01,MFN,Shipped,,\nA-2,2026-10-01,MFN,Shipped,,UPS\n")),
        "--account",
        "acme",
        "--new-account",
    )
    invoke(
        monitor.settings,
        "import",
        str(
            write(
                tmp_path / "b.csv",
                header + "A-1,2026-10-01,MFN,Shipped,2026-10-02T10:00:00Z,DHL\nB-1,2026-10-02,AFN,Shipped,,\n",
            )
        ),
        "--account",
        "acme-typo",
        "--new-account",
    )
    defects = "order_id,defect_type,received_at,status\nB-1,a_to_z_claim,2026-10-20,open\n"
    invoke(monitor.settings, "import", str(write(tmp_path / "d.csv", defects)), "--account", "acme-typo")
    listed = invoke(monitor.settings, "account", "list", "--format", "json")
    assert [(a["key"], a["orders"]) for a in json.loads(listed.output)] == [("acme", 2), ("acme-typo", 2)]
    assert invoke(monitor.settings, "account", "rename", "acme", "acme-us").exit_code == 0
    merged = invoke(monitor.settings, "account", "merge", "acme-typo", "acme-us")
    assert merged.exit_code == 0 and "merged acme-typo into acme-us: 2 orders, 1 defects" in merged.output
    with monitor.sessions() as session:
        (account,) = session.scalars(select(Account))
        orders = {o.order_id: o for o in session.scalars(select(Order))}
        assert session.scalar(select(Defect.account_id)) == account.id
    assert account.key == "acme-us" and sorted(orders) == ["A-1", "A-2", "B-1"]
    # the order both held: the newer import's values win, the older fills its gaps
    assert orders["A-1"].carrier == "DHL" and orders["A-1"].shipped_at is not None
    refused = invoke(monitor.settings, "account", "delete", "acme-us")
    assert refused.exit_code == 2 and "--yes" in refused.stderr and count(monitor, Order) == 3
    deleted = invoke(monitor.settings, "account", "delete", "acme-us", "--yes")
    assert deleted.exit_code == 0 and count(monitor, Order) == 0 and count(monitor, Defect) == 0
    with monitor.sessions() as session:
        events = [
            (e.action, e.account_key, e.other_key, json.loads(e.detail or "{}"))
            for e in session.scalars(select(AccountEvent).order_by(AccountEvent.id))
        ]
    assert [e[:3] for e in events] == [
        ("rename", "acme", "acme-us"),
        ("merge", "acme-typo", "acme-us"),
        ("delete", "acme-us", None),
    ]
    assert events[2][3]["orders"] == 3 and events[2][3]["defects"] == 1
    assert count(monitor, ImportRecord) == 3  # the ledger of imports stays


MAPPING = """
name = "{name}"
target = "orders"
[constants]
order_status = "Shipped"
[columns]
order_id = "Order"
purchase_date = "Date"
[columns.fulfillment_channel]
source = "Fulfilled by"
values = {{ {values} }}
"""


def test_quarantined_rows_are_listed_shown_and_read_again_with_a_fixed_mapping(monitor, tmp_path):
    export = "Order,Date,Fulfilled by\nQ-1,2026-10-01,Amazon\nQ-2,2026-10-01,Seller\nQ-3,2026-10-02,Seller\nQ-4,2026-10-03,Robot\n"
    wrong = write(tmp_path / "wrong.toml", MAPPING.format(name="mine", values='Amazon = "AFN"'))
    first = invoke(
        monitor.settings,
        "import",
        str(write(tmp_path / "x.csv", export)),
        "--mapping",
        str(wrong),
        "--account",
        "acme",
        "--new-account",
    )
    assert first.exit_code == 0 and "3 quarantined" in first.output
    listed = invoke(monitor.settings, "quarantine", "list")
    assert "#     1       3  acme" in listed.output and "unknown fulfillment_channel" in listed.output
    shown = invoke(monitor.settings, "quarantine", "show", "1")
    assert "line 3: unknown fulfillment_channel 'Seller'" in shown.output and "Q-2,2026-10-01,Seller" in shown.output
    fixed = write(tmp_path / "fixed.toml", MAPPING.format(name="mine", values='Amazon = "AFN", Seller = "MFN"'))
    retried = invoke(monitor.settings, "quarantine", "retry", "1", "--mapping", str(fixed))
    assert retried.exit_code == 0 and "3 rows read, 2 inserted, 0 updated, 1 quarantined" in retried.output
    with monitor.sessions() as session:
        assert sorted(session.scalars(select(Order.order_id))) == ["Q-1", "Q-2", "Q-3"]
        left = [(q.import_id, q.line_number, q.raw) for q in session.scalars(select(QuarantinedRow))]
    assert left == [(2, 5, "Q-4,2026-10-03,Robot")]  # still bad, under the retry, at its line of the file


def test_a_file_with_nothing_imported_exits_1_and_a_rejection_is_one_line(monitor, tmp_path):
    header = "order_id,purchase_date,fulfillment_channel,order_status\n"
    bad = write(tmp_path / "bad.csv", header + "X-1,not a date,MFN,Shipped\nX-2,2026-10-01,ROBOT,Shipped\n")
    result = run(monitor.settings, "import", str(bad))
    assert result.returncode == 1 and "2 quarantined" in result.stderr and "quarantine show" in result.stderr
    junk = write(tmp_path / "junk.csv", "nothing,we,know\n1,2,3\n")
    rejected = run(monitor.settings, "import", str(junk))
    assert rejected.returncode == 1
    assert rejected.stderr.strip().splitlines() == [
        "junk.csv: rejected: unknown format: no known report has the header nothing, we, know"
    ]


def test_settings_tell_the_truth(tmp_path, caplog):
    env_file = write(
        tmp_path / ".env", "SLACK_WEBHOK_URL=https://hooks.slack.com/x\nSTALE_HOURS=30\nMY_OWN_THING=1\nlowercase=ok\n"
    )
    caplog.set_level(logging.WARNING)
    settings = load_settings(env_file, environ={"DATABASE_URL": "postgres://u@db.example.com:5432/shop"})
    assert settings.database_url == "postgresql+psycopg://u@db.example.com:5432/shop"
    lines = [r.getMessage() for r in caplog.records]
    assert "settings file: unknown setting SLACK_WEBHOK_URL ignored (did you mean SLACK_WEBHOOK_URL?)" in lines
    assert any("unknown setting MY_OWN_THING" in line for line in lines)
    assert not any("lowercase" in line for line in lines) and settings.stale_hours == 30


def test_a_future_as_of_is_refused_and_status_sees_a_command_check(monitor, tmp_path):
    monitor.import_paths([shop(tmp_path)], account="acme")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    future = invoke(monitor.settings, "metrics", "--as-of", tomorrow)
    assert future.exit_code == 2 and "in the future" in future.stderr
    before = json.loads(invoke(monitor.settings, "status", "--format", "json").output)
    assert before["last_check"] is None
    invoke(monitor.settings, "check", "--as-of", "2026-10-31")
    after = json.loads(invoke(monitor.settings, "status", "--format", "json").output)
    assert after["last_check"] is not None


def test_a_half_configured_selling_partner_api_is_a_configuration_error(monitor):
    result = run(monitor.settings, "sync", SPAPI_REFRESH_TOKEN="Atzr|x", SPAPI_MARKETPLACE_IDS="ATVPDKIKX0DER")
    assert result.returncode == 2 and "SPAPI_CLIENT_ID and SPAPI_CLIENT_SECRET" in result.stderr


@pytest.fixture(autouse=True)
def _quiet(caplog):
    caplog.set_level(logging.ERROR, logger="monitor.ingest")
