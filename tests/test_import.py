from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from monitor.ingest import import_file, import_paths, load_mapping
from monitor.models import (
    Defect,
    Feedback,
    ImportRecord,
    Order,
    PerformanceMetric,
    PerformanceReport,
    QuarantinedRow,
)

ORDERS_HEADER = "order_id,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at,carrier,sku\n"
ALL_ORDERS_HEADER = (
    "amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\t"
    "fulfillment-channel\tsales-channel\tproduct-name\tsku\tasin\tquantity\tcurrency\titem-price\t"
    "is-buyer-requested-cancellation\n"
)


def write(path: Path, content: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(content.encode(encoding))
    return path


def orders_by_id(sessions) -> dict[str, Order]:
    with sessions() as session:
        return {o.order_id: o for o in session.scalars(select(Order))}


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_canonical_orders_are_stored_in_utc(sessions, settings, tmp_path):
    path = write(
        tmp_path / "orders.csv",
        ORDERS_HEADER
        + "A-1,2026-10-01T10:00:00-07:00,MFN,Shipped,2026-10-03T23:59:59Z,2026-10-02T09:30:00+02:00,UPS,MUG-1\n"
        + "A-2,2026-10-01 08:00:00,FBA,Pending,,,,\n",
    )
    result = import_file(sessions, path, settings, account="acme-us")
    assert (result.status, result.format, result.rows_read, result.inserted, result.updated) == (
        "ok",
        "orders",
        2,
        2,
        0,
    )
    orders = orders_by_id(sessions)
    assert orders["A-1"].purchase_date == datetime(2026, 10, 1, 17, 0, tzinfo=UTC)
    assert orders["A-1"].shipped_at == datetime(2026, 10, 2, 7, 30, tzinfo=UTC)
    assert orders["A-1"].fulfillment_channel == "MFN" and orders["A-1"].carrier == "UPS"
    assert orders["A-2"].purchase_date == datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    assert orders["A-2"].fulfillment_channel == "AFN" and orders["A-2"].shipped_at is None


def test_same_file_twice_changes_nothing_and_says_so(sessions, settings, tmp_path):
    path = write(tmp_path / "orders.csv", ORDERS_HEADER + "A-1,2026-10-01,MFN,Shipped,,,,\n")
    first = import_file(sessions, path, settings)
    again = import_file(sessions, path, settings)
    assert again.status == "duplicate" and again.import_id == first.import_id
    assert count(sessions, ImportRecord) == 1 and count(sessions, Order) == 1


def test_a_later_all_orders_file_never_erases_a_ship_confirmation(sessions, settings, tmp_path):
    canonical = write(
        tmp_path / "orders.csv",
        ORDERS_HEADER + "111-1,2026-10-01T10:00:00Z,MFN,Unshipped,2026-10-03T23:59:59Z,2026-10-02T12:00:00Z,DHL,S1\n",
    )
    import_file(sessions, canonical, settings)
    flat = write(
        tmp_path / "all_orders.txt",
        ALL_ORDERS_HEADER
        + "111-1\t\t2026-10-01T10:00:00+00:00\t2026-10-05\tShipped\tMerchant\tAmazon.com\tMug\tS1\tB01\t1\tUSD\t9.99\tfalse\n",
    )
    result = import_file(sessions, flat, settings)
    assert (result.format, result.inserted, result.updated) == ("amazon-all-orders", 0, 1)
    order = orders_by_id(sessions)["111-1"]
    assert order.shipped_at == datetime(2026, 10, 2, 12, 0, tzinfo=UTC)
    assert order.latest_ship_date == datetime(2026, 10, 3, 23, 59, 59, tzinfo=UTC)
    assert order.order_status == "Shipped" and order.carrier == "DHL" and order.asin == "B01"
    assert order.marketplace == "amazon.com"


def test_a_file_with_the_same_data_updates_nothing(sessions, settings, tmp_path):
    row = "A-1,2026-10-01T10:00:00Z,MFN,Shipped,,2026-10-02T10:00:00Z,,\n"
    import_file(sessions, write(tmp_path / "a.csv", ORDERS_HEADER + row), settings)
    result = import_file(
        sessions,
        write(tmp_path / "b.csv", ORDERS_HEADER.replace("\n", ",extra\n") + row.replace("\n", ",x\n")),
        settings,
    )
    assert (result.status, result.inserted, result.updated) == ("ok", 0, 0)


def test_all_orders_items_fold_into_their_order_even_with_bare_quotes(sessions, settings, tmp_path):
    rows = [
        '112-7\t\t2026-10-01T10:00:00-07:00\t2026-10-01\tShipped\tAmazon\tAmazon.com\t12" pizza "stone\tPZ-12\tB0A\t2\tUSD\t30.00\tfalse',
        "112-7\t\t2026-10-01T10:00:00-07:00\t2026-10-01\tShipped\tAmazon\tAmazon.com\tPeel\tPEEL\tB0B\t1\tUSD\t12.50\tfalse",
        "112-8\t\t2026-10-02T10:00:00-07:00\t2026-10-02\tCancelled\tMerchant\tAmazon.com\tMug\tMUG\tB0C\t1\tUSD\t0\ttrue",
    ]
    result = import_file(sessions, write(tmp_path / "all.txt", ALL_ORDERS_HEADER + "\n".join(rows) + "\n"), settings)
    assert (result.rows_read, result.inserted, result.quarantined) == (3, 2, 0)
    orders = orders_by_id(sessions)
    assert orders["112-7"].quantity == 3 and orders["112-7"].order_total == 42.5
    assert orders["112-7"].sku == "PZ-12, PEEL"
    assert orders["112-7"].product_name == '12" pizza "stone, Peel'
    assert orders["112-7"].fulfillment_channel == "AFN"
    assert orders["112-8"].order_status == "Canceled" and orders["112-8"].buyer_requested_cancel is True


def test_items_split_across_chunks_still_add_up(database_url, tmp_path):
    from monitor.config import load_settings

    small = load_settings(environ={"DATABASE_URL": database_url, "IMPORT_CHUNK_ROWS": "2"})
    from monitor import db

    engine = db.make_engine(database_url)
    db.migrate(engine)
    sessions = db.session_factory(engine)
    item = "113-1\t\t2026-10-01T10:00:00Z\t2026-10-01\tShipped\tMerchant\tAmazon.com\tThing {n}\tSKU-{n}\tB{n}\t1\tUSD\t1.00\tfalse"
    body = "\n".join(item.format(n=n) for n in range(5)) + "\n"
    result = import_file(sessions, write(tmp_path / "all.txt", ALL_ORDERS_HEADER + body), small)
    assert (result.inserted, result.updated) == (1, 0)
    order = orders_by_id(sessions)["113-1"]
    assert order.quantity == 5 and order.order_total == 5.0
    assert order.sku == "SKU-0, SKU-1, SKU-2, SKU-3, SKU-4"
    engine.dispose()


def test_bad_rows_are_quarantined_and_good_rows_kept(sessions, settings, tmp_path):
    path = write(
        tmp_path / "orders.csv",
        ORDERS_HEADER
        + "A-1,2026-10-01,MFN,Shipped,,,,\n"
        + "A-2,yesterday,MFN,Shipped,,,,\n"
        + ",2026-10-01,MFN,Shipped,,,,\n"
        + "A-4,2026-10-01,Drone,Shipped,,,,\n"
        + "A-5,2026-10-01,MFN,Shipped,,,,,too,many\n"
        + "A-6,2026-10-01,MFN,Teleported,,,,\n"
        + "A-7,2026-10-01,AFN,Shipped,,,,\n",
    )
    result = import_file(sessions, path, settings)
    assert (result.status, result.rows_read, result.inserted, result.quarantined) == ("partial", 7, 2, 5)
    assert set(orders_by_id(sessions)) == {"A-1", "A-7"}
    with sessions() as session:
        rows = {q.line_number: q for q in session.scalars(select(QuarantinedRow))}
    assert rows[3].reason.startswith("bad purchase_date") and rows[3].raw == "A-2,yesterday,MFN,Shipped,,,,"
    assert rows[4].reason == "missing order_id"
    assert "unknown fulfillment_channel 'Drone'" in rows[5].reason
    assert rows[6].reason == "has 10 fields, the header has 8"
    assert "unknown order_status 'Teleported'" in rows[7].reason


def test_a_report_with_a_header_and_no_rows_is_an_empty_report(sessions, settings, tmp_path):
    """An empty report is a valid one (no orders, no feedback in its period): ok, 0 rows."""
    path = tmp_path / "empty.csv"
    path.write_text(ORDERS_HEADER)
    result = import_file(sessions, path, settings)
    assert (result.status, result.rows_read, result.inserted) == ("ok", 0, 0)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"colour,size\nred,12\n", "unknown format: no known report has the header colour, size"),
        (b"just one line of prose without separators\n", "no header row"),
        (b"order_id,purchase_date\n\x81\x8d\x8f\x90\x9d\xff\xfe\n", "cannot decode"),
    ],
)
def test_unreadable_files_are_rejected_whole(sessions, settings, tmp_path, content, reason):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = import_file(sessions, path, settings)
    assert result.status == "rejected" and reason in result.error
    assert count(sessions, Order) == 0
    with sessions() as session:
        ledger = session.scalars(select(ImportRecord)).one()
    assert ledger.status == "rejected" and reason in ledger.error


