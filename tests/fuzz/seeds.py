"""Seed files for the fuzzer: small, valid files in the layouts sellers really have.

Each seed is (name, bytes). The layouts are those of the real reports (Amazon's All Orders and
feedback flat files, the performance report JSON, Amazon India's sales export, the monitor's own
orders and defects files); the values are made up, seeded, so every run fuzzes the same files.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def canonical_orders(rng: random.Random, rows: int = 40, delimiter: str = ",") -> str:
    header = [
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
        "product_name",
        "quantity",
        "order_total",
        "currency",
    ]
    lines = [delimiter.join(header)]
    for n in range(rows):
        bought = T0 + timedelta(hours=rng.uniform(0, 24 * 30))
        cancelled = rng.random() < 0.1
        shipped = None if cancelled else bought + timedelta(hours=rng.uniform(2, 60))
        values = [
            f"113-{n:07d}-{rng.randint(1000000, 9999999)}",
            _iso(bought),
            rng.choice(("MFN", "AFN")),
            "Canceled" if cancelled else "Shipped",
            rng.choice(("amazon.com", "amazon.ca", "ATVPDKIKX0DER")),
            (bought + timedelta(days=2)).date().isoformat(),
            _iso(shipped) if shipped else "",
            _iso(bought + timedelta(hours=3)) if cancelled else "",
            rng.choice(("seller", "buyer", "")) if cancelled else "",
            f"1Z{rng.randint(10**9, 10**10 - 1)}" if shipped else "",
            rng.choice(("true", "false", "")) if shipped else "",
            rng.choice(("UPS", "USPS", "DHL")) if shipped else "",
            (bought + timedelta(days=6)).date().isoformat(),
            _iso(shipped + timedelta(days=3)) if shipped else "",
            rng.choice(("MUG-1", "TEAPOT-2", "KETTLE")),
            rng.choice(("Blue mug", "Teapot 1 l", "Kettle, steel")),
            str(rng.choice((1, 1, 2, 3))),
            f"{rng.uniform(5, 90):.2f}",
            "USD",
        ]
        if delimiter == ",":
            values = [f'"{v}"' if "," in v else v for v in values]
        lines.append(delimiter.join(values))
    return "\n".join(lines) + "\n"


def defects(rng: random.Random, rows: int = 20) -> str:
    lines = ["order_id,defect_type,received_at,status,rating,comment,defect_id"]
    for n in range(rows):
        kind = rng.choice(("negative_feedback", "a_to_z_claim", "chargeback"))
        status = {"negative_feedback": "active", "a_to_z_claim": "open", "chargeback": "open"}[kind]
        rating = str(rng.choice((1, 2))) if kind == "negative_feedback" else ""
        when = _iso(T0 + timedelta(hours=rng.uniform(0, 24 * 40)))
        lines.append(f"113-{n:07d}-1234567,{kind},{when},{status},{rating},Late and broken,D-{n}")
    return "\n".join(lines) + "\n"


ALL_ORDERS_HEADER = (
    "amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\t"
    "sales-channel\torder-channel\turl\tship-service-level\tproduct-name\tsku\tasin\titem-status\tquantity\t"
    "currency\titem-price\titem-tax\tshipping-price\tshipping-tax\tgift-wrap-price\tgift-wrap-tax\t"
    "item-promotion-discount\tship-promotion-discount\tship-country\tship-promotion-id\tpromotion-ids\t"
    "is-business-order\tpurchase-order-number\tprice-designation\tis-buyer-requested-cancellation"
)


def all_orders(rng: random.Random, rows: int = 30) -> str:
    lines = [ALL_ORDERS_HEADER]
    for n in range(rows):
        order = f"114-{n // 2:07d}-7654321"  # two item rows per order
        bought = T0 + timedelta(hours=rng.uniform(0, 24 * 30))
        status = rng.choice(("Shipped", "Shipped - Delivered to Buyer", "Pending", "Cancelled"))
        channel = rng.choice(("Amazon.com", "Amazon.com", "Non-Amazon"))
        values = [
            order,
            "",
            bought.isoformat(timespec="seconds"),
            (bought + timedelta(days=1)).isoformat(timespec="seconds"),
            status,
            rng.choice(("Merchant", "Amazon")),
            channel,
            "",
            "",
            "Standard",
            rng.choice(('12" pizza stone', "Tea cup, white", "Kettle")),
            f"SKU-{n % 5}",
            f"B0{n:08d}",
            status,
            str(rng.randint(1, 3)),
            "USD",
            f"{rng.uniform(5, 50):.2f}",
            "1.20",
            "0.00",
            "0.00",
            "",
            "",
            "",
            "",
            "US",
            "",
            "",
            "false",
            "",
            "",
            rng.choice(("false", "true", "")),
        ]
        lines.append("\t".join(values))
    return "\n".join(lines) + "\n"


def feedback(rng: random.Random, rows: int = 20) -> str:
    lines = ["Date\tRating\tComments\tYour Response\tOrder ID\tRater Email"]
    for n in range(rows):
        day = T0 + timedelta(days=rng.randint(0, 40))
        lines.append(
            f"{day:%m/%d/%y}\t{rng.randint(1, 5)}\t{rng.choice(('Great', 'Late', 'Broken, sadly'))}\t\t"
            f"113-{n:07d}-1234567\tbuyer{n}@marketplace.amazon.com"
        )
    return "\n".join(lines) + "\n"


def _figure(rng: random.Random, numerator: str, denominator: str, start: str, end: str) -> dict[str, object]:
    total = rng.randint(10, 5000)
    bad = rng.randint(0, total // 20)
    return {
        "status": rng.choice(("GOOD", "BAD", "NONE")),
        "targetValue": 0.04,
        "targetCondition": "LESS_THAN",
        "reportingDateRange": {"reportingDateFrom": start, "reportingDateTo": end},
        numerator: bad,
        denominator: total,
        "rate": bad / total,
    }


def performance(rng: random.Random) -> str:
    days = {
        "lsr": ("2026-10-21T00:00:00Z", "2026-11-19T23:59:59Z"),
        "odr": ("2026-09-06T00:00:00Z", "2026-11-04T23:59:59Z"),
    }
    document = {
        "accountStatuses": [
            {"marketplaceId": "ATVPDKIKX0DER", "businessType": "SELLING_ON_AMAZON", "status": "NORMAL"}
        ],
        "performanceMetrics": [
            {
                "marketplaceId": "ATVPDKIKX0DER",
                "accountHealthRating": {"ahrStatus": "GREAT", "ahrScore": 412},
                "orderDefectRate": {
                    "afn": _figure(rng, "orderWithDefects", "orderCount", *days["odr"]),
                    "mfn": {
                        **_figure(rng, "x", "orderCount", *days["odr"]),
                        "orderWithDefects": {"status": "GOOD", "count": 3},
                    },
                },
                "lateShipmentRate": _figure(rng, "lateShipmentCount", "orderCount", *days["lsr"]),
                "preFulfillmentCancellationRate": _figure(
                    rng, "cancellationCount", "orderCount", "2026-11-12T00:00:00Z", "2026-11-18T23:59:59Z"
                ),
                "validTrackingRate": _figure(
                    rng, "validTrackingCount", "shipmentCount", "2026-10-11T00:00:00Z", "2026-11-09T23:59:59Z"
                ),
                "unitOnTimeDeliveryRate": _figure(
                    rng, "unitOnTimeDeliveryCount", "totalUnitCount", "2026-10-11T00:00:00Z", "2026-11-09T23:59:59Z"
                ),
                "listingPolicyViolations": {"status": "GOOD", "defectsCount": 0},
                "warningStates": {"lateShipmentRate": {"status": "NONE"}},
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


IN_HEADER = (
    "index,Order ID,Date,Status,Fulfilment,ship-service-level,Category,Size,Courier Status,Qty,Amount,"
    "ship-city,ship-state,ship-postal-code,B2B,fulfilled-by"
)


def india_sales(rng: random.Random, rows: int = 30) -> str:
    lines = [IN_HEADER]
    for n in range(rows):
        day = T0 + timedelta(days=rng.randint(0, 60))
        date = f"{day:%m/%d/%y}" if n % 2 else f"{day:%m-%d-%y}"
        status = rng.choice(("Shipped", "Cancelled", "Shipped - Delivered to Buyer", "Pending"))
        lines.append(
            f"{n},171-{n:07d}-8192359,{date},{status},{rng.choice(('Amazon', 'Merchant'))},Expedited,Shirt,XL,"
            f"Shipped,{rng.randint(0, 2)},{rng.randint(200, 900)},PUNE,MAHARASHTRA,411001,FALSE,"
        )
    return "\n".join(lines) + "\n"


def seeds() -> list[tuple[str, bytes]]:
    """Every seed file: (file name, content)."""
    rng = random.Random(20261127)
    return [
        ("orders.csv", canonical_orders(rng).encode("utf-8")),
        ("orders.tsv", canonical_orders(rng, 30, "\t").encode("cp1252")),
        ("defects.csv", defects(rng).encode("utf-8")),
        ("all-orders.txt", all_orders(rng).encode("utf-8")),
        ("feedback.txt", feedback(rng).encode("utf-8")),
        ("performance.json", performance(rng).encode("utf-8")),
        ("india-sales.csv", india_sales(rng).encode("utf-8")),
    ]
