"""The files sellers really have, in their real layouts with realistic values: Amazon's Unshipped
Orders report (both layouts, successive snapshots), its Fulfilled Shipments report, ShipStation's
exports that mix several shops, an eBay-style export with `$43.00` amounts and a totals row."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from monitor.config import load_settings
from monitor.inbox import import_inbox_once
from monitor.models import ImportRecord, Order, QuarantinedRow
from monitor.monitor import Monitor
from tests.conftest import REFERENCE, env_of, reconfigured

FIXTURE_UNSHIPPED = "amazon/airbyte__GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING.csv"
FIXTURE_SHIPMENTS = "amazon/airbyte__GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL.csv"
# the columns of the report's longer layouts beyond the fixture's (the marketplace and the buyer's
# cancellation request among them); padded to 68 and 85 columns with further real-looking ones
EXTRA_UNSHIPPED = [
    "buyer-name",
    "sales-channel",
    "is-buyer-requested-cancellation",
    "buyer-cancel-reason",
    "delivery-start-date",
    "delivery-end-date",
    "delivery-time-zone",
    "delivery-Instructions",
    "is-sold-by-ab",
    "is-ispu",
    "store-chain-store-id",
    "ship-from-address-name",
    "ship-from-address-1",
    "ship-from-city",
    "ship-from-state",
    "ship-from-postal-code",
    "ship-from-country",
]


def fixture_header(name: str) -> list[str]:
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"{path} is not here (tests read ../shared/reference when it is present)")
    return path.read_text(encoding="utf-8").splitlines()[0].split("\t")


def unshipped_header(width: int) -> list[str]:
    base = fixture_header(FIXTURE_UNSHIPPED) + EXTRA_UNSHIPPED
    return base + [f"customized-field-{n}" for n in range(width - len(base))]


def tsv(header: list[str], rows: list[dict[str, str]], line_end: str = "\r\n") -> str:
    return line_end.join(["\t".join(header)] + ["\t".join(row.get(c, "") for c in header) for row in rows]) + line_end


def unshipped_row(order: str, item: str, market: str, quantity: int, buyer_cancel: str = "false") -> dict[str, str]:
    return {
        "order-id": order,
        "order-item-id": item,
        "purchase-date": "2026-10-20T08:34:47+00:00",
        "payments-date": "2026-10-20T08:34:47+00:00",
        "reporting-date": "2026-10-21T04:21:19+00:00",
        "promise-date": "2026-10-22T23:59:59-07:00" if market == "Amazon.com" else "2026-10-22T23:59:59+02:00",
        "days-past-promise": "-1",
        "buyer-email": "p3vkb18m93xc7lv@marketplace.amazon.com",
        "buyer-name": "Pat Example",
        "sku": f"SKU-{item[-1]}",
        "product-name": 'Cast iron pan 12"',
        "quantity-purchased": str(quantity),
        "quantity-shipped": "0",
        "quantity-to-ship": str(quantity),
        "ship-service-level": "Standard",
        "recipient-name": "Pat Example",
        "ship-country": "US" if market == "Amazon.com" else "DE",
        "is-business-order": "false",
        "is-prime": "true",
        "sales-channel": market,
        "is-buyer-requested-cancellation": buyer_cancel,
    }


@pytest.mark.parametrize("width", [68, 85])
def test_unshipped_orders_report_in_both_layouts_and_successive_snapshots(monitor, tmp_path, width):
    header = unshipped_header(width)
    assert len(header) == width
    first = [
        unshipped_row("111-0000001-0000001", "10001", "Amazon.com", 2),
        unshipped_row("111-0000001-0000001", "10002", "Amazon.com", 1),  # a second item of the same order
        unshipped_row("302-0000002-0000002", "20001", "Amazon.de", 1, buyer_cancel="true"),
    ]
    second = first[:2] + [unshipped_row("111-0000003-0000003", "30001", "Amazon.com", 4)]  # the DE one shipped
    (tmp_path / "u1.txt").write_text(tsv(header, first), encoding="utf-8")
    (tmp_path / "u2.txt").write_text(tsv(header, second), encoding="utf-8")
    run = monitor.import_paths([tmp_path / "u1.txt", tmp_path / "u2.txt"], account="acme")
    assert [(r.format, r.status, r.quarantined) for r in run.results] == [("amazon-unshipped-orders", "ok", 0)] * 2
    assert run.results[1].duplicates == 1 and run.results[1].skipped == 1  # the folded item; the unchanged order
    with monitor.sessions() as session:
        orders = {o.order_id: o for o in session.scalars(select(Order))}
    us = orders["111-0000001-0000001"]
    assert us.quantity == 3  # its items add up, once: the second snapshot does not double them
    assert (us.fulfillment_channel, us.order_status, us.marketplace) == ("MFN", "Unshipped", "amazon.com")
    assert us.latest_ship_date.isoformat() == "2026-10-23T06:59:59+00:00"  # promise-date: the ship-by
    de = orders["302-0000002-0000002"]
    assert de.marketplace == "amazon.de" and de.buyer_requested_cancel is True
    assert orders["111-0000003-0000003"].quantity == 4
    # All Orders later says the US order shipped; an older snapshot imported after it does not undo that
    all_orders = (
        "amazon-order-id\tpurchase-date\torder-status\tfulfillment-channel\tsales-channel\tsku\tquantity\titem-price\n"
        "111-0000001-0000001\t2026-10-20T08:34:47+00:00\tShipped\tMerchant\tAmazon.com\tSKU-1\t2\t20.00\n"
        "111-0000001-0000001\t2026-10-20T08:34:47+00:00\tShipped\tMerchant\tAmazon.com\tSKU-2\t1\t10.00\n"
    )
    (tmp_path / "all.txt").write_text(all_orders, encoding="utf-8")
    monitor.import_paths([tmp_path / "all.txt"], account="acme")
    monitor.import_paths([tmp_path / "u1.txt"], account="acme", force=True)
    with monitor.sessions() as session:
        again = session.scalar(select(Order).where(Order.order_id == "111-0000001-0000001"))
    assert again is not None and (again.order_status, again.quantity) == ("Shipped", 3)
    assert again.latest_ship_date == us.latest_ship_date


def test_fulfilled_shipments_report_gives_amazons_shipments(monitor, tmp_path):
    header = fixture_header(FIXTURE_SHIPMENTS)
    base = {
        "purchase-date": "2026-10-10T10:00:00+00:00",
        "payments-date": "2026-10-10T10:05:00+00:00",
        "reporting-date": "2026-10-11T02:00:00+00:00",
        "buyer-email": "x@marketplace.amazon.de",
        "currency": "EUR",
        "ship-service-level": "Standard",
        "fulfillment-channel": "AFN",
        "sales-channel": "Amazon.de",
    }
    rows = [
        {
            **base,
            "amazon-order-id": "302-1",
            "shipment-id": "D1",
            "shipment-item-id": "1",
            "sku": "A",
            "quantity-shipped": "1",
            "item-price": "19.99",
            "shipment-date": "2026-10-11T06:00:00+00:00",
            "carrier": "DHL",
            "tracking-number": "00340434",
            "estimated-arrival-date": "2026-10-13T20:00:00+00:00",
        },
        {
            **base,
            "amazon-order-id": "302-1",
            "shipment-id": "D1",
            "shipment-item-id": "2",
            "sku": "B",
            "quantity-shipped": "2",
            "item-price": "5.00",
            "shipment-date": "2026-10-11T06:00:00+00:00",
            "carrier": "DHL",
            "tracking-number": "00340434",
            "estimated-arrival-date": "2026-10-13T20:00:00+00:00",
        },
        {
            **base,
            "amazon-order-id": "302-2",
            "shipment-id": "D2",
            "shipment-item-id": "3",
            "sku": "A",
            "quantity-shipped": "1",
            "item-price": "19.99",
            "shipment-date": "2026-10-12T06:00:00+00:00",
            "carrier": "Hermes",
            "tracking-number": "H123",
            "estimated-arrival-date": "2026-10-14T20:00:00+00:00",
        },
    ]
    (tmp_path / "fba.txt").write_text(tsv(header, rows), encoding="utf-8")
    (result,) = monitor.import_paths([tmp_path / "fba.txt"], account="acme").results
    assert (result.format, result.status, result.rows_read, result.inserted, result.duplicates) == (
        "amazon-fulfilled-shipments",
        "ok",
        3,
        2,
        1,
    )
    with monitor.sessions() as session:
        first = session.scalar(select(Order).where(Order.order_id == "302-1"))
    assert first is not None
    assert (first.fulfillment_channel, first.order_status, first.marketplace, first.quantity) == (
        "AFN",
        "Shipped",
        "amazon.de",
        3,
    )
    assert (first.carrier, first.tracking_id, first.order_total) == ("DHL", "00340434", 24.99)  # item prices add up
    assert first.shipped_at.isoformat() == "2026-10-11T06:00:00+00:00"


SHIPMENTS_HEADER = REFERENCE / "shipping" / "shipstation_shipments_export_header.csv"


def shipstation_shipments(rows: list[dict[str, str]]) -> str:
    if not SHIPMENTS_HEADER.is_file():
        pytest.skip("the ShipStation header is not here")
    header = SHIPMENTS_HEADER.read_text(encoding="utf-8").strip().split(",")
    return ",".join(header) + "\r\n" + "".join(",".join(r.get(c, "") for c in header) + "\r\n" for r in rows)


def shipment(order: str, store: str, voided: str = "False") -> dict[str, str]:
    return {
        "OrderNumber": order,
        "OrderDate": "10/20/2026 9:15:00 AM",
        "ShipDate": "10/21/2026 4:02:00 PM",
        "Carrier": "ups",
        "TrackingNumber": f"1Z{order[-4:]}",
        "StoreName": store,
        "SKU": "PAN-12",
        "Quantity": "1",
        "OrderTotal": "43.00",
        "Voided": voided,
        "BuyerEmail": "someone@example.com",
        "ServiceCode": "ups_ground",
    }


def test_a_shipstation_export_of_several_shops_needs_the_users_shop_names(monitor, tmp_path):
    rows = [shipment(f"113-000000{n}-1", "Amazon US") for n in range(4)]
    rows += [
        shipment(f"#10{n}", shop) for n, shop in enumerate(["Shopify Store", "TikTok Shop", "Walmart", "Shopify Store"])
    ]
    rows.append(shipment("113-0000009-1", "Amazon US", voided="True"))
    (tmp_path / "ss.csv").write_text(shipstation_shipments(rows), encoding="utf-8")
    (refused,) = monitor.import_paths([tmp_path / "ss.csv"], account="acme").results
    assert refused.status == "rejected" and "set SHIPSTATION_STORES" in (refused.error or "")
    told = Monitor(reconfigured(monitor.settings, shipstation_stores="Amazon*"), monitor.sessions, monitor.http)
    (result,) = told.import_paths([tmp_path / "ss.csv"], account="acme").results
    assert (result.format, result.status, result.inserted, result.skipped, result.quarantined) == (
        "shipstation-shipments",
        "ok",
        4,
        5,
        0,
    )
    with monitor.sessions() as session:
        stored = {o.order_id: o for o in session.scalars(select(Order))}
    assert sorted(stored) == [f"113-000000{n}-1" for n in range(4)]
    one = stored["113-0000001-1"]
    assert (one.fulfillment_channel, one.order_status, one.carrier, one.order_total) == ("MFN", "Shipped", "ups", 43.0)
    assert one.currency is None  # "43.00" names none
    assert one.shipped_at.isoformat() == "2026-10-21T16:02:00+00:00"


def test_the_shipstation_orders_grid_quoted_with_crlf(monitor, tmp_path):
    header = '"Order #","Store","Age","Order Date","Item Name","Recipient","Ship Date","Quantity","Item SKU","Order Total","Shipping Paid","Rate","Service","Tags"'
    rows = [
        [
            "113-1",
            "Amazon US",
            "3",
            "10/20/2026",
            'Pan, 12"',
            "Pat",
            "10/21/2026",
            "1",
            "PAN-12",
            "$1,043.00",
            "$0.00",
            "$9.10",
            "UPS Ground",
            "",
        ],
        [
            "113-1",
            "Amazon US",
            "3",
            "10/20/2026",
            "Lid",
            "Pat",
            "10/21/2026",
            "2",
            "LID-12",
            "$1,043.00",
            "$0.00",
            "$9.10",
            "UPS Ground",
            "",
        ],
        ["113-2", "Amazon US", "1", "10/22/2026", "Pan", "Sam", "", "1", "PAN-12", "$43.00", "$0.00", "", "", ""],
        ["#1001", "My Shopify", "1", "10/22/2026", "Pan", "Kim", "", "1", "PAN-12", "$43.00", "$0.00", "", "", ""],
    ]
    quoted = "\r\n".join([header] + [",".join('"' + v.replace('"', '""') + '"' for v in r) for r in rows]) + "\r\n"
    (tmp_path / "grid.csv").write_text(quoted, encoding="utf-8")
    told = Monitor(reconfigured(monitor.settings, shipstation_stores="Amazon US"), monitor.sessions, monitor.http)
    (result,) = told.import_paths([tmp_path / "grid.csv"], account="acme").results
    assert (result.format, result.status, result.inserted, result.duplicates, result.skipped) == (
        "shipstation-orders-grid",
        "ok",
        2,
        1,
        1,
    )
    with monitor.sessions() as session:
        stored = {o.order_id: o for o in session.scalars(select(Order))}
    assert (stored["113-1"].order_status, stored["113-1"].quantity) == ("Shipped", 3)
    assert stored["113-2"].order_status == "Unshipped" and stored["113-2"].shipped_at is None


EBAY_MAPPING = """
name = "ebay-orders"
target = "orders"
[detect]
columns = ["Sales Record Number", "Order Number", "Sale Date", "Total Price"]
[filter]
"Sales Record Number" = ["?*"]   # the spreadsheet's totals row has none
[constants]
fulfillment_channel = "MFN"
order_status = "Shipped"
[columns]
order_id = "Order Number"
order_total = "Total Price"
[columns.purchase_date]
source = "Sale Date"
formats = ["%b-%d-%y"]
"""


def test_a_users_mapping_in_mappings_dir_reads_amounts_and_drops_the_totals_row_in_the_inbox(tmp_path):
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "ebay.toml").write_text(EBAY_MAPPING, encoding="utf-8")
    inbox = tmp_path / "inbox"
    (inbox / "shop-ebay").mkdir(parents=True)
    export = (
        "Sales Record Number,Order Number,Sale Date,Total Price\n"
        "1001,12-01001-00001,Oct-20-26,$43.00\n"
        '1002,12-01002-00002,Oct-21-26,"$1,043.00"\n'
        '1003,12-01003-00003,Oct-21-26,"1.043,50 €"\n'
        ',,,"=SUM(D2:D4)"\n'
    )
    (inbox / "shop-ebay" / "ebay.csv").write_text(export, encoding="utf-8")
    old = time.time() - 60
    os.utime(inbox / "shop-ebay" / "ebay.csv", (old, old))
    settings = load_settings(
        environ={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
            "INBOX_DIR": str(inbox),
            "MAPPINGS_DIR": str(tmp_path / "mappings"),
        }
    )
    with Monitor.open(settings, migrate=True) as monitor:
        run = import_inbox_once(monitor.sessions, settings)
        (result,) = run.results
        assert (result.format, result.status, result.inserted, result.skipped, result.quarantined) == (
            "ebay-orders",
            "ok",
            3,
            1,
            0,
        )
        with monitor.sessions() as session:
            stored = {o.order_id: (o.order_total, o.currency) for o in session.scalars(select(Order))}
            ledger = session.scalar(select(ImportRecord))
            assert session.scalar(select(QuarantinedRow)) is None
        assert ledger is not None and ledger.account_key == "shop-ebay" and ledger.skipped == 1
        assert stored == {
            "12-01001-00001": (43.0, "USD"),
            "12-01002-00002": (1043.0, "USD"),
            "12-01003-00003": (1043.5, "EUR"),
        }
        assert [a.key for a in monitor.accounts()] == ["shop-ebay"]
    assert env_of(settings)  # the same settings a CLI run would see