def test_a_forced_format_that_does_not_fit_rejects_the_file(sessions, settings, tmp_path):
    path = write(tmp_path / "orders.csv", ORDERS_HEADER + "A-1,2026-10-01,MFN,Shipped,,,,\n")
    result = import_file(sessions, path, settings, forced_format="defects")
    assert result.status == "rejected" and "lacks defect_type, received_at" in result.error


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "shift_jis"])
def test_every_supported_encoding_round_trips(sessions, settings, tmp_path, encoding):
    name = {"cp1252": "Größe Ü – Café", "shift_jis": "急須 ティーポット"}.get(encoding, "Größe 急須 ✓")
    content = (
        "order_id\tpurchase_date\tfulfillment_channel\torder_status\tsku\r\n"
        + f"J-1\t2026-10-01\tMFN\tShipped\t{name}\r\n"
    )
    result = import_file(sessions, write(tmp_path / "orders.tsv", content, encoding), settings)
    assert result.status == "ok", result.error
    assert orders_by_id(sessions)["J-1"].sku == name


def test_canonical_defects_with_statuses(sessions, settings, tmp_path):
    path = write(
        tmp_path / "defects.csv",
        "order_id,defect_type,received_at,status,rating,comment,defect_id\n"
        "A-1,a_to_z_claim,2026-10-05T00:00:00Z,denied,,,\n"
        'A-1,negative_feedback,2026-10-06,active,1,"Late, <script>alert(1)</script>",\n'
        "A-2,chargeback,2026-10-07,reversed,,,CB-9\n"
        "A-3,chargeback,2026-10-07,granted,,,\n"
        "A-4,refund_request,2026-10-07,,,,\n",
    )
    result = import_file(sessions, path, settings)
    assert (result.format, result.inserted, result.quarantined) == ("defects", 3, 2)
    with sessions() as session:
        defects = {(d.order_id, d.defect_type): d for d in session.scalars(select(Defect))}
    assert defects[("A-1", "negative_feedback")].comment == "Late, <script>alert(1)</script>"
    assert defects[("A-2", "chargeback")].defect_key == "id:CB-9"
    assert defects[("A-1", "a_to_z_claim")].status == "denied"


