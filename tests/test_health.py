"""Metrics of stored data: the database, the CLI, snapshots, drill-down, Amazon's figures."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import select

from monitor import amazon, health
from monitor.cli import cli
from monitor.ingest import import_file
from monitor.metrics import Targets
from monitor.models import Account, MetricSnapshot
from monitor.present.jsonout import to_json
from tests.conftest import ORDERS_HEADER as ORDERS
from tests.conftest import env_of, import_orders_and_claims, shop, write

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def test_metrics_of_stored_orders(sessions, settings, tmp_path):
    import_file(sessions, shop(tmp_path), settings, account="acme")
    targets = Targets.from_settings(settings)
    with sessions() as session:
        values = {(v.metric, v.channel): v for v in health.current(session, targets, AS_OF)}
        later = {(v.metric, v.channel): v for v in health.current(session, targets, AS_OF + timedelta(days=10))}
    lsr = values[("lsr_10d", "mfn")]
    assert (lsr.numerator, lsr.denominator, lsr.status, lsr.marketplace) == (3, 23, "critical", "unknown")
    cr = values[("cr_7d", "mfn")]
    assert (cr.numerator, cr.denominator) == (1, 24)
    # VTR's window ends 10 days before the report day: these shipments enter it ten days later
    assert values[("vtr_30d", "mfn")].status == "no_data"
    vtr = later[("vtr_30d", "mfn")]
    assert (vtr.numerator, vtr.denominator) == (21, 22)
    assert values[("otdr_14d", "mfn")].status == "no_data"
    # no feedback or claims were imported: ODR cannot be judged, never a green 0 %
    assert values[("odr", "afn")].status == "no_data" and values[("odr", "mfn")].status == "no_data"
    assert "no feedback or claims imported" in values[("odr", "mfn")].no_data_reason


def test_metrics_cli_json_history_and_explain(sessions, settings, tmp_path):
    import_file(sessions, shop(tmp_path), settings, account="acme")
    env = env_of(settings)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["metrics", "--account", "acme", "--as-of", "2026-10-31", "--format", "json"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    values = json.loads(result.output)
    assert len(values) == 7
    lsr = next(v for v in values if v["metric"] == "lsr_10d")
    assert lsr["as_of"] == "2026-11-01T00:00:00+00:00" and lsr["window_start"] == "2026-10-22T00:00:00+00:00"
    assert (lsr["numerator"], lsr["denominator"], lsr["limit"], lsr["direction"]) == (3, 23, 0.04, "max")
    history = json.loads(
        runner.invoke(cli, ["metrics", "--as-of", "2026-10-31", "--history", "5", "--format", "json"], env=env).output
    )
    assert len(history) == 5 * 7
    assert [v["as_of"][:10] for v in history if v["metric"] == "lsr_10d"] == [
        "2026-10-28",
        "2026-10-29",
        "2026-10-30",
        "2026-10-31",
        "2026-11-01",
    ]
    explained = runner.invoke(
        cli, ["metrics", "--explain", "lsr_10d", "--account", "acme", "--as-of", "2026-10-31"], env=env
    )
    assert explained.exit_code == 0
    assert "3 orders count against Late Shipment Rate (10 days)" in explained.output
    assert "LATE-1" in explained.output and "shipped 10 h after the expected ship date" in explained.output
    assert "OPEN-1" in explained.output and "not confirmed, 24 h past the expected ship date" in explained.output
    table = runner.invoke(cli, ["metrics", "--as-of", "2026-10-31"], env=env).output
    assert "CRITICAL" in table and "3 late of 23 shipments" in table
    bad = runner.invoke(cli, ["metrics", "--explain", "nope"], env=env)
    assert bad.exit_code != 0


def test_late_claim_changes_the_stored_history_from_when_it_arrived(sessions, settings, tmp_path):
    today = date(2026, 11, 1)
    import_file(sessions, shop(tmp_path), settings, account="acme")
    old = "".join(f"OLD-{n},2026-09-20T10:00:00Z,MFN,Shipped,,,,,,,MUG\n" for n in range(40))
    import_file(sessions, write(tmp_path / "old.csv", ORDERS + old), settings, account="acme")
    import_file(
        sessions, write(tmp_path / "none.csv", "order_id,defect_type,received_at,status\n"), settings, account="acme"
    )  # a defects file with nothing in it: ODR can be judged, and is 0
    targets = Targets.from_settings(settings)
    with sessions.begin() as session:
        account_id = session.scalar(select(Account.id))
        health.refresh_snapshots(session, targets, [account_id], 20, today)
    before = _odr(sessions)
    assert set(before.values()) == {0}
    claims = write(
        tmp_path / "claims.csv",
        "order_id,defect_type,received_at,status\nOLD-3,a_to_z_claim,2026-10-27T08:00:00Z,open\n",
    )
    import_file(sessions, claims, settings, account="acme")
    with sessions.begin() as session:
        health.refresh_snapshots(session, targets, [account_id], 20, today)
    after = _odr(sessions)
    assert len(after) == 20
    changed = sorted(day for day in after if after[day] != before[day])
    # the order was bought on 09-20 (in Amazon's lagged window all along): its claim counts from the 27th
    assert changed == [date(2026, 10, 27) + timedelta(days=k) for k in range(5)]  # 27th (received) .. 31st


def _odr(sessions) -> dict[date, int]:
    with sessions() as session:
        rows = session.execute(
            select(MetricSnapshot.day, MetricSnapshot.numerator).where(
                MetricSnapshot.metric == "odr", MetricSnapshot.channel == "mfn"
            )
        )
        return dict(rows.all())


def test_import_refreshes_snapshots_of_the_accounts_it_changed(tmp_path):
    from monitor.config import load_settings
    from monitor.monitor import Monitor

    settings = load_settings(environ={"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "SNAPSHOT_DAYS": "30"})
    with Monitor.open(settings, migrate=True) as monitor:
        run = monitor.import_paths([shop(tmp_path)], account="acme")
        with monitor.sessions() as session:
            days = set(session.scalars(select(MetricSnapshot.day)))
    assert len(days) == 30 and run.snapshots == len(days) * 7


def test_amazon_figures_beside_ours_over_amazons_range(sessions, settings, reference, tmp_path):
    # the DE excerpt: ODR for MFN over 2026-08-26 .. 2026-09-24 counts 11 orders
    rows = [f"302-{n},2026-09-{1 + n:02d}T10:00:00Z,MFN,Shipped,,,,,true,DHL,S" for n in range(10)]
    rows.append("302-x,2026-08-26T00:00:00Z,MFN,Shipped,,,,,true,DHL,S")  # first instant of the range: in
    rows.append("302-y,2026-09-25T00:00:00Z,MFN,Shipped,,,,,true,DHL,S")  # after 23:59:59 on the 24th: out
    import_file(
        sessions,
        write(
            tmp_path / "de.csv",
            ORDERS.replace("\n", ",marketplace\n") + "\n".join(r + ",amazon.de" for r in rows) + "\n",
        ),
        settings,
        account="bolt",
    )
    import_file(
        sessions,
        reference / "amazon" / "transcribed__GET_V2_SELLER_PERFORMANCE_REPORT_DE_excerpt.json",
        settings,
        account="bolt",
    )
    with sessions() as session:
        rows = {(c.metric, c.channel): c for c in amazon.compare_with_amazon(session, Targets.from_settings(settings))}
    odr = rows[("odr", "mfn")]
    assert (odr.amazon_denominator, odr.denominator) == (11, 11)
    assert odr.date_from == datetime(2026, 8, 26, tzinfo=UTC) and odr.date_to == datetime(2026, 9, 25, tzinfo=UTC)
    vtr = rows[("vtr_30d", "mfn")]
    assert (vtr.amazon_denominator, vtr.denominator, vtr.denominator_difference) == (7, 0, -7)
    result = CliRunner().invoke(cli, ["metrics", "--amazon", "--format", "json"], env=env_of(settings))
    assert result.exit_code == 0 and any(r["metric"] == "odr" for r in json.loads(result.output))


def test_amazon_example_document_compares_without_orders(sessions, settings, reference):
    import_file(sessions, reference / "amazon" / "accountHealthReport-example.json", settings, account="us")
    with sessions() as session:
        rows = amazon.compare_with_amazon(session, Targets.from_settings(settings))
    lsr = [r for r in rows if r.metric == "lsr_30d"]
    assert lsr and lsr[0].amazon_numerator == 27896 and lsr[0].denominator == 0
    assert lsr[0].count_difference == -27896


def test_loading_only_recent_orders_gives_the_same_results_as_loading_everything(sessions, settings, tmp_path):
    rows = []
    start = datetime(2025, 9, 1, tzinfo=UTC)
    for n in range(450):  # 450 days of orders; only the old ones carry a ship confirmation
        bought = start + timedelta(days=n, hours=n % 24)
        ship_by = bought + timedelta(days=2)
        shipped = (ship_by + timedelta(hours=10 if n % 7 == 0 else -10)).isoformat() if n < 300 else ""
        rows.append(
            f"H-{n},{bought.isoformat()},{'MFN' if n % 5 else 'AFN'},{'Shipped' if shipped else 'Unshipped'},"
            f"{ship_by.isoformat()},{shipped},,,{'true' if n % 9 else 'false'},UPS,S"
        )
    claims = [f"H-{n},{(start + timedelta(days=n + 9)).isoformat()}" for n in range(0, 450, 37)]
    import_orders_and_claims(sessions, settings, tmp_path, rows, claims)
    targets = Targets.from_settings(settings)
    as_of = datetime(2026, 11, 20, tzinfo=UTC)
    with sessions() as session:
        account = session.scalars(select(Account)).one()
        full = health.load(session, account, targets)
        recent = health.load(session, account, targets, since=health.since_for(as_of, 30))
        assert len(recent.orders) < len(full.orders) / 2  # the point: most of the history is not loaded
        from monitor import metrics as m

        expected = [
            to_json(v) for v in m.history(full.orders, full.defects, as_of, 30, targets, "acme", facts=full.facts)
        ]
        assert [to_json(v) for v in health.current(session, targets, as_of, days=30)] == expected
        expected_now = [
            to_json(v) for v in m.evaluate(full.orders, full.defects, as_of, targets, "acme", facts=full.facts)
        ]
        assert [to_json(v) for v in health.current(session, targets, as_of)] == expected_now
    lsr = next(v for v in expected_now if v["metric"] == "lsr_10d")
    # ship confirmations stopped 150 days before the newest order: the recent unconfirmed orders are not
    # known to be late (a feed that stopped is no breach); the check raises a data-gap alert instead
    assert lsr["status"] == "no_data" and "coverage 0%" in lsr["no_data_reason"]
    assert lsr["sources"]["ship_confirmations"].startswith("2026-06-")


def test_the_database_computes_the_same_order_flags_as_the_frame_path(sessions, settings, tmp_path):
    """FLAGS_SQL (what loading asks the database for) and flags_of (what a plain frame gets) read
    one table; every combination of the few-valued fields gives the same bits both ways, and
    the metrics of the stored orders are the same from either."""
    import itertools

    from monitor import counting as cnt
    from monitor.accounts import require_account

    header = "order_id,purchase_date,fulfillment_channel,order_status,cancelled_by,buyer_requested_cancel,tracking_id,tracking_valid\n"
    values = itertools.product(
        ("MFN", "AFN"),
        ("Shipped", "Canceled", "Unshipped"),
        ("seller", "buyer", "amazon", ""),
        ("true", "false", ""),
        ("1Z999", ""),
        ("true", "false", ""),
    )
    rows = [f"O-{n},2026-10-25T10:00:00Z,{','.join(v)}" for n, v in enumerate(values)]
    import_file(sessions, write(tmp_path / "o.csv", header + "\n".join(rows) + "\n"), settings, account="acme")
    targets = Targets.from_settings(settings)
    with sessions() as session:
        account = require_account(session, "acme")
        detail = health.load(session, account, targets, health.DETAIL_FIELDS)
    frame = detail.orders.drop(columns=[cnt.FLAGS])
    assert len(frame) == 2 * 3 * 4 * 3 * 2 * 3
    assert (cnt.flags_of(frame) == detail.orders[cnt.FLAGS].to_numpy(dtype="int64")).all()
    by_sql = cnt.prepare(detail.orders)
    by_frame = cnt.prepare(frame)
    for name in (
        "channel",
        "shipped_status",
        "pre_fulfilment",
        "cancelled_by",
        "buyer_requested",
        "valid_known",
        "valid",
        "has_tracking_id",
    ):
        assert (getattr(by_sql, name) == getattr(by_frame, name)).all(), name
    assert (
        set(by_sql.cancelled_by) == {"", "seller", "buyer", "amazon"}
        and by_sql.valid.any()
        and by_sql.buyer_requested.any()
    )


def test_accounts_loaded_ahead_in_a_thread_give_the_values_of_one_load_after_another(monitor, tmp_path, monkeypatch):
    """`current` loads and counts the next account in a thread while it works on one: the values
    are those of evaluating each account when it comes, and a load that fails in the thread is
    that account's fault alone, reported when its turn comes."""
    import threading

    from monitor.accounts import AccountFault

    for n, key in enumerate(("acme", "bolt", "cove")):
        (tmp_path / key).mkdir()
        path = shop(tmp_path / key)
        extra = "".join(
            f"X{n}-{i},2026-10-2{i}T10:00:00Z,MFN,Shipped,2026-10-27T23:59:59Z,2026-10-29T10:00:00Z,,,true,UPS,MUG\n"
            for i in range(n)
        )
        path.write_text(path.read_text() + extra)
        monitor.import_paths([path], account=key)
    targets = Targets.from_settings(monitor.settings)
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    real = health.load
    threads: dict[str, str] = {}

    def recorded(session, account, *args, **kwargs):
        threads[account.key] = threading.current_thread().name
        if account.key == "bolt" and fail:
            raise ValueError("bolt's rows cannot be read")
        return real(session, account, *args, **kwargs)

    monkeypatch.setattr(health, "load", recorded)
    fail = False
    with monitor.sessions() as session:
        ahead = [to_json(v) for v in health.current(session, targets, as_of, days=3)]
    assert threads["acme"] == "MainThread" and threads["bolt"].startswith("ahead")
    assert threads["cove"].startswith("ahead")
    monkeypatch.setattr(health, "_in_memory", lambda _engine: True)  # no thread: each loaded when it comes
    with monitor.sessions() as session:
        one_by_one = [to_json(v) for v in health.current(session, targets, as_of, days=3)]
    assert set(threads.values()) == {"MainThread"}
    assert ahead == one_by_one and {v["account"] for v in ahead} == {"acme", "bolt", "cove"}
    lsr = {
        v["account"]: v["numerator"] for v in ahead if v["metric"] == "lsr_10d" and v["as_of"].startswith("2026-11-01")
    }
    assert lsr == {"acme": 3, "bolt": 4, "cove": 5}  # each account's own rows, not its neighbour's
    monkeypatch.undo()
    monkeypatch.setattr(health, "load", recorded)
    fail = True
    faults: list[AccountFault] = []
    with monitor.sessions() as session:
        values = health.current(session, targets, as_of, faults=faults)
    assert [f.account for f in faults] == ["bolt"] and "cannot be read" in faults[0].error
    assert {v.account for v in values} == {"acme", "cove"} and threads["bolt"].startswith("ahead")
