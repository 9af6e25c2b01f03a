"""The shipping log: every order of a period with its ship-by date, confirmation, carrier,
tracking and delivery, written from the monitor's own data as a CSV for an appeal (the LSR
checklist's `shipping-log` item)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.accounts import require_account
from monitor.models import Order
from monitor.printable import printable
from monitor.slugs import unique_slug

COLUMNS = (
    ("order_id", "order id"),
    ("marketplace", "marketplace"),
    ("fulfillment_channel", "fulfilment channel"),
    ("order_status", "status"),
    ("purchase_date", "ordered (UTC)"),
    ("latest_ship_date", "ship by (UTC)"),
    ("shipped_at", "shipment confirmed (UTC)"),
    ("on_time", "confirmed by the ship-by date"),
    ("carrier", "carrier"),
    ("ship_service_level", "service"),
    ("tracking_id", "tracking id"),
    ("tracking_valid", "tracking valid"),
    ("latest_delivery_date", "deliver by (UTC)"),
    ("delivered_at", "delivered (UTC)"),
    ("cancelled_at", "cancelled (UTC)"),
    ("cancelled_by", "cancelled by"),
    ("sku", "SKU"),
)


@dataclass(frozen=True)
class ShippingLog:
    path: Path
    orders: int
    first_day: date
    last_day: date
    late: int  # confirmed after the ship-by date, or never confirmed though it passed


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return printable(str(value)).replace("\n", " ")


def _on_time(order: Order, as_of: datetime) -> bool | None:
    if order.latest_ship_date is None or order.order_status.lower().startswith("cancel"):
        return None
    if order.shipped_at is None or order.shipped_at >= as_of:
        return None if order.latest_ship_date >= as_of else False
    return order.shipped_at <= order.latest_ship_date


def write_shipping_log(
    session: Session,
    account: str,
    folder: Path,
    first_day: date,
    last_day: date,
    as_of: datetime,
    marketplace: str | None = None,
) -> ShippingLog:
    """Every order of `account` ordered from `first_day` to `last_day` (inclusive, UTC), merchant-
    and Amazon-fulfilled, as a CSV in `folder`; its path and counts."""
    owner = require_account(session, account)
    start = datetime.combine(first_day, time(0)).replace(tzinfo=as_of.tzinfo)
    end = datetime.combine(last_day + timedelta(days=1), time(0)).replace(tzinfo=as_of.tzinfo)
    query = (
        select(Order)
        .where(Order.account_id == owner.id, Order.purchase_date >= start, Order.purchase_date < end)
        .order_by(Order.purchase_date, Order.order_id)
    )
    if marketplace:
        query = query.where(Order.marketplace == marketplace)
    folder.mkdir(parents=True, exist_ok=True)
    where = f"-{marketplace}" if marketplace else ""
    path = folder / f"shipping-log-{unique_slug(account)}{where}-{first_day}-to-{last_day}.csv"
    count = late = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([label for _, label in COLUMNS])
        for order in session.scalars(query.execution_options(yield_per=2000)):
            on_time = _on_time(order, as_of)
            late += on_time is False
            count += 1
            writer.writerow(
                [_cell(on_time) if name == "on_time" else _cell(getattr(order, name)) for name, _ in COLUMNS]
            )
    return ShippingLog(path, count, first_day, last_day, late)