def test_a_defect_update_changes_its_status(sessions, settings, tmp_path):
    header = "order_id,defect_type,received_at,status\n"
    import_file(sessions, write(tmp_path / "d1.csv", header + "A-1,a_to_z_claim,2026-10-05,open\n"), settings)
    result = import_file(
        sessions, write(tmp_path / "d2.csv", header + "A-1,a_to_z_claim,2026-10-05,withdrawn\n"), settings
    )
    assert (result.inserted, result.updated) == (0, 1)
    with sessions() as session:
        assert session.scalars(select(Defect.status)).all() == ["withdrawn"]


def test_feedback_report_makes_defects_of_one_and_two_stars_and_forgets_emails(sessions, settings, tmp_path):
    path = write(
        tmp_path / "feedback.txt",
        "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email\n"
        "10/20/23\t1\tNever arrived\t\t111-1\tbuyer1@marketplace.amazon.com\n"
        "10/21/23\t2\tSlow\tSorry!\t111-2\tbuyer2@marketplace.amazon.com\n"
        "10/22/23\t3\tOK\t\t111-3\tbuyer3@marketplace.amazon.com\n"
        "10/23/23\t5\tGreat\t\t111-4\tbuyer4@marketplace.amazon.com\n"
        "10/24/23\tRating\tComments\t\t111-5\tbuyer5@marketplace.amazon.com\n",
    )
    result = import_file(sessions, path, settings)
    assert (result.format, result.rows_read, result.quarantined) == ("amazon-feedback", 5, 1)
    with sessions() as session:
        defects = session.scalars(select(Defect).order_by(Defect.order_id)).all()
        assert [(d.order_id, d.rating, d.received_at) for d in defects] == [
            ("111-1", 1, datetime(2023, 10, 20, tzinfo=UTC)),
            ("111-2", 2, datetime(2023, 10, 21, tzinfo=UTC)),
        ]
        assert session.scalar(select(func.count()).select_from(Feedback)) == 4
    dumped = "\n".join(_dump_database(sessions))
    assert "Slow" in dumped and "Comments" in dumped  # the quarantined row is there...
    assert "@marketplace.amazon.com" not in dumped  # ...but no rater's e-mail, anywhere


