"""Walmart, eBay and Etsy: their exports recognised by header (the real headers of
../shared/reference/marketplaces/), their orders judged by their own standards per marketplace,
each value saying how exact it is, and what cannot be computed saying what would supply it."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

from click.testing import CliRunner

from monitor.cli import cli
from monitor.monitor import Monitor
from tests.conftest import env_of

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
EBAY_REPORT_HEADER = [
    "Sales Record Number",
    "Order Number",
    "Buyer Username",
    "Buyer Name",
    "Buyer Email",
    "Ship To Country",
    "Item Number",
    "Item Title",
    "Custom Label",
    "Quantity",
    "Sold For",
    "Shipping And Handling",
    "Total Price",
    "Payment Method",
    "Sale Date",
    "Paid On Date",
    "Ship By Date",
    "Minimum Estimated Delivery Date",
    "Maximum Estimated Delivery Date",
    "Shipped On Date",
    "Feedback Left",
    "Feedback Received",
    "My Item Note",
    "PayPal Transaction ID",
    "Shipping Service",
    "Tracking Number",
    "Transaction ID",
    "Variation Details",
    "Global Shipping Program",
]
ETSY_HEADER = [
    "Sale Date",
    "Order ID",
    "Buyer User ID",
    "Full Name",
    "First Name",
    "Last Name",
    "Number of Items",
    "Payment Method",
    "Date Shipped",
    "Street 1",
    "Street 2",
    "Ship City",
    "Ship State",
    "Ship Zipcode",
    "Ship Country",
    "Currency",
    "Order Value",
    "Coupon Code",
    "Coupon Details",
    "Discount Amount",
    "Shipping Discount",
    "Shipping",
    "Sales Tax",
    "Order Total",
    "Status",
    "Card Processing Fees",
    "Order Net",
    "Adjusted Order Total",
    "Adjusted Card Processing Fees",
    "Adjusted Net Order Amount",
    "Buyer",
    "Order Type",
    "Payment Type",
    "InPerson Discount",
    "InPerson Location",
    "SKU",
]


def table(header: list[str], rows: list[dict[str, str]], tail: list[str] = ()) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue() + "".join(line + "\n" for line in tail)


def walmart(reference) -> str:
    """60 purchase orders of the last 30 days, two lines each for some; 3 cancelled (5 %: over
    Walmart's 2 %); a blank totals line."""
    header = (reference / "marketplaces" / "walmart_po_export_header.csv").read_text().strip().split(",")
    rows = []
    for n in range(60):
        day = NOW - timedelta(days=1 + n // 2)
        for line in range(1 + (n % 3 == 0)):
            rows.append(
                {
                    "PO#": f"10{n:08d}",
                    "Order#": f"5{n:012d}",
                    "Order Date": f"{day:%m/%d/%Y}",
                    "Ship By": f"{day + timedelta(days=2):%m/%d/%Y}",
                    "Customer Name": "Jo Buyer",
                    "Customer Email ID": "jo@example.com",
                    "Line#": str(line + 1),
                    "Status": "Cancelled" if n in (4, 20, 40) else "Shipped",
                    "Qty": "1",
                    "SKU": f"WM-{line}",
                    "Item Cost": "19.99",
                    "Carrier": "UPS",
                    "Tracking Number": f"1Z{n:010d}",
                }
            )
    return table(header, rows, [","])


def ebay_report(orders: int = 100, late: int = 9, untracked: int = 0, days: int = 80) -> str:
    """`orders` over the last `days` days (the oldest first), `late` of them shipped after their ship-by date (9 of 100:
    over eBay's 7 %, and more than 7), the first `untracked` shipped on time without a tracking
    number; eBay's closing line."""
    rows = []
    for n in range(orders):
        sale = NOW - timedelta(days=3 + n * days / orders)
        ship_by = sale + timedelta(days=2)
        shipped = ship_by + timedelta(days=2) if n >= orders - late else sale + timedelta(days=1)
        rows.append(
            {
                "Sales Record Number": str(1000 + n),
                "Order Number": f"12-{n:05d}-{n:05d}",
                "Buyer Username": "buyer",
                "Buyer Email": "b@example.com",
                "Item Title": "Mug",
                "Custom Label": "MUG-1",
                "Quantity": "1",
                "Total Price": "$12.34",
                "Sale Date": f"{sale:%b-%d-%y}",
                "Ship By Date": f"{ship_by:%b-%d-%y}",
                "Shipped On Date": f"{shipped:%b-%d-%y}",
                "Tracking Number": "" if n < untracked else f"9400{n:016d}",
            }
        )
    return table(EBAY_REPORT_HEADER, rows, ["", f"100 record(s) downloaded,from {NOW - timedelta(days=90):%b-%d-%y}"])


def test_each_channel_judged_by_its_own_standards_with_its_exactness(tmp_path, reference, sqlite_settings):
    files = {
        "walmart.csv": walmart(reference),
        "ebay-orders.csv": ebay_report(),
        "ebay-fx.csv": table(
            (reference / "marketplaces" / "ebay_file_exchange_sold_header.csv").read_text().strip().split(","),
            [
                {
                    "Sales Record Number": str(n),
                    "User Id": "u",
                    "Order ID": f"X{n}",
                    "Sale Date": "Nov-20-26",
                    "Shipped on Date": "Nov-21-26",
                    "Quantity": "1",
                    "Total Price": "$5.00",
                    "Tracking Number": "T",
                }
                for n in range(5)
            ],
            ["", "5 record(s) downloaded,from Nov-01-26 to Nov-26-26"],
        ),
        "etsy.csv": table(
            ETSY_HEADER,
            [
                {
                    "Sale Date": f"{NOW - timedelta(days=n + 3):%m/%d/%y}",
                    "Order ID": str(3000 + n),
                    "Number of Items": "1",
                    "Date Shipped": f"{NOW - timedelta(days=n + 1):%m/%d/%y}",
                    "Currency": "USD",
                    "Order Total": "25.00",
                }
                for n in range(20)
            ],
        ),
        "etsy-posted.csv": table(
            [("Date Posted" if c == "Date Shipped" else c) for c in ETSY_HEADER],
            [
                {
                    "Sale Date": f"{NOW - timedelta(days=4):%m/%d/%y}",
                    "Order ID": "4000",
                    "Number of Items": "2",
                    "Date Posted": "",
                    "Currency": "EUR",
                    "Order Total": "9.00",
                }
            ],
        ),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = env_of(sqlite_settings)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    imported = runner.invoke(
        cli, ["import", *(str(tmp_path / n) for n in files), "--account", "shop", "--new-account"], env=env
    )
    assert imported.exit_code == 0, imported.output
    for layout in (
        "walmart-po-export",
        "ebay-orders-report",
        "ebay-file-exchange-sold",
        "etsy-sold-orders",
        "etsy-sold-orders-posted",
    ):
        assert f"({layout})" in imported.output or layout in imported.output, imported.output
    out = runner.invoke(cli, ["metrics", "--account", "shop", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    values = {(v["marketplace"], v["metric"]): v for v in json.loads(out.output)}
    assert {m for m, _ in values} == {"walmart.com", "ebay.com", "etsy.com"}  # no Amazon metric for them
    cancel = values[("walmart.com", "walmart_cancel_rate")]
    assert (cancel["numerator"], cancel["denominator"], cancel["status"], cancel["exactness"]) == (
        3,
        60,
        "critical",
        "exact",
    )
    response = values[("walmart.com", "walmart_response_rate")]
    assert response["status"] == "no_data" and response["rate"] is None and response["exactness"] == "scorecard"
    assert "only Walmart measures it" in response["no_data_reason"]
    assert "ship-confirmation times" in values[("walmart.com", "walmart_vtr_rate")]["no_data_reason"]
    late = values[("ebay.com", "ebay_late_shipment_rate")]
    assert (late["numerator"], late["status"], late["exactness"]) == (9, "critical", "proxy")
    assert "carrier scans" in late["proxy_reason"] and late["window_end"].startswith("2026-11-27")
    # eBay evaluates on the 20th: its figure then, beside today's (eBay's CURRENT and PROJECTED)
    then = late["evaluation"]
    assert then["on"] == "2026-11-20" and then["denominator"] < late["denominator"] and then["numerator"] == 9
    assert values[("walmart.com", "walmart_cancel_rate")]["evaluation"] is None
    assert values[("ebay.com", "ebay_defect_rate")]["status"] == "no_data"  # no export says who cancelled
    etsy = values[("etsy.com", "etsy_on_time_shipping_rate")]
    assert etsy["status"] == "no_data" and "ship-by dates" in etsy["no_data_reason"]
    # one message for the account, covering every channel, led by the worst
    with Monitor.open(sqlite_settings) as monitor:
        run = monitor.check(NOW)
        pages = monitor.build_dashboards(None, NOW)
    (message,) = run.messages
    from monitor.present import alerts as words

    text = words.text(message)
    assert "Walmart Cancellation Rate, MFN on Walmart" in text and "eBay Late Shipment Rate, MFN on eBay" in text
    assert "Only Walmart measures it" in text and "Walmart judges it, the monitor cannot" in text  # told once
    subject = words.subject(message)
    assert subject.startswith("[account-health] shop: CRITICAL (+")
    assert "Walmart cancellations on Walmart 5.00 % (limit 2 %), critical since" in subject
    page = pages.pages[0].read_text(encoding="utf-8")
    assert "shops: eBay · Etsy · Walmart" in pages.index.read_text(encoding="utf-8")  # the account on every channel
    for heading in ("<h2>Walmart</h2>", "<h2>eBay</h2>", "<h2>Etsy</h2>"):
        assert heading in page
    assert "proxy: shipped after the ship-by date" in page and "only Walmart measures it" in page


def ebay_profiles(metrics: list[tuple[str, int, int, str | None]] | None = None, current: list | None = None) -> str:
    """eBay's seller_standards_profile (Sell Analytics API, findSellerStandardsProfiles): the
    projected cycle says late shipments are fine (3 of 100) and the defect rate below standard.
    `metrics`: (key, numerator, denominator, level or None) instead; `current`: the metrics of a
    CURRENT cycle too (eBay's evaluation of the 20th, over the three months to October's end)."""
    profiles = [ebay_profile(metrics, "PROJECTED")]
    if current is not None:
        profiles.append(ebay_profile(current, "CURRENT"))
    return json.dumps({"standardsProfiles": profiles})


def ebay_profile(metrics: list[tuple[str, int, int, str | None]] | None, cycle: str) -> dict:
    if cycle == "CURRENT":
        start, end, evaluated = datetime(2026, 8, 1), datetime(2026, 10, 31), datetime(2026, 11, 20, 6)
    else:
        start, end, evaluated = NOW - timedelta(days=90), NOW - timedelta(days=1), NOW - timedelta(hours=1)

    def metric(key: str, numerator: int, denominator: int, level: str | None) -> dict:
        return {
            "metricKey": key,
            "name": key.replace("_", " ").title(),
            "type": "RATE",
            "value": {
                "value": f"{100 * numerator / denominator:.2f}",
                "numerator": numerator,
                "denominator": denominator,
            },
            "level": level,
            "lookbackStartDate": f"{start:%Y-%m-%d}T00:00:00.000Z",
            "lookbackEndDate": f"{end:%Y-%m-%d}T23:59:59.000Z",
        }

    profile = {
        "standardsLevel": "ABOVE_STANDARD",
        "program": "PROGRAM_US",
        "defaultProgram": True,
        "cycle": {
            "cycleType": cycle,
            "evaluationDate": f"{evaluated:%Y-%m-%dT%H:%M:%S.000Z}",
            "evaluationMonth": "2026-12" if cycle == "PROJECTED" else "2026-11",
        },
        "metrics": [
            metric(*row)
            for row in metrics
            or [
                ("SHIPPING_MISS_RATE", 3, 100, "ABOVE_STANDARD"),
                ("DEFECTIVE_TRANSACTION_RATE", 3, 100, "BELOW_STANDARD"),
                ("MIN_TXN_COUNT", 100, 100, "ABOVE_STANDARD"),
            ]
        ],
    }
    for entry in profile["metrics"]:
        if entry["level"] is None:  # eBay gave the account's level only
            del entry["level"]
    return profile


def test_ebays_figures_without_a_level_are_judged_by_its_minimum_counts(tmp_path, sqlite_settings):
    """A figure eBay gives no level of is judged by its counts under eBay's rules: the defect rate
    counts only from 5 defects (eBay: 5 unique buyers), the cases-closed rate only above 2 cases,
    both at the limit allowed. A figure with eBay's own level keeps eBay's word."""
    env = env_of(sqlite_settings)
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    shops = {
        "few": [("DEFECTIVE_TRANSACTION_RATE", 4, 100, None), ("CLAIMS_SAF_RATE", 2, 500, None)],
        "many": [("DEFECTIVE_TRANSACTION_RATE", 5, 100, None), ("CLAIMS_SAF_RATE", 3, 500, None)],
        "at-limit": [("DEFECTIVE_TRANSACTION_RATE", 6, 300, None), ("CLAIMS_SAF_RATE", 3, 1000, None)],
        "ebay-says": [
            ("DEFECTIVE_TRANSACTION_RATE", 4, 100, "BELOW_STANDARD"),
            ("CLAIMS_SAF_RATE", 3, 500, "ABOVE_STANDARD"),
        ],
    }
    for shop, metrics in shops.items():
        path = tmp_path / f"{shop}-profile.json"
        path.write_text(ebay_profiles(metrics), encoding="utf-8")
        imported = runner.invoke(cli, ["import", str(path), "--account", shop, "--new-account"], env=env)
        assert imported.exit_code == 0, imported.output
    out = runner.invoke(cli, ["metrics", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    status = {
        (v["account"], v["metric"]): (v["status"], v["amazon_rate"], v["rate"])
        for v in json.loads(out.output)
        if v["metric"] in ("ebay_defect_rate", "ebay_cases_closed_rate")
    }
    # a figure within the rules is no miss, but one at 75 % of what the limit allows or more is a warning
    assert status == {
        ("few", "ebay_defect_rate"): ("warning", 0.04, None),  # 4 %, but 4 defects: not enforced
        ("few", "ebay_cases_closed_rate"): ("warning", 0.004, None),  # 0.4 %, but 2 cases
        ("many", "ebay_defect_rate"): ("critical", 0.05, None),
        ("many", "ebay_cases_closed_rate"): ("critical", 0.006, None),
        ("at-limit", "ebay_defect_rate"): ("warning", 0.02, None),  # 2 % is allowed
        ("at-limit", "ebay_cases_closed_rate"): ("warning", 0.003, None),  # 0.3 % is allowed
        ("ebay-says", "ebay_defect_rate"): ("critical", 0.04, None),  # eBay's own level
        ("ebay-says", "ebay_cases_closed_rate"): ("warning", 0.006, None),  # eBay: above standard
    }


def test_ebays_own_profile_stands_beside_ours_and_overrules_a_proxy(tmp_path, sqlite_settings):
    (tmp_path / "ebay-orders.csv").write_text(ebay_report(), encoding="utf-8")
    (tmp_path / "seller_standards_profile.json").write_text(ebay_profiles(), encoding="utf-8")
    env = env_of(sqlite_settings)
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    imported = runner.invoke(
        cli,
        [
            "import",
            str(tmp_path / "ebay-orders.csv"),
            str(tmp_path / "seller_standards_profile.json"),
            "--account",
            "shop",
            "--new-account",
        ],
        env=env,
    )
    assert imported.exit_code == 0 and "ebay-seller-standards" in imported.output, imported.output
    out = runner.invoke(cli, ["metrics", "--account", "shop", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    values = {v["metric"]: v for v in json.loads(out.output)}
    late = values["ebay_late_shipment_rate"]
    # ours (a proxy) says 9 of 100; eBay's own, fresher figure says 3 %, above standard: a warning, not critical
    assert (late["numerator"], late["status"], late["amazon_rate"], late["amazon_status"]) == (
        9,
        "warning",
        0.03,
        "ABOVE_STANDARD",
    )
    assert late["window_start"].startswith(f"{NOW - timedelta(days=90):%Y-%m-%d}")  # eBay's own lookback
    defects = values["ebay_defect_rate"]  # only eBay measures it: its figure, never one of ours
    assert defects["rate"] is None and defects["status"] == "critical" and defects["amazon_status"] == "BELOW_STANDARD"
    with Monitor.open(sqlite_settings) as monitor:
        page = monitor.build_dashboards(None, NOW).pages[0].read_text(encoding="utf-8")
    assert "eBay&#39;s own figure: 3.00 % (ABOVE_STANDARD)" in page


def test_ebays_current_cycle_stands_beside_our_figure_of_its_evaluation(tmp_path, sqlite_settings):
    """channels.md: eBay's figure "as of the last 20th and as of today" (CURRENT and PROJECTED).
    Each of eBay's cycles stands beside our figure of the same moment: the PROJECTED beside
    today's, the CURRENT (its evaluation of the 20th) beside ours as of the 20th."""
    (tmp_path / "orders.csv").write_text(ebay_report(), encoding="utf-8")
    current = [
        ("SHIPPING_MISS_RATE", 8, 100, "BELOW_STANDARD"),
        ("DEFECTIVE_TRANSACTION_RATE", 1, 100, "ABOVE_STANDARD"),
    ]
    (tmp_path / "profiles.json").write_text(ebay_profiles(current=current), encoding="utf-8")
    env = env_of(sqlite_settings)
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    paths = [str(tmp_path / "orders.csv"), str(tmp_path / "profiles.json")]
    imported = runner.invoke(cli, ["import", *paths, "--account", "shop", "--new-account"], env=env)
    assert imported.exit_code == 0, imported.output
    out = runner.invoke(cli, ["metrics", "--account", "shop", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    values = {v["metric"]: v for v in json.loads(out.output)}
    late, defects = values["ebay_late_shipment_rate"], values["ebay_defect_rate"]
    assert (late["amazon_rate"], late["amazon_status"]) == (0.03, "ABOVE_STANDARD")  # PROJECTED: today
    then = late["evaluation"]
    assert (then["on"], then["numerator"], then["marketplace_rate"], then["marketplace_status"]) == (
        "2026-11-20",
        9,
        0.08,
        "BELOW_STANDARD",
    )
    assert (defects["status"], defects["amazon_status"]) == ("critical", "BELOW_STANDARD")  # PROJECTED
    assert (defects["evaluation"]["status"], defects["evaluation"]["marketplace_status"]) == ("good", "ABOVE_STANDARD")
    with Monitor.open(sqlite_settings) as monitor:
        page = monitor.build_dashboards(None, NOW).pages[0].read_text(encoding="utf-8")
    assert "eBay&#39;s own figure then: 8.00 % (BELOW_STANDARD)" in page
    # before eBay's evaluation was known (the 19th), no figure of it stands beside ours
    early = runner.invoke(
        cli, ["metrics", "--account", "shop", "--as-of", "2026-11-21T01:00:00+00:00", "--format", "json"], env=env
    )
    late = next(v for v in json.loads(early.output) if v["metric"] == "ebay_late_shipment_rate")
    assert late["evaluation"]["marketplace_status"] == "BELOW_STANDARD"  # known from the 20th, 06:00
    before = runner.invoke(
        cli, ["metrics", "--account", "shop", "--as-of", "2026-11-20T05:00:00+00:00", "--format", "json"], env=env
    )
    late = next(v for v in json.loads(before.output) if v["metric"] == "ebay_late_shipment_rate")
    assert late["evaluation"]["marketplace_status"] is None


def test_ebays_tracking_on_time_counts_shipments_confirmed_on_time_with_a_tracking_number(tmp_path, sqlite_settings):
    """channels.md, eBay `tracking_on_time_rate` (>= 95 %, Top Rated): a proxy from the export's
    dates. 100 shipments: 9 late (with tracking), 3 on time without a tracking number: 88 of 100
    on time with tracking, a miss; eBay's own fresh figure (97 of 100, TOP_RATED) overrules the
    proxy down to a warning."""
    env = env_of(sqlite_settings)
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    (tmp_path / "orders.csv").write_text(ebay_report(100, 9, untracked=3), encoding="utf-8")
    imported = runner.invoke(
        cli, ["import", str(tmp_path / "orders.csv"), "--account", "shop", "--new-account"], env=env
    )
    assert imported.exit_code == 0, imported.output
    out = runner.invoke(cli, ["metrics", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    (tracked,) = [v for v in json.loads(out.output) if v["metric"] == "ebay_tracking_on_time_rate"]
    assert (tracked["numerator"], tracked["denominator"], tracked["status"], tracked["exactness"]) == (
        88,
        100,
        "critical",
        "proxy",
    )
    assert tracked["headroom"] == 0 and "when the tracking was uploaded" in tracked["proxy_reason"]
    assert tracked["evaluation"]["on"] == "2026-11-20"  # eBay evaluates on the 20th: its figure then too
    with Monitor.open(sqlite_settings) as monitor:
        page = monitor.build_dashboards(None, NOW).pages[0].read_text(encoding="utf-8")
    assert page.count("confirmed on time without a tracking number") == 3
    profile = tmp_path / "seller_standards_profile.json"
    profile.write_text(
        ebay_profiles([("VALID_TRACKING_UPLOADED_WITHIN_HANDLING_RATE", 97, 100, "TOP_RATED")]), encoding="utf-8"
    )
    assert runner.invoke(cli, ["import", str(profile), "--account", "shop"], env=env).exit_code == 0
    out = runner.invoke(cli, ["metrics", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    (tracked,) = [v for v in json.loads(out.output) if v["metric"] == "ebay_tracking_on_time_rate"]
    assert (tracked["status"], tracked["amazon_rate"], tracked["amazon_status"]) == ("warning", 0.97, "TOP_RATED")


def test_ebay_evaluates_over_12_months_below_400_transactions_in_3(tmp_path, sqlite_settings):
    """channels.md, eBay's window: "3 months if >= 400 transactions, else 12". A shop with 200
    shipments over 300 days (about 60 in 3 months) is judged over 365 days, its 16 late ones of
    8 to 10 months ago included (8 %: a miss); one with 500 in 80 days over 90 days."""
    env = env_of(sqlite_settings)
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    for name, text in (("small", ebay_report(200, 16, days=300)), ("busy", ebay_report(500, 40, days=80))):
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
        imported = runner.invoke(
            cli, ["import", str(tmp_path / f"{name}.csv"), "--account", name, "--new-account"], env=env
        )
        assert imported.exit_code == 0, imported.output
    out = runner.invoke(cli, ["metrics", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    late = {v["account"]: v for v in json.loads(out.output) if v["metric"] == "ebay_late_shipment_rate"}
    small, busy = late["small"], late["busy"]
    assert small["window_start"].startswith(f"{NOW - timedelta(days=365):%Y-%m-%d}")
    assert (small["numerator"], small["denominator"], small["status"]) == (16, 200, "critical")
    assert busy["window_start"].startswith(f"{NOW - timedelta(days=90):%Y-%m-%d}")
    assert (busy["numerator"], busy["denominator"], busy["status"]) == (40, 500, "critical")
    # the same figure as of eBay's last evaluation (the 20th), over its 12 months too
    assert small["evaluation"]["on"] == "2026-11-20" and small["evaluation"]["numerator"] == 16


def test_ebays_late_shipments_count_against_the_seller_only_above_its_minimum(tmp_path, sqlite_settings):
    """eBay: "at most 7 %, with more than 7 late shipments" (MIN_EBAY_LATE_SHIPMENTS): 6 of 50 (12 %)
    is a warning, not a miss; at exactly 7 % the target is met."""
    env = env_of(sqlite_settings)
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    for name, orders, late in (("few", 50, 6), ("edge", 200, 14)):
        (tmp_path / f"{name}.csv").write_text(ebay_report(orders, late), encoding="utf-8")
        assert (
            runner.invoke(
                cli, ["import", str(tmp_path / f"{name}.csv"), "--account", name, "--new-account"], env=env
            ).exit_code
            == 0
        )
    out = runner.invoke(cli, ["metrics", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    late = {v["account"]: v for v in json.loads(out.output) if v["metric"] == "ebay_late_shipment_rate"}
    assert (late["few"]["numerator"], late["few"]["denominator"], late["few"]["status"]) == (6, 50, "warning")
    assert late["few"]["headroom"] == 1  # one more late shipment is still within eBay's minimum
    assert (late["edge"]["numerator"], late["edge"]["denominator"]) == (14, 200) and late["edge"][
        "status"
    ] != "critical"


def test_ebays_last_evaluation_day():
    from monitor.metrics import last_evaluation

    day = {
        "2026-11-27T12:00:00+00:00": "2026-11-20",
        "2026-11-20T00:00:00+00:00": "2026-11-20",
        "2026-11-19T23:59:00+00:00": "2026-10-20",
        "2026-01-10T08:00:00+00:00": "2025-12-20",
    }
    for moment, expected in day.items():
        assert last_evaluation(datetime.fromisoformat(moment), 20).date().isoformat() == expected


def test_a_min_metric_counts_its_good_ones_in_words():
    """Etsy's on-time shipping counts the orders shipped on time (not "late of")."""
    from monitor.domain import Channel, Direction, Status
    from monitor.metrics import MetricValue
    from monitor.present import fmt

    value = MetricValue(
        "a",
        "etsy.com",
        Channel.MFN,
        "etsy_on_time_shipping_rate",
        NOW,
        NOW,
        NOW,
        18,
        20,
        0.9,
        0.8,
        Direction.MIN,
        Status.GOOD,
        2,
    )
    assert fmt.counts(value) == "18 of 20 orders shipped on time"
    assert fmt.headroom(value) == "headroom: 2 more orders shipped late"


def insights(rate: str | float, level: str, days: int | None = None, updated: datetime | None = None) -> dict:
    """One answer of Walmart's Insights API (GET /v3/insights/performance/{metric}/summary), with
    the keys third-party clients show: the seller-accountable rate in percent and the risk level."""
    payload = {
        "sellerAccountableRate": rate,
        "overallRate": rate,
        "ordersImpacted": 4,
        "performanceStandard": "95% or above",
        "performanceRiskLevel": level,
        "updatedTimestamp": f"{(updated or NOW - timedelta(hours=3)):%Y-%m-%dT%H:%M:%S}Z",
    }
    if days is not None:
        payload["reportDuration"] = days
    return {"payload": payload}


def test_walmarts_own_figures_stand_beside_ours(tmp_path, reference, sqlite_settings):
    """Walmart's Insights summaries, saved one per file (named after the metric) or several in one
    document: each figure over its own duration beside ours; Walmart's Urgent is critical even for
    a metric only Walmart measures, Monitor is not; an answer whose metric is unnamed is rejected."""
    (tmp_path / "walmart.csv").write_text(walmart(reference), encoding="utf-8")
    (tmp_path / "walmart-srr-summary.json").write_text(json.dumps(insights(93.5, "Urgent")), encoding="utf-8")
    combined = {
        "walmartInsights": {
            "cancellations": insights("4.8%", "Urgent", 30),
            "vtr": insights(99.6, "Good", 30),
            "negativeFeedback": insights(1.5, "Monitor"),
            "unknownMetric": insights(50, "Urgent"),
        }
    }
    (tmp_path / "insights.json").write_text(json.dumps(combined), encoding="utf-8")
    (tmp_path / "summary.json").write_text(json.dumps(insights(99.0, "Good")), encoding="utf-8")
    env = env_of(sqlite_settings)
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    names = ("walmart.csv", "walmart-srr-summary.json", "insights.json", "summary.json")
    imported = runner.invoke(
        cli, ["import", *(str(tmp_path / n) for n in names), "--account", "shop", "--new-account"], env=env
    )
    assert "insights.json: walmart-insights" in imported.output, imported.output
    assert "its file name does not say which metric" in imported.output and "Traceback" not in imported.output
    out = runner.invoke(cli, ["metrics", "--account", "shop", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    values = {v["metric"]: v for v in json.loads(out.output) if v["marketplace"] == "walmart.com"}
    response = values["walmart_response_rate"]  # only Walmart measures it: its figure, never one of ours
    assert (response["rate"], response["amazon_rate"], response["amazon_status"], response["status"]) == (
        None,
        0.935,
        "URGENT",
        "critical",
    )
    cancel = values["walmart_cancel_rate"]  # ours beside Walmart's own, over Walmart's 30 whole days
    assert (cancel["numerator"], cancel["denominator"], cancel["amazon_rate"], cancel["status"]) == (
        3,
        60,
        0.048,
        "critical",
    )
    # where only Walmart's figure judges a value (no ship confirmations in the PO export; reviews in
    # no export), its word sets the status: Good is good, Monitor a warning
    vtr = values["walmart_vtr_rate"]
    assert (vtr["amazon_rate"], vtr["status"], vtr["rate"], vtr["no_data_reason"]) == (0.996, "good", None, None)
    feedback = values["walmart_negative_feedback_rate"]
    assert (feedback["amazon_rate"], feedback["amazon_status"], feedback["status"]) == (0.015, "MONITOR", "warning")
    start, end = (datetime.fromisoformat(feedback[k]) for k in ("window_start", "window_end"))
    assert (start.date(), end.date()) == (date(2026, 9, 28), date(2026, 11, 27))  # Walmart's 60 whole days
    assert values["walmart_return_rate"]["amazon_rate"] is None  # not imported: says what to import
    assert "returns summary" in values["walmart_return_rate"]["no_data_reason"]
    with Monitor.open(sqlite_settings) as monitor:
        page = monitor.build_dashboards(None, NOW).pages[0].read_text(encoding="utf-8")
    assert "Walmart&#39;s own figure: 93.50 % (URGENT)" in page
    assert "99.60 % (Walmart&#39;s)" in page and "Walmart&#39;s own figure only" in page
    from monitor.present import alerts as words

    with Monitor.open(sqlite_settings) as monitor:
        (message,) = monitor.check(NOW).messages
    text = words.text(message)
    assert "93.50 % (Walmart's) against a target of at least 95 %: window" in text and " of 0 " not in text
    assert "1.50 % (Walmart's) against a target of at most 2 %" in text  # Monitor: a warning, in the same message


def etsy_reviews(ratings: list[int], days: float = 80, first_transaction: int = 4_000_000_000) -> dict:
    """Etsy's Open API answer to getReviewsByShop: one TransactionReview per rating, spread over the
    last `days` days (the newest first, as Etsy lists them), with its own fields and timestamps."""
    results = []
    for n, rating in enumerate(ratings):
        created = NOW - timedelta(days=1 + n * days / max(len(ratings), 1))
        results.append(
            {
                "shop_id": 31_415_926,
                "listing_id": 1_234_567_000 + n % 7,
                "transaction_id": first_transaction + n,
                "buyer_user_id": 900_000 + n,
                "rating": rating,
                "review": "" if rating == 5 else f"arrived late and scratched ({rating} stars)",
                "language": "en",
                "image_url_fullxfull": None,
                "create_timestamp": int(created.timestamp()),
                "created_timestamp": int(created.timestamp()),
                "update_timestamp": int(created.timestamp()),
                "updated_timestamp": int(created.timestamp()),
            }
        )
    return {"count": len(results), "results": results}


def test_etsys_reviews_are_judged_by_its_review_standards(tmp_path, sqlite_settings):
    """channels.md, Etsy's `low_review_share` ("<= 4 reviews under 40, else < 10 %") and
    `average_rating` (>= 4.8), over 3 months, from its getReviewsByShop answer: 4 low reviews of
    39 are allowed (10.3 %), 5 are not; from 40 reviews 4 low ones (10 %) miss; an average of
    exactly 4.8 meets the target. A review older than the window, a revised one (the newest
    rating counts) and a rating out of range (quarantined) come in the same files."""
    shops = {
        "small": [5] * 35 + [3] * 4,  # 39 reviews, 4 low: 10.3 %, within Etsy's minimum; 4.79 stars
        "small-bad": [5] * 34 + [2] * 5,  # 39 reviews, 5 low
        "edge": [5] * 36 + [3] * 4,  # 40 reviews, 4 low: 10 %, a miss; 192 of 200 stars: 4.80, met
    }
    env = env_of(sqlite_settings)
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    for shop, ratings in shops.items():
        path = tmp_path / f"{shop}-reviews.json"
        path.write_text(json.dumps(etsy_reviews(ratings)), encoding="utf-8")
        imported = runner.invoke(cli, ["import", str(path), "--account", shop, "--new-account"], env=env)
        assert imported.exit_code == 0 and "etsy-reviews" in imported.output, imported.output
    # the edge shop: a 1-star review from 100 days ago (outside the window), a review revised from
    # 1 to 5 stars (its newest rating counts), a rating of 7 (quarantined, the rest kept)
    more = etsy_reviews([1], days=0, first_transaction=4_500_000_000)
    more["results"][0]["create_timestamp"] = int((NOW - timedelta(days=100)).timestamp())
    revised = etsy_reviews([1, 5], days=0, first_transaction=5_000_000_000)["results"]
    revised[1]["transaction_id"] = revised[0]["transaction_id"]
    revised[1]["update_timestamp"] = revised[0]["update_timestamp"] + 3600
    wrong = dict(revised[0], transaction_id=6_000_000_000, rating=7)
    extra = tmp_path / "edge-more.json"
    extra.write_text(json.dumps([more, {"count": 3, "results": [*revised, wrong]}]), encoding="utf-8")
    imported = runner.invoke(cli, ["import", str(extra), "--account", "edge"], env=env)
    assert "1 quarantined" in imported.output and "Traceback" not in imported.output, imported.output
    out = runner.invoke(cli, ["metrics", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    values = {(v["account"], v["metric"]): v for v in json.loads(out.output) if v["marketplace"] == "etsy.com"}
    low = {shop: values[(shop, "etsy_low_review_share")] for shop in shops}
    assert {s: (v["numerator"], v["denominator"], v["status"]) for s, v in low.items()} == {
        "small": (4, 39, "warning"),
        "small-bad": (5, 39, "critical"),
        "edge": (4, 41, "warning"),  # the revised review: 41 in the window, 4 low (9.8 %)
    }
    assert low["small"]["headroom"] == 0 and low["small"]["exactness"] == "exact"
    rating = {shop: values[(shop, "etsy_average_rating")] for shop in shops}
    assert {s: (v["numerator"], v["denominator"], v["status"], v["unit"]) for s, v in rating.items()} == {
        "small": (187, 195, "critical", "stars"),  # 4.79 stars
        "small-bad": (180, 195, "critical", "stars"),
        "edge": (197, 205, "warning", "stars"),  # 4.80 stars with the revised 5: met
    }
    assert rating["edge"]["limit"] == 0.96  # a share of 5 stars
    window = datetime.fromisoformat(low["edge"]["window_start"])
    assert window.date() == date(2026, 8, 29)  # Etsy's 3 months (WINDOW_ETSY_DAYS)
    with Monitor.open(sqlite_settings) as monitor:
        pages = {p.stem: p.read_text(encoding="utf-8") for p in monitor.build_dashboards(None, NOW).pages}
    page = next(text for name, text in pages.items() if "small-bad" in name)
    assert "4.62 stars" in page and "target &gt;= 4.8 stars" in page
    assert "2-star review: &#34;arrived late and scratched (2 stars)&#34;" in page


def test_etsy_review_metrics_without_reviews_say_what_to_import(tmp_path, sqlite_settings):
    env = env_of(sqlite_settings)
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    path = tmp_path / "etsy.csv"
    path.write_text(
        table(
            ETSY_HEADER,
            [{"Sale Date": f"{NOW - timedelta(days=4):%m/%d/%y}", "Order ID": "1", "Currency": "USD"}],
        ),
        encoding="utf-8",
    )
    assert runner.invoke(cli, ["import", str(path), "--account", "shop", "--new-account"], env=env).exit_code == 0
    out = runner.invoke(cli, ["metrics", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    values = {v["metric"]: v for v in json.loads(out.output)}
    for metric in ("etsy_low_review_share", "etsy_average_rating"):
        assert values[metric]["status"] == "no_data" and "getReviewsByShop" in values[metric]["no_data_reason"]


def test_review_metrics_history_equals_evaluating_each_day():
    """metrics.md's rule that a history is the day-by-day evaluation, for reviews too (Etsy's)."""
    import numpy as np
    import pandas as pd

    from monitor import counting as cnt
    from monitor import metrics as m

    rng = np.random.default_rng(7)
    received = np.sort(rng.integers(m.to_us(NOW - timedelta(days=200)), m.to_us(NOW), 300))
    reviews = cnt.Reviews(
        np.array([str(n) for n in range(300)], dtype=object),
        received.astype(np.int64),
        rng.choice([1, 2, 3, 4, 5, 5, 5, 5], 300).astype(np.int64),
        np.array([None] * 300, dtype=object),
    )
    facts = m.AccountFacts({"etsy.com": m.MarketplaceFacts(reviews=reviews)}, defect_source=False)
    metrics = [m.METRICS_BY_ID["etsy_low_review_share"], m.METRICS_BY_ID["etsy_average_rating"]]
    empty = pd.DataFrame({"order_id": pd.Series(dtype=object), "purchase_date": pd.Series(dtype=object)})
    midnight = NOW.replace(hour=0)
    days = m.history(empty, None, midnight, 30, m.Targets(), "shop", metrics, facts)
    for k in (0, 13, 29):
        at = midnight - timedelta(days=29 - k)
        one = m.evaluate(empty, None, at, m.Targets(), "shop", metrics, facts)
        mine = [v for v in days if v.as_of == at]
        assert [(v.metric, v.numerator, v.denominator, v.status) for v in mine] == [
            (v.metric, v.numerator, v.denominator, v.status) for v in one
        ]
        assert all(v.denominator > 0 for v in one)
