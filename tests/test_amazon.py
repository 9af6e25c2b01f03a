"""Amazon's own report as the yardstick: its windows rebuilt exactly, its figures beside ours at
its own time, lags learned per marketplace, the newest report by its day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.present.jsonout import to_json
from tests.conftest import env_of, write

HEADER = (
    "order_id,marketplace,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at,"
    "tracking_id,tracking_valid,latest_delivery_date,delivered_at,quantity\n"
)
# Amazon's official example (accountHealthReport-2020-11-18.json): the ranges of each metric,
# inclusive as Amazon writes them
AMAZON_RANGES = {
    "odr": ("2020-09-06", "2020-11-04"),
    "lsr_30d": ("2020-10-21", "2020-11-19"),
    "cr_7d": ("2020-11-12", "2020-11-18"),
    "vtr_30d": ("2020-10-11", "2020-11-09"),
    "otdr_14d": ("2020-10-11", "2020-11-09"),
}


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def edges(first: str, last: str) -> list[tuple[str, datetime, bool]]:
    """Orders at the edges of an inclusive range: (id suffix, time, inside)."""
    start, end = day(first), day(last) + timedelta(days=1)
    return [
        ("first", start, True),
        ("before", start - timedelta(seconds=1), False),
        ("last", end - timedelta(seconds=1), True),
        ("after", end, False),
    ]


def orders_for_every_window() -> str:
    """Orders (and their shipments and deliveries) placed on the edges of each of Amazon's windows."""
    rows = []
    for name, (first, last) in AMAZON_RANGES.items():
        for suffix, moment, _ in edges(first, last):
            t = moment.isoformat()
            if name == "odr":  # anchored on the purchase; FBA, so that the MFN orders of the others stay apart
                rows.append(f"{name}-{suffix},amazon.com,{t},AFN,Shipped,,,,,,,1")
            elif name == "cr_7d":  # anchored on the purchase
                rows.append(f"{name}-{suffix},amazon.com,{t},MFN,Shipped,,,,,,,1")
            elif name == "lsr_30d":  # on the ship-by date (bought well before: out of the CR window; promised
                bought = (moment - timedelta(days=10)).isoformat()  # long after: out of the VTR window)
                promised = (moment + timedelta(days=40)).isoformat()
                rows.append(f"{name}-{suffix},amazon.com,{bought},MFN,Shipped,{t},{bought},,,{promised},,1")
            elif name == "vtr_30d":  # on the promised delivery date, the shipment long confirmed, its
                bought = (moment - timedelta(days=40)).isoformat()  # tracking not valid (so not in OTDR)
                rows.append(f"{name}-{suffix},amazon.com,{bought},MFN,Shipped,,{bought},1Z{suffix},false,{t},,1")
            else:  # OTDR: units, anchored on the promised delivery date
                bought = (moment - timedelta(days=40)).isoformat()
                delivered = (moment - timedelta(hours=1)).isoformat()
                rows.append(
                    f"{name}-{suffix},amazon.com,{bought},MFN,Shipped,,{bought},1Z{suffix},true,{t},{delivered},3"
                )
    return HEADER + "\n".join(rows) + "\n"


def import_example(runner: CliRunner, settings, reference: Path, tmp_path: Path) -> None:
    env = env_of(settings)
    example = reference / "amazon" / "accountHealthReport-example.json"
    for path in (
        write(tmp_path / "orders.csv", orders_for_every_window()),
        example,
        write(
            tmp_path / "defects.csv",
            "order_id,defect_type,received_at,status\n"
            "odr-first,a_to_z_claim,2020-11-10T00:00:00Z,open\n"
            "odr-last,chargeback,2020-11-25T00:00:00Z,open\n",
        ),
    ):
        result = runner.invoke(cli, ["import", str(path), "--account", "acme", "--new-account"], env=env)
        assert result.exit_code == 0, result.output


def test_every_window_of_amazons_report_example_is_rebuilt_exactly(monitor, reference, tmp_path):
    """metrics.md, Windows: lags are learned from the report (lsr_end - metric_end, whole days) and
    the windows in force at the report's day are exactly Amazon's, with lag_source naming it."""
    runner = CliRunner()
    import_example(runner, monitor.settings, reference, tmp_path)
    result = runner.invoke(
        cli,
        ["metrics", "--account", "acme", "--marketplace", "ATVPDKIKX0DER", "--as-of", "2020-11-19", "--format", "json"],
        env=env_of(monitor.settings),
    )
    assert result.exit_code == 0, result.output
    values = {(v["metric"], v["channel"]): v for v in json.loads(result.output)}
    assert {v["marketplace"] for v in values.values()} == {"amazon.com"}
    expected_lags = {"odr": 15, "lsr_30d": 0, "cr_7d": 1, "vtr_30d": 10, "otdr_14d": 10}
    for name, (first, last) in AMAZON_RANGES.items():
        v = values[(name, "afn" if name == "odr" else "mfn")]
        assert (v["window_start"], v["window_end"]) == (
            day(first).isoformat(),
            (day(last) + timedelta(days=1)).isoformat(),
        ), name
        assert (v["lag_days"], v["lag_source"]) == (expected_lags[name], "amazon-report 2020-11-19"), name
        # the edge orders inside the range count (VTR shares its range with OTDR, whose two valid
        # shipments it counts too; OTDR counts three units an order)
        assert v["denominator"] == {"vtr_30d": 4, "otdr_14d": 6}.get(name, 2), (name, v)
    # a claim known at the report's time counts; one received after it does not, yet
    assert (values[("odr", "afn")]["numerator"], values[("odr", "afn")]["amazon_rate"]) == (1, 0.009)
    assert values[("lsr_10d", "mfn")]["lag_source"] == "amazon-report 2020-11-19"