def _dump_database(sessions) -> list[str]:
    tables = ["orders", "defects", "feedback", "imports", "accounts", "quarantine"]
    with sessions() as session:
        return [repr(tuple(row)) for table in tables for row in session.execute(text(f"select * from {table}"))]


def test_airbyte_flat_file_fixtures_are_recognised(sessions, settings, reference, tmp_path):
    archived = reference / "amazon" / "airbyte__GET_FLAT_FILE_ARCHIVED_ORDERS_DATA_BY_ORDER_DATE.csv"
    result = import_file(sessions, archived, settings)
    assert result.format == "amazon-all-orders"
    assert result.rows_read > 0 and result.quarantined == result.rows_read  # its "data" rows repeat the header
    feedback = import_file(sessions, reference / "amazon" / "airbyte__GET_SELLER_FEEDBACK_DATA.csv", settings)
    assert feedback.format == "amazon-feedback" and feedback.quarantined == feedback.rows_read == 2


@pytest.mark.parametrize(
    "name",
    [
        "accountHealthReport-example.json",
        "transcribed__GET_V2_SELLER_PERFORMANCE_REPORT_DE_excerpt.json",
        "airbyte__GET_V2_SELLER_PERFORMANCE_REPORT.json",
    ],
)
def test_performance_reports_in_every_known_spelling(sessions, settings, reference, name):
    result = import_file(sessions, reference / "amazon" / name, settings, account="acme")
    assert (result.status, result.format) == ("ok", "amazon-performance"), result.error
    with sessions() as session:
        reports = session.scalars(select(PerformanceReport)).all()
        metrics = session.scalars(select(PerformanceMetric)).all()
    assert reports and metrics
    names = {m.name for m in metrics}
    assert "orderDefectRate" in names or "lateShipmentRate" in names
    if name.startswith("accountHealth"):
        assert "preFulfillmentCancellationRate" in names
        cancel = next(m for m in metrics if m.name == "preFulfillmentCancellationRate")
        assert (cancel.numerator, cancel.denominator, cancel.rate) == (551, 17197, 0.005)
        assert {r.account_status for r in reports} & {"AT_RISK", "NORMAL", "SUSPENDED"}
    if name.startswith("transcribed"):
        (report,) = reports
        assert (report.ahr_score, report.ahr_status, report.marketplace_id) == (428, "GREAT", "A1PA6795UKMFR9")
        odr = {m.channel: m for m in metrics if m.name == "orderDefectRate"}
        assert odr["afn"].denominator == 4322 and odr["mfn"].denominator == 11
        assert odr["mfn"].date_from == datetime(2026, 8, 26, tzinfo=UTC)


