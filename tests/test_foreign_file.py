"""The real Amazon India export, read through the shipped mapping file."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import func, select

from monitor.ingest import import_file
from monitor.models import Order


def _independent_counts(path) -> dict[str, int]:
    """Counted straight from the raw CSV with the csv module, not with the monitor's code."""
    channels: dict[str, set[str]] = defaultdict(set)
    cancelled: set[str] = set()
    rows = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows += 1
            channels[row["Fulfilment"]].add(row["Order ID"])
            if row["Status"] == "Cancelled":
                cancelled.add(row["Order ID"])
    return {
        "orders": len(channels["Amazon"] | channels["Merchant"]),
        "afn": len(channels["Amazon"]),
        "mfn": len(channels["Merchant"]),
        "cancelled": len(cancelled),
        "rows": rows,
    }


def test_amazon_india_sales_export_imports_whole(sessions, settings, reference):
    path = reference / "data" / "amazon_in_sale_report_2022.csv"
    expected = _independent_counts(path)
    result = import_file(sessions, path, settings, account="india")
    assert (result.status, result.format, result.quarantined) == ("ok", "amazon-in-sale-report", 0)
    assert result.rows_read == expected["rows"] == 16355
    with sessions() as session:

        def n(*where):
            return session.scalar(select(func.count()).select_from(Order).where(*where))

        assert n() == expected["orders"] == result.inserted
        assert n(Order.fulfillment_channel == "AFN") == expected["afn"]
        assert n(Order.fulfillment_channel == "MFN") == expected["mfn"]
        assert n(Order.order_status == "Canceled") == expected["cancelled"]
        first, last = session.execute(select(func.min(Order.purchase_date), func.max(Order.purchase_date))).one()
    assert datetime(2022, 3, 1, tzinfo=UTC) <= first < last < datetime(2022, 7, 1, tzinfo=UTC)
