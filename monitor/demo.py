"""Sample data: realistic report files for two seller accounts, ending today.

`acme-us` sells on Amazon.com and Amazon.ca, ships its own orders (MFN) and uses FBA; its late
shipments have been rising over the last three weeks and a few A-to-z claims came in. `bolt-de` is a
small, healthy FBM seller on Amazon.de and Amazon.fr whose export comes from a German shipping tool
(tab-separated, cp1252). Amazon judges every marketplace alone, so each one gets its own figures.
The data is random but seeded, so every run tells the same story.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from monitor.timeutil import utcnow

DAYS = 120
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
class Profile:
    account: str
    marketplaces: tuple[tuple[str, str, str, float], ...]  # (marketplace, currency, order-id prefix, share)
    mfn_per_day: int
    afn_per_day: int
    late_share: float  # share of MFN orders shipped late, before the trend
    late_trend: float  # extra late share per day over the last TREND_DAYS days
    feedback_share: float  # share of shipped orders that get 1-2 star feedback
    claim_share: float  # share of shipped orders with an A-to-z claim
    carriers: tuple[str, ...]
    skus: tuple[str, ...]


ACME = Profile(
    "acme-us",
    (("amazon.com", "USD", "113", 0.8), ("amazon.ca", "CAD", "702", 0.2)),
    32,
    20,
    0.018,
    0.009,
    0.003,
    0.0015,
    ("UPS", "USPS", "FedEx"),
    ("MUG-BLUE-12", "MUG-RED-12", "TEAPOT-1L", "COASTER-SET-4", "KETTLE-STEEL"),
)
BOLT = Profile(
    "bolt-de",
    (("amazon.de", "EUR", "302", 0.75), ("amazon.fr", "EUR", "405", 0.25)),
    12,
    0,
    0.008,
    0.0,
    0.0008,
    0.0,
    ("DHL", "Hermes", "DPD"),
    ("SCHRAUBE-M6", "DÜBEL-8MM", "WINKEL-GRÖSSE-L", "HAKEN-GROß"),
)


def write_sample_reports(directory: Path, now: datetime | None = None, seed: int = 7) -> list[tuple[Path, str]]:
    """Write the sample files; returns (path, account) in import order."""
    now = now or utcnow().replace(minute=0, second=0, microsecond=0)  # same hour, same files
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files: list[tuple[Path, str]] = []
    for profile, delimiter, encoding, suffix in ((ACME, ",", "utf-8", "csv"), (BOLT, "\t", "cp1252", "tsv")):
        orders = list(_orders(profile, now, rng))
        path = directory / f"{profile.account}_orders.{suffix}"
        _write(path, ORDER_COLUMNS, orders, delimiter, encoding)
        files.append((path, profile.account))
        defects = list(_defects(orders, now, rng, profile))
        path = directory / f"{profile.account}_defects.{suffix}"
        _write(path, DEFECT_COLUMNS, defects, delimiter, encoding)
        files.append((path, profile.account))
    return files


def _write(path: Path, columns: list[str], rows: list[dict[str, str]], delimiter: str, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=delimiter, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def _orders(p: Profile, now: datetime, rng: random.Random) -> Iterator[dict[str, str]]:
    start = datetime.combine((now - timedelta(days=DAYS)).date(), time(0), tzinfo=UTC)
    number = 0
    for day in range(DAYS + 1):
        day_start = start + timedelta(days=day)
        days_left = (now - day_start).days
        late_share = p.late_share + p.late_trend * max(0, TREND_DAYS - days_left)
        for channel, count in (("MFN", p.mfn_per_day), ("AFN", p.afn_per_day)):
            for _ in range(rng.randint(int(count * 0.8), int(count * 1.2))):
                purchased = day_start + timedelta(seconds=rng.randint(0, 86399))
                if purchased >= now:
                    continue
                number += 1
                market = _marketplace(p, rng)
                yield _order(
                    p,
                    market,
                    channel,
                    f"{market[2]}-{number:07d}-{rng.randint(1000000, 9999999)}",
                    purchased,
                    now,
                    late_share,
                    rng,
                )


def _marketplace(p: Profile, rng: random.Random) -> tuple[str, str, str, float]:
    draw = rng.random()
    for market in p.marketplaces:
        draw -= market[3]
        if draw < 0:
            return market
    return p.marketplaces[-1]


def _order(
    p: Profile,
    market: tuple[str, str, str, float],
    channel: str,
    order_id: str,
    purchased: datetime,
    now: datetime,
    late_share: float,
    rng: random.Random,
) -> dict[str, str]:
    sku = rng.choice(p.skus)
    quantity = rng.choice((1, 1, 1, 2, 3))
    row = {
        "order_id": order_id,
        "purchase_date": _iso(purchased),
        "fulfillment_channel": channel,
        "marketplace": market[0],
        "sku": sku,
        "quantity": str(quantity),
        "order_total": f"{quantity * rng.uniform(9, 60):.2f}",
        "currency": market[1],
    }
    ship_by = datetime.combine((purchased + timedelta(days=2)).date(), time(23, 59, 59), tzinfo=UTC)
    if channel == "MFN":
        row["latest_ship_date"] = _iso(ship_by)
    if rng.random() < 0.012:  # cancelled before shipping
        cancelled = purchased + timedelta(hours=rng.uniform(1, 30))
        if cancelled < now:
            row.update(
                order_status="Canceled",
                cancelled_at=_iso(cancelled),
                cancelled_by=rng.choice(("buyer", "buyer", "seller", "")),
            )
            return row
    late = rng.random() < late_share
    shipped = ship_by + timedelta(hours=rng.uniform(2, 40)) if late else purchased + timedelta(hours=rng.uniform(3, 40))
    if shipped >= now:
        row["order_status"] = "Unshipped"
        return row
    carrier = rng.choice(p.carriers)
    row.update(
        order_status="Shipped",
        shipped_at=_iso(shipped),
        carrier=carrier,
        tracking_id=f"{carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}",
    )
    if channel == "MFN":
        row["tracking_valid"] = "true" if rng.random() < 0.985 else "false"
    promised = datetime.combine((ship_by + timedelta(days=4)).date(), time(23, 59, 59), tzinfo=UTC)
    row["latest_delivery_date"] = _iso(promised)
    delivered = shipped + timedelta(hours=rng.uniform(24, 110 if rng.random() < 0.96 else 200))
    if delivered < now:
        row["delivered_at"] = _iso(delivered)
    return row


def _defects(orders: list[dict[str, str]], now: datetime, rng: random.Random, p: Profile) -> Iterator[dict[str, str]]:
    comments = (
        "Arrived late and the box was crushed",
        "Never received it",
        "Wrong size, seller did not answer",
        "Item damaged <b>badly</b>",
        "Not as described",
    )
    for row in orders:
        if row["order_status"] != "Shipped":
            continue
        draw = rng.random()
        if draw < p.feedback_share:
            kind = "negative_feedback"
        elif draw < p.feedback_share + p.claim_share:
            kind = "a_to_z_claim"
        else:
            continue
        received = datetime.fromisoformat(row["purchase_date"]) + timedelta(days=rng.uniform(5, 25))
        if received >= now:
            continue
        defect = {"order_id": row["order_id"], "defect_type": kind, "received_at": _iso(received)}
        if kind == "negative_feedback":
            defect.update(rating=str(rng.choice((1, 2))), status="active", comment=rng.choice(comments))
        else:
            defect["status"] = rng.choice(("open", "granted", "denied"))
        yield defect