def test_json_that_is_not_a_performance_report_is_rejected(sessions, settings, tmp_path):
    result = import_file(sessions, write(tmp_path / "x.json", '{"payload": []}'), settings)
    assert result.status == "rejected" and "performanceMetrics" in result.error


def test_a_user_mapping_file_imports_another_layout(sessions, settings, tmp_path):
    mapping = write(
        tmp_path / "shipstation.toml",
        """
target = "orders"
[constants]
marketplace = "amazon.co.uk"
[columns]
order_id = "Order #"
carrier = "Carrier"
[columns.purchase_date]
source = "Order Date"
formats = ["%d/%m/%Y %H:%M"]
[columns.fulfillment_channel]
source = "Channel"
values = { "Self" = "MFN" }
[columns.order_status]
source = "State"
values = { "Done" = "Shipped" }
""",
    )
    path = write(
        tmp_path / "export.csv",
        "Order #,Order Date,Channel,State,Carrier\n"
        "206-1,31/10/2026 14:05,Self,Done,Royal Mail\n206-2,32/10/2026 14:05,Self,Done,DPD\n",
    )
    (result,) = import_paths(sessions, [path], settings, mapping_file=mapping)
    assert (result.format, result.inserted, result.quarantined) == ("shipstation", 1, 1)
    order = orders_by_id(sessions)["206-1"]
    assert order.purchase_date == datetime(2026, 10, 31, 14, 5, tzinfo=UTC)
    assert (order.marketplace, order.carrier, order.order_status) == ("amazon.co.uk", "Royal Mail", "Shipped")


def test_a_broken_mapping_file_is_a_usage_error(tmp_path):
    from monitor.errors import UsageError

    with pytest.raises(UsageError, match="not a column of the canonical orders format"):
        load_mapping(write(tmp_path / "m.toml", 'target = "orders"\n[columns]\nbogus = "X"\n'))
    with pytest.raises(UsageError, match="no rule for required column"):
        load_mapping(write(tmp_path / "m.toml", 'target = "orders"\n[columns]\norder_id = "X"\n'))


def test_a_truncated_last_line_is_quarantined_and_the_rest_kept(sessions, settings, tmp_path):
    path = write(tmp_path / "cut.csv", ORDERS_HEADER + "A-1,2026-10-01,MFN,Shipped,,,,\nA-2,2026-10-0")
    result = import_file(sessions, path, settings)
    assert (result.rows_read, result.inserted, result.quarantined) == (2, 1, 1)
    with sessions() as session:
        row = session.scalars(select(QuarantinedRow)).one()
    assert (row.line_number, row.raw) == (3, "A-2,2026-10-0") and "fields" in row.reason


def test_a_file_missing_a_required_column_is_rejected_with_the_reason(sessions, settings, tmp_path):
    path = write(tmp_path / "orders.csv", "order_id,purchase_date,order_status\nA-1,2026-10-01,Shipped\n")
    result = import_file(sessions, path, settings)
    assert result.status == "rejected" and "unknown format" in result.error
    forced = import_file(sessions, path, settings, forced_format="orders")
    assert forced.status == "rejected" and forced.error == "the header lacks fulfillment_channel: not an orders file"