def test_amazon_figures_beside_ours_at_the_reports_time(monitor, reference, tmp_path):
    """metrics.md, Amazon's own figures: our count over exactly Amazon's range with what was known
    at the report's time; OTDR compared in units; the likely cause of a difference named."""
    runner = CliRunner()
    import_example(runner, monitor.settings, reference, tmp_path)
    result = runner.invoke(cli, ["metrics", "--amazon", "--format", "json"], env=env_of(monitor.settings))
    assert result.exit_code == 0, result.output
    rows = {(r["metric"], r["channel"]): r for r in json.loads(result.output)}
    for name, (first, last) in AMAZON_RANGES.items():
        r = rows[(name, "afn" if name == "odr" else "mfn")]
        assert (r["date_from"], r["date_to"]) == (day(first).isoformat(), (day(last) + timedelta(days=1)).isoformat())
        assert r["known_at"] == "2020-11-20T00:00:00+00:00" and r["marketplace"] == "amazon.com"
    odr = rows[("odr", "afn")]
    assert (odr["numerator"], odr["denominator"], odr["amazon_numerator"], odr["amazon_denominator"]) == (
        1,
        2,
        1078,
        539000,
    )
    assert odr["cause"] == "538998 orders Amazon counts are missing from the imports (orders not imported)"
    otdr = rows[("otdr_14d", "mfn")]
    assert (otdr["denominator"], otdr["amazon_denominator"]) == (6, 165)  # units, beside Amazon's units
    table = runner.invoke(cli, ["metrics", "--amazon"], env=env_of(monitor.settings)).output
    assert "amazon.com" in table and "lsr_30d" in table


def test_the_report_of_another_marketplace_never_falls_back_to_all_orders(monitor, reference, tmp_path):
    """Amazon's figures of a marketplace are set beside that marketplace's orders only."""
    write(
        tmp_path / "us.csv",
        HEADER + "".join(f"US-{n},amazon.com,2026-09-{1 + n:02d}T10:00:00Z,MFN,Shipped,,,,,,,1\n" for n in range(10)),
    )
    monitor.import_paths([tmp_path / "us.csv"], account="bolt")
    de = reference / "amazon" / "transcribed__GET_V2_SELLER_PERFORMANCE_REPORT_DE_excerpt.json"
    monitor.import_paths([de], account="bolt")
    (odr,) = [c for c in monitor.compare_with_amazon("bolt") if c.metric == "odr" and c.channel == "mfn"]
    assert (odr.marketplace, odr.denominator, odr.amazon_denominator) == ("amazon.de", 0, 11)
    assert odr.cause == "no orders of Amazon.de (Germany) in this range imported: import its orders"


def test_the_newest_report_is_chosen_by_its_day_not_by_import_order(monitor, reference, tmp_path):
    example = json.loads((reference / "amazon" / "accountHealthReport-example.json").read_text())
    newer = json.loads(json.dumps(example))
    older = json.loads(json.dumps(example))
    for document, shift, rating in ((newer, 7, 300), (older, 0, 100)):
        entry = document["performanceMetrics"][0]
        entry["accountHealthRating"]["ahrScore"] = rating
        for figure in entry.values():
            if isinstance(figure, dict) and "reportingDateRange" in figure:
                dates = figure["reportingDateRange"]
                for key in dates:
                    moment = datetime.fromisoformat(dates[key].replace("Z", "+00:00")) + timedelta(days=shift)
                    dates[key] = moment.strftime("%Y-%m-%dT%H:%MZ")
    monitor.import_paths([write(tmp_path / "newer.json", json.dumps(newer))], account="acme")
    monitor.import_paths([write(tmp_path / "older.json", json.dumps(older))], account="acme")  # imported last
    from monitor.facts import newest_reports

    with monitor.sessions() as session:
        (report,) = newest_reports(session, 1)
    assert (report.report_date, report.ahr_score) == (date(2020, 11, 26), 300)


def test_lags_learned_for_one_marketplace_leave_the_others_on_the_settings(monitor, reference, tmp_path):
    runner = CliRunner()
    import_example(runner, monitor.settings, reference, tmp_path)
    write(tmp_path / "ca.csv", HEADER + "CA-1,amazon.ca,2020-11-01T10:00:00Z,MFN,Shipped,,,,,,,1\n")
    monitor.import_paths([tmp_path / "ca.csv"], account="acme")
    values = monitor.metrics("acme", day("2020-11-20")).values
    lags = {(v.marketplace, v.metric): (v.lag_days, v.lag_source) for v in values if v.channel == "mfn"}
    assert lags[("amazon.com", "vtr_30d")] == (10, "amazon-report 2020-11-19")
    assert lags[("amazon.ca", "vtr_30d")] == (10, "default") and lags[("amazon.ca", "odr")] == (15, "default")
    assert lags[("amazon.ca", "otdr_14d")] == (7, "default")
    assert [to_json(v)["lag_source"] for v in values if v.marketplace == "amazon.com"].count("default") == 0
