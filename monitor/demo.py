"""Sample data: realistic report files for two seller accounts, ending today.

`acme-us` sells on Amazon.com and Amazon.ca, ships its own orders (MFN) and uses FBA; its late
shipments have been rising over the last three weeks and a few A-to-z claims came in. `bolt-de` is a
small, healthy FBM seller on Amazon.de and Amazon.fr whose export comes from a German shipping tool
(tab-separated, cp1252). Amazon judges every marketplace alone, so each one gets its own figures.
The data is random but seeded, so every run tells the same story.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from monitor.timeutil import utcnow

DAYS = 200  # of orders: the last 120 days have full windows for every metric (the first 80 fill them)
TREND_DAYS = 14
ORDER_COLUMNS = [
    "order_id",
    "purchase_date",
    "fulfillment_channel",
    "order_status",
    "marketplace",
    "latest_ship_date",
    "shipped_at",
    "cancelled_at",
    "cancelled_by",
    "tracking_id",
    "tracking_valid",
    "carrier",
    "latest_delivery_date",
    "delivered_at",
    "sku",
    "quantity",
    "order_total",
    "currency",
]
DEFECT_COLUMNS = ["order_id", "defect_type", "received_at", "status", "rating", "comment"]


@dataclass(frozen=True)
class Market:
    marketplace: str
    currency: str
    prefix: str  # of its order ids ("113" on Amazon.com)
    share: float  # of the account's orders
    trend: bool = False  # its own warehouse is the one falling behind (the story)


@dataclass(frozen=True)
class Profile:
    account: str
    markets: tuple[Market, ...]
    mfn_per_day: int
    afn_per_day: int
    late_share: float  # share of MFN orders shipped late, before the trend
    late_trend: float  # extra late share per day over the last TREND_DAYS days (trend markets only)
    defect_share: float  # share of shipped orders with negative feedback or a claim
    defect_if_late: float  # the extra share when the order shipped late
    claim_fraction: float  # of the defects, the A-to-z claims
    cancel_share: float  # share of orders cancelled before shipping
    seller_cancel_fraction: float  # of the cancellations, the seller's
    valid_tracking: float  # share of MFN shipments with valid tracking
    broken_tracking_days: int  # days ago a new label printer started uploading bad tracking numbers (trend markets)
    broken_valid_tracking: float  # the share of valid tracking since then
    slow_share: float  # share of shipments the carrier delivers days late
    carriers: tuple[str, ...]
    skus: tuple[str, ...]


ACME = Profile(
    "acme-us",
    (Market("amazon.com", "USD", "113", 0.8, trend=True), Market("amazon.ca", "CAD", "702", 0.2)),
    40,
    15,
    0.004,
    0.004,
    0.0008,
    0.06,
    0.35,
    0.006,
    0.15,
    0.995,
    28,
    0.8,
    0.01,
    ("UPS", "USPS", "FedEx"),
    ("MUG-BLUE-12", "MUG-RED-12", "TEAPOT-1L", "COASTER-SET-4", "KETTLE-STEEL"),
)
BOLT = Profile(
    "bolt-de",
    (Market("amazon.de", "EUR", "302", 0.75), Market("amazon.fr", "EUR", "405", 0.25)),
    30,
    0,
    0.001,
    0.0,
    0.0006,
    0.0,
    0.0,
    0.004,
    0.0,
    1.0,
    0,
    1.0,
    0.0,
    ("DHL", "Hermes", "DPD"),
    ("SCHRAUBE-M6", "DÜBEL-8MM", "WINKEL-GRÖSSE-L", "HAKEN-GROß"),
)


def write_sample_reports(directory: Path, now: datetime | None = None, seed: int = 7) -> list[tuple[Path, str]]:
    """Write the sample files; returns (path, account) in import order.

    Every calendar day's orders (their ids, times and fates) come from the seed and that day alone,
    so a run on a later day writes the same orders and defects again for the days both cover:
    importing them again updates, never duplicates."""
    now = now or utcnow().replace(minute=0, second=0, microsecond=0)  # same hour, same files
    directory.mkdir(parents=True, exist_ok=True)
    files: list[tuple[Path, str]] = []
    for profile, delimiter, encoding, suffix in ((ACME, ",", "utf-8", "csv"), (BOLT, "\t", "cp1252", "tsv")):
        orders: list[dict[str, str]] = []
        defects: list[dict[str, str]] = []
        for order, defect in _orders(profile, now, seed):
            orders.append(order)
            if defect is not None:
                defects.append(defect)
        path = directory / f"{profile.account}_orders.{suffix}"
        _write(path, ORDER_COLUMNS, orders, delimiter, encoding)
        files.append((path, profile.account))
        path = directory / f"{profile.account}_defects.{suffix}"
        _write(path, DEFECT_COLUMNS, defects, delimiter, encoding)
        files.append((path, profile.account))
    path = directory / "acme-us_walmart_po.csv"  # acme-us also sells on Walmart: Seller Center's PO export
    _write(path, WALMART_PO_COLUMNS, list(_walmart_orders(now, seed)), ",", "utf-8")
    files.append((path, ACME.account))
    path = directory / "acme-us_walmart_insights.json"  # and Walmart's own figures (its Insights API)
    path.write_text(json.dumps(_walmart_insights(now)), encoding="utf-8")
    files.append((path, ACME.account))
    return files


# Walmart's own figures for the demo's Walmart shop (in percent, as its Insights API gives them):
# all within Walmart's standards, the response rate nearest its 95 %
WALMART_FIGURES = {
    "otd": (96.4, 30),
    "vtr": (99.8, 30),
    "cancellations": (0.3, 30),
    "srr": (97.5, 30),
    "refunds": (1.1, 30),
    "negativeFeedback": (0.6, 60),
    "returns": (2.4, 60),
    "itemNotReceived": (0.2, 60),
}


def _walmart_insights(now: datetime) -> dict[str, dict[str, dict[str, dict[str, object]]]]:
    """Walmart's Insights summaries as saved together (`{"walmartInsights": {metric: answer}}`),
    refreshed three hours before `now`."""
    updated = f"{now - timedelta(hours=3):%Y-%m-%dT%H:%M:%S}Z"
    return {
        "walmartInsights": {
            name: {
                "payload": {
                    "sellerAccountableRate": rate,
                    "overallRate": rate,
                    "performanceRiskLevel": "Good",
                    "reportDuration": days,
                    "updatedTimestamp": updated,
                }
            }
            for name, (rate, days) in WALMART_FIGURES.items()
        }
    }


# Walmart Seller Center's PO export, as Walmart writes it (one row per order line)
WALMART_PO_COLUMNS = [
    "PO#",
    "Order#",
    "Order Date",
    "Ship By",
    "Customer Name",
    "Customer Shipping Address",
    "Customer Phone Number",
    "Customer Email ID",
    "Ship to Address 1",
    "Ship to Address 2",
    "City",
    "State",
    "Zip",
    "FLIDS",
    "Line#",
    "UPC",
    "Status",
    "Item Description",
    "Shipping Method",
    "Qty",
    "SKU",
    "Item Cost",
    "Shipping Cost",
    "Tax",
    "Update Status",
    "Update Qty",
    "Carrier",
    "Tracking Number",
    "Tracking Url",
]


def _walmart_orders(now: datetime, seed: int) -> Iterator[dict[str, str]]:
    """A small, healthy Walmart shop: a few orders a day, rarely cancelled; every day's the same
    whenever the demo runs."""
    first = (now - timedelta(days=DAYS)).date()
    for offset in range(DAYS + 1):
        day = first + timedelta(days=offset)
        rng = random.Random(f"{seed}|walmart|{day.isoformat()}")
        for n in range(rng.randint(3, 7)):
            ordered = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(seconds=rng.randint(0, 86399))
            if ordered >= now:
                continue
            number = (day.toordinal() * 10 + n) % 10**9
            cancelled = rng.random() < 0.003
            shipped = not cancelled and ordered + timedelta(days=1) < now
            yield {
                "PO#": f"{number:010d}",
                "Order#": f"2{number:012d}",
                "Order Date": f"{ordered:%m/%d/%Y}",
                "Ship By": f"{ordered + timedelta(days=2):%m/%d/%Y}",
                "Customer Name": "Walmart Buyer",
                "Line#": "1",
                "Status": "Cancelled" if cancelled else "Shipped" if shipped else "Acknowledged",
                "Item Description": "Blue mug, 12 oz",
                "Shipping Method": "Standard",
                "Qty": "1",
                "SKU": rng.choice(ACME.skus),
                "Item Cost": f"{9 + 51 * rng.random():.2f}",
                "Carrier": "USPS" if shipped else "",
                "Tracking Number": f"9400{rng.randint(10**15, 10**16 - 1)}" if shipped else "",
            }


def _write(path: Path, columns: list[str], rows: list[dict[str, str]], delimiter: str, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=delimiter, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def _orders(p: Profile, now: datetime, seed: int) -> Iterator[tuple[dict[str, str], dict[str, str] | None]]:
    first = (now - timedelta(days=DAYS)).date()
    for offset in range(DAYS + 1):
        day = first + timedelta(days=offset)
        day_start = datetime.combine(day, time(0), tzinfo=UTC)
        days_left = (now - day_start).days
        rng = random.Random(f"{seed}|{p.account}|{day.isoformat()}")
        for channel, count in (("MFN", p.mfn_per_day), ("AFN", p.afn_per_day)):
            for n in range(rng.randint(int(count * 0.8), int(count * 1.2))):
                purchased = day_start + timedelta(seconds=rng.randint(0, 86399))
                market = _marketplace(p, rng)
                late_share = p.late_share + (p.late_trend * max(0, TREND_DAYS - days_left) if market.trend else 0.0)
                broken = market.trend and days_left < p.broken_tracking_days
                valid = p.broken_valid_tracking if broken else p.valid_tracking
                serial = (day.toordinal() * 100 + n + (50 if channel == "AFN" else 0)) % 10**7
                order_id = f"{market.prefix}-{serial:07d}-{rng.randint(1000000, 9999999)}"
                fate = random.Random(f"{seed}|{order_id}")  # the order's own draws: stable whatever comes before
                if purchased < now:
                    yield _order(p, market, channel, order_id, purchased, now, late_share, valid, fate)


def _marketplace(p: Profile, rng: random.Random) -> Market:
    draw = rng.random()
    for market in p.markets:
        draw -= market.share
        if draw < 0:
            return market
    return p.markets[-1]


def _order(
    p: Profile,
    market: Market,
    channel: str,
    order_id: str,
    purchased: datetime,
    now: datetime,
    late_share: float,
    valid_share: float,
    rng: random.Random,
) -> tuple[dict[str, str], dict[str, str] | None]:
    draws = [rng.random() for _ in range(8)]  # every fate drawn up front: one draw never shifts another
    sku = rng.choice(p.skus)
    quantity = rng.choice((1, 1, 1, 2, 3))
    row = {
        "order_id": order_id,
        "purchase_date": _iso(purchased),
        "fulfillment_channel": channel,
        "marketplace": market.marketplace,
        "sku": sku,
        "quantity": str(quantity),
        "order_total": f"{quantity * (9 + 51 * draws[0]):.2f}",
        "currency": market.currency,
    }
    ship_by = datetime.combine((purchased + timedelta(days=2)).date(), time(23, 59, 59), tzinfo=UTC)
    if channel == "MFN":
        row["latest_ship_date"] = _iso(ship_by)
    if draws[1] < p.cancel_share:  # cancelled before shipping
        cancelled = purchased + timedelta(hours=1 + 29 * draws[2])
        if cancelled < now:
            by = "seller" if draws[3] < p.seller_cancel_fraction else "buyer"
            row.update(order_status="Canceled", cancelled_at=_iso(cancelled), cancelled_by=by)
            return row, None
    late = channel == "MFN" and draws[4] < late_share
    shipped = ship_by + timedelta(hours=2 + 38 * draws[2]) if late else purchased + timedelta(hours=3 + 37 * draws[2])
    if shipped >= now:
        row["order_status"] = "Unshipped"
        return row, None
    carrier = rng.choice(p.carriers)
    row.update(
        order_status="Shipped",
        shipped_at=_iso(shipped),
        carrier=carrier,
        tracking_id=f"{carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}",
    )
    if channel == "MFN":
        row["tracking_valid"] = "true" if draws[5] < valid_share else "false"
    promised = datetime.combine((ship_by + timedelta(days=4)).date(), time(23, 59, 59), tzinfo=UTC)
    row["latest_delivery_date"] = _iso(promised)
    transit = 24 + 86 * draws[6] if draws[7] >= p.slow_share else 150 + 50 * draws[6]
    delivered = shipped + timedelta(hours=transit)
    if delivered < now:
        row["delivered_at"] = _iso(delivered)
    return row, _defect(p, row, late, now, rng)


COMMENTS = (
    "Arrived late and the box was crushed",
    "Never received it",
    "Wrong size, seller did not answer",
    "Item damaged <b>badly</b>",
    "Not as described",
)


def _defect(p: Profile, row: dict[str, str], late: bool, now: datetime, rng: random.Random) -> dict[str, str] | None:
    """A shipped order's negative feedback or A-to-z claim, if it gets one (late ones more often)."""
    if rng.random() >= p.defect_share + (p.defect_if_late if late else 0.0):
        return None
    kind = "a_to_z_claim" if rng.random() < p.claim_fraction else "negative_feedback"
    received = datetime.fromisoformat(row["purchase_date"]) + timedelta(days=rng.uniform(5, 25))
    if received >= now:
        return None
    defect = {"order_id": row["order_id"], "defect_type": kind, "received_at": _iso(received)}
    if kind == "negative_feedback":
        defect.update(rating=str(rng.choice((1, 2))), status="active", comment=rng.choice(COMMENTS))
    else:
        defect["status"] = rng.choice(("open", "granted", "denied"))
    return defect