def test_duplicate_rows_in_one_file_make_one_order_and_the_last_value_wins(sessions, settings, tmp_path):
    path = write(
        tmp_path / "dup.csv",
        ORDERS_HEADER
        + "A-1,2026-10-01,MFN,Unshipped,,,,S1\n"
        + "A-1,2026-10-01,MFN,Unshipped,,,,S1\n"
        + "A-1,2026-10-01,MFN,Shipped,,2026-10-02T10:00:00Z,UPS,\n",
    )
    result = import_file(sessions, path, settings)
    assert (result.rows_read, result.inserted, result.updated, result.quarantined) == (3, 1, 0, 0)
    order = orders_by_id(sessions)["A-1"]
    assert (order.order_status, order.carrier, order.sku) == ("Shipped", "UPS", "S1")
    assert order.shipped_at == datetime(2026, 10, 2, 10, tzinfo=UTC)


def test_a_file_in_a_wrong_legacy_encoding_is_read_as_cp1252_not_lost(sessions, settings, tmp_path):
    # UTF-8 with one stray Latin-1 byte: not valid UTF-8, so the whole file is read as cp1252
    content = (ORDERS_HEADER + "A-1,2026-10-01,MFN,Shipped,,,,Caf\u00e9\n").encode(
        "utf-8"
    ) + b"A-2,2026-10-01,MFN,Shipped,,,,Caf\xe9\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(content)
    result = import_file(sessions, path, settings)
    assert (result.status, result.encoding, result.inserted) == ("ok", "cp1252", 2)
    assert orders_by_id(sessions)["A-2"].sku == "Caf\u00e9"


def test_padded_fields_are_trimmed(sessions, settings, tmp_path):
    path = write(tmp_path / "pad.csv", ORDERS_HEADER + " A-1 , 2026-10-01 ,mfn, shipped ,,,UPS , MUG \n")
    result = import_file(sessions, path, settings)
    assert result.inserted == 1, result
    order = orders_by_id(sessions)["A-1"]
    assert (order.fulfillment_channel, order.order_status, order.carrier, order.sku) == ("MFN", "Shipped", "UPS", "MUG")


def test_a_large_file_in_small_chunks_imports_every_row(database_url, tmp_path):
    from monitor import db
    from monitor.config import load_settings

    settings = load_settings(environ={"DATABASE_URL": database_url, "IMPORT_CHUNK_ROWS": "997"})
    engine = db.make_engine(database_url)
    db.migrate(engine)
    sessions = db.session_factory(engine)
    lines = [
        f"L-{n},2026-10-01T00:00:{n % 60:02d}Z,{'MFN' if n % 2 else 'AFN'},Shipped,,,,SKU-{n % 7}"
        for n in range(30_000)
    ]
    lines[12_345] = "L-12345,not-a-date,MFN,Shipped,,,,X"
    result = import_file(sessions, write(tmp_path / "big.csv", ORDERS_HEADER + "\n".join(lines) + "\n"), settings)
    assert (result.rows_read, result.inserted, result.quarantined) == (30_000, 29_999, 1)
    with sessions() as session:
        assert session.scalar(select(QuarantinedRow.line_number)) == 12_347
        assert (
            session.scalar(select(func.count()).select_from(Order).where(Order.fulfillment_channel == "MFN")) == 14_999
        )
    engine.dispose()


def test_a_fresh_accounts_orders_are_copied_straight_until_one_is_stored(database_url, tmp_path, monkeypatch):
    """PostgreSQL COPies the orders of an account that had none stored straight into orders; an
    order already stored (here one a later chunk repeats) undoes that chunk's COPY, and that
    chunk and the rest are merged, as is every import of an account with orders. The figures
    and the stored orders are the merge's, on both databases."""
    from monitor import db
    from monitor.config import load_settings
    from monitor.ingest.store import Store

    ways: list[tuple[bool, bool]] = []  # copied straight, and still to be tried in this import
    real = Store._copied_straight

    def spied(self, *args):
        ways.append((real(self, *args), self._straight))
        return ways[-1][0]

    monkeypatch.setattr(Store, "_copied_straight", spied)
    settings = load_settings(environ={"DATABASE_URL": database_url, "IMPORT_CHUNK_ROWS": "10"})
    engine = db.make_engine(database_url)
    db.migrate(engine)
    sessions = db.session_factory(engine)
    lines = [f"S-{n},2026-10-01T00:00:{n:02d}Z,MFN,Shipped,,,UPS,SKU-{n}" for n in range(30)]
    lines.insert(22, "S-3,2026-10-01T00:00:03Z,MFN,Shipped,,,DHL,SKU-3")  # the third of four chunks repeats S-3
    first = import_file(sessions, write(tmp_path / "first.csv", ORDERS_HEADER + "\n".join(lines) + "\n"), settings)
    later = "S-5,2026-10-01T00:00:05Z,MFN,Shipped,,,UPS,SKU-5\nS-99,2026-10-02T00:00:00Z,AFN,Shipped,,,,SKU-9\n"
    second = import_file(sessions, write(tmp_path / "second.csv", ORDERS_HEADER + later), settings)
    stored = orders_by_id(sessions)
    engine.dispose()
    assert (first.rows_read, first.inserted, first.updated, first.skipped) == (31, 30, 1, 0)
    assert (second.inserted, second.updated, second.skipped) == (1, 0, 1)
    assert len(stored) == 31
    assert (stored["S-3"].carrier, stored["S-3"].sku, stored["S-29"].carrier) == ("DHL", "SKU-3", "UPS")
    assert stored["S-20"].purchase_date.replace(tzinfo=None) == datetime(2026, 10, 1, 0, 0, 20)
    assert {o.first_import_id for o in stored.values()} == {first.import_id, second.import_id}
    straight, merged, stored_before = (True, True), (False, False), (False, True)
    expected = [straight, straight, merged, merged, stored_before]
    assert ways == (expected if database_url.startswith("postgresql") else [])


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])  # split by pyarrow; by the csv module
def test_a_large_file_holds_one_chunk_in_memory_at_a_time(database_url, tmp_path, monkeypatch, encoding):
    """Memory is bounded by IMPORT_CHUNK_ROWS: on SQLite the chunk before is gone when the next
    one is made (before, the loop's variable kept it alive while the next was read and
    converted); on PostgreSQL the next is read while one is written, and no third is held."""
    import weakref

    from monitor import db
    from monitor.config import load_settings
    from monitor.ingest import reader

    alive: list[int] = []
    made: list[weakref.ref] = []

    def counted(base):
        class Counted(base):
            def __init__(self, *args, **kwargs) -> None:
                alive.append(sum(ref() is not None for ref in made))  # earlier chunks still held
                super().__init__(*args, **kwargs)
                made.append(weakref.ref(self))

        return Counted

    monkeypatch.setattr(reader, "ColumnChunk", counted(reader.ColumnChunk))
    monkeypatch.setattr(reader, "Chunk", counted(reader.Chunk))
    engine = db.make_engine(database_url)
    db.migrate(engine)
    rows = "".join(f"114-{n},2026-10-01T10:00:00+00:00,MFN,Shipped,amazon.com,Café\n" for n in range(50))
    header = "order_id,purchase_date,fulfillment_channel,order_status,marketplace,product_name\n"
    path = write(tmp_path / "orders.csv", header + rows, encoding)
    settings = load_settings(environ={"DATABASE_URL": database_url, "IMPORT_CHUNK_ROWS": "10"})
    result = import_file(db.session_factory(engine), path, settings)
    name = orders_by_id(db.session_factory(engine))["114-7"].product_name
    engine.dispose()
    assert (result.status, result.inserted, name) == ("ok", 50, "Café")
    ahead = 1 if database_url.startswith("postgresql") else 0
    # PostgreSQL: the next chunk is made while one is written (unless the writing ended first: a
    # race that a busy machine loses now and then), never a third
    assert len(alive) == 5 and alive[0] == 0 and max(alive) == ahead


def test_text_numbers_and_missing_values_are_stored_exactly_on_every_database(database_url, tmp_path):
    """PostgreSQL's staging COPY is CSV that pyarrow writes: quotes, commas, backslashes, the
    text-format NULL marker and the word NULL stay text, missing fields stay NULL, numbers and
    flags keep their values (the same file gives the same rows on SQLite)."""
    import csv
    import io

    from monitor import db
    from monitor.config import load_settings

    names = ['Pizza 12" "stone", peel', "back\\slash \\N", "NULL", "Grüße 🍕", "semi;colon 'single' \\"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["order_id", "purchase_date", "fulfillment_channel", "order_status", "product_name", "sku"]
        + ["quantity", "order_total", "tracking_valid", "buyer_requested_cancel"]
    )
    for n, name in enumerate(names):
        writer.writerow(
            [f"115-{n}", "2026-10-01T10:00:00.000001+00:00", "MFN", "Shipped", name, "" if n % 2 else f"S,{n}"]
            + [str(n + 1) if n != 2 else "", ["0.1", "1234567.89", "", "-2.25", "19.99"][n]]
            + [["true", "false", "", "TRUE", "no"][n], ["", "yes", "false", "", "true"][n]]
        )
    path = write(tmp_path / "orders.csv", out.getvalue())
    engine = db.make_engine(database_url)
    db.migrate(engine)
    sessions = db.session_factory(engine)
    result = import_file(sessions, path, load_settings(environ={"DATABASE_URL": database_url}))
    assert (result.status, result.inserted, result.quarantined) == ("ok", 5, 0)
    orders = orders_by_id(sessions)
    engine.dispose()
    got = [
        (o.product_name, o.sku, o.quantity, o.order_total, o.tracking_valid, o.buyer_requested_cancel)
        for o in (orders[f"115-{n}"] for n in range(5))
    ]
    assert got == [
        (names[0], "S,0", 1, 0.1, True, None),
        (names[1], None, 2, 1234567.89, False, True),
        ("NULL", "S,2", None, None, None, False),
        ("Grüße 🍕", None, 4, -2.25, True, None),
        (names[4], "S,4", 5, 19.99, False, True),
    ]
    assert orders["115-0"].purchase_date == datetime(2026, 10, 1, 10, 0, 0, 1, tzinfo=UTC)


def fail_on_the_third_chunk(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """An import fails on its third chunk, while converting it ("reading") or writing it."""
    from monitor.ingest import importer
    from monitor.ingest.store import Store

    calls = {"n": 0}

    def failing(real):
        def call(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError(f"boom while {where}")
            return real(*args, **kwargs)

        return call

    if where == "reading":
        monkeypatch.setattr(importer, "order_frame", failing(importer.order_frame))
    else:
        monkeypatch.setattr(Store, "write_orders", failing(Store.write_orders))


@pytest.mark.parametrize("where", ["reading", "writing"])
def test_a_failure_while_reading_ahead_or_writing_rejects_the_file_whole(database_url, tmp_path, monkeypatch, where):
    """On PostgreSQL the next chunk is converted in a thread while one is written: a failure on
    either side still rejects the file whole (nothing stored), and no thread is left behind."""
    import threading

    from monitor import db
    from monitor.config import load_settings
    from monitor.ingest import importer

    fail_on_the_third_chunk(monkeypatch, where)
    engine = db.make_engine(database_url)
    db.migrate(engine)
    sessions = db.session_factory(engine)
    rows = "".join(f"116-{n},2026-10-01T10:00:00+00:00,MFN,Shipped\n" for n in range(60))
    path = write(tmp_path / "orders.csv", "order_id,purchase_date,fulfillment_channel,order_status\n" + rows)
    settings = load_settings(environ={"DATABASE_URL": database_url, "IMPORT_CHUNK_ROWS": "10"})
    result = importer.import_file(sessions, path, settings)
    stored = count(sessions, Order)
    engine.dispose()
    assert result.status == "rejected" and f"RuntimeError: boom while {where}" in (result.error or "")
    assert stored == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("import-read")]
