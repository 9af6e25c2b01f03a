"""Canonical records: turning one row of strings into validated order, defect or
feedback values. A row that cannot be read raises RowError with the reason.

A record holds only the fields the row actually carries (non-empty values), so
that merging never erases what an earlier file taught us.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from monitor.domain import ORDER_TIMESTAMPS
from monitor.marketplaces import normalize
from monitor.printable import printable
from monitor.timeutil import parse_timestamp

__all__ = ["ORDER_TIMESTAMPS", "RowError", "defect_record", "order_record"]


class RowError(ValueError):
    """One row cannot be imported; the message is the quarantine reason."""


CHANNELS = {"afn": "AFN", "amazon": "AFN", "fba": "AFN", "mfn": "MFN", "merchant": "MFN", "fbm": "MFN"}

ORDER_STATUSES = {
    "pending": "Pending",
    "pendingavailability": "PendingAvailability",
    "unshipped": "Unshipped",
    "partiallyshipped": "PartiallyShipped",
    "shipping": "PartiallyShipped",
    "shipped": "Shipped",
    "complete": "Shipped",
    "canceled": "Canceled",
    "cancelled": "Canceled",
    "invoiceunconfirmed": "InvoiceUnconfirmed",
    "unfulfillable": "Unfulfillable",
}

CANCELLERS = {"seller": "seller", "buyer": "buyer", "amazon": "amazon", "unknown": None}

DEFECT_STATUSES = {
    "a_to_z_claim": {"open", "granted", "denied", "withdrawn", "protected"},
    "chargeback": {"open", "reversed", "fraud"},
    "negative_feedback": {"active", "removed"},
}

MAX_QUANTITY = 100_000  # units in one order: more is a bad row
MAX_AMOUNT = 1e9  # an order total at or beyond this (either sign) is a bad row

BOOLEANS = {"true": True, "yes": True, "y": True, "1": True, "false": False, "no": False, "n": False, "0": False}


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch == "_")


def channel(text: str) -> str:
    try:
        return CHANNELS[_key(text)]
    except KeyError:
        raise RowError(f"unknown fulfillment_channel {text[:40]!r} (expected AFN or MFN)") from None


def order_status(text: str) -> str:
    key = _key(text)
    if key.startswith("shipped"):  # Amazon's detailed forms: "Shipped - Delivered to Buyer", ...
        return "Shipped"
    try:
        return ORDER_STATUSES[key]
    except KeyError:
        raise RowError(f"unknown order_status {text[:40]!r}") from None


def timestamp(name: str, text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise RowError(f"bad {name}: {exc}") from None


def boolean(name: str, text: str) -> bool:
    try:
        return BOOLEANS[text.strip().lower()]
    except KeyError:
        raise RowError(f"bad {name}: {text[:20]!r} is not true or false") from None


def integer(name: str, text: str, low: int | None = None, high: int | None = None) -> int:
    try:
        value = Decimal(text.strip().replace(",", ""))
        if not value.is_finite() or value.adjusted() > 15:  # never build a huge int from "1e999999999"
            raise ValueError
        number = int(value)
    except (InvalidOperation, ValueError):
        raise RowError(f"bad {name}: {text[:20]!r} is not a number") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise RowError(f"bad {name}: {number} is outside {low}-{high}")
    return number


# currency symbols as exports write them, longest first (C$ before $)
CURRENCY_SYMBOLS = {
    "US$": "USD",
    "CA$": "CAD",
    "C$": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "MX$": "MXN",
    "R$": "BRL",
    "S$": "SGD",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "￥": "JPY",
    "₹": "INR",
    "zł": "PLN",
    "kr": "SEK",
    "TL": "TRY",
}
_SYMBOL = re.compile("|".join(re.escape(s) for s in CURRENCY_SYMBOLS))
_CODE = re.compile(r"\b[A-Z]{3}\b")
_THOUSANDS = {",": re.compile(r"\d{1,3}(,\d{3})+"), ".": re.compile(r"\d{1,3}(\.\d{3}){2,}")}


def currency_of(text: str) -> str | None:
    """The currency an amount's text names (`$43.00`, `1.043,00 EUR`), if any."""
    code = _CODE.search(text)
    if code:
        return code.group()
    symbol = _SYMBOL.search(text)
    return CURRENCY_SYMBOLS[symbol.group()] if symbol else None


def amount(text: str) -> float:
    """An amount as exports write it: `1043.00`, `$1,043.00`, `1.043,00 €`, `-5`, `(5.00)`, `USD 12`.
    With both separators the last one is the decimal point; a lone comma before exactly three
    digits groups thousands, else it is the decimal point. ValueError when it is no amount."""
    t = _CODE.sub("", _SYMBOL.sub("", text)).replace("\xa0", "").replace("\u202f", "").replace(" ", "").strip()
    negative = t.startswith("-") or (t.startswith("(") and t.endswith(")"))
    t = t.strip("()").lstrip("-+")
    if "," in t and "." in t:
        decimal = "," if t.rfind(",") > t.rfind(".") else "."
        t = t.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif "," in t:
        t = t.replace(",", "") if _THOUSANDS[","].fullmatch(t) else t.replace(",", ".")
    elif _THOUSANDS["."].fullmatch(t):
        t = t.replace(".", "")
    if not t or not re.fullmatch(r"\d*\.?\d+|\d+\.", t):
        raise ValueError(f"{text[:20]!r} is not an amount")
    number = float(Decimal(t))
    return -number if negative else number


def money(name: str, text: str) -> float:
    try:
        value = round(amount(text), 2)
    except (InvalidOperation, ValueError, OverflowError):
        value = float("nan")
    if not math.isfinite(value) or abs(value) >= MAX_AMOUNT:
        raise RowError(f"bad {name}: {text[:20]!r} is not an amount")
    return value


def _text(limit: int) -> Callable[[str, str], str]:
    return lambda _name, value: printable(value).strip()[:limit]


def _canceller(_name: str, text: str) -> str | None:
    try:
        return CANCELLERS[_key(text)]
    except KeyError:
        raise RowError(f"unknown cancelled_by {text[:20]!r} (expected seller, buyer or amazon)") from None


TEXT_LIMITS = {
    "sales_channel": 50,
    "order_id": 100,
    "account": 100,
    "marketplace": 50,
    "tracking_id": 100,
    "carrier": 100,
    "ship_service_level": 100,
    "sku": 1000,
    "asin": 1000,
    "product_name": 2000,
}

_ORDER_FIELDS: dict[str, Callable[[str, str], Any]] = {
    "account": _text(TEXT_LIMITS["account"]),
    "marketplace": lambda _n, v: normalize(v),
    "sales_channel": _text(TEXT_LIMITS["sales_channel"]),
    "purchase_date": timestamp,
    "fulfillment_channel": lambda _n, v: channel(v),
    "order_status": lambda _n, v: order_status(v),
    "latest_ship_date": timestamp,
    "shipped_at": timestamp,
    "cancelled_at": timestamp,
    "cancelled_by": _canceller,
    "buyer_requested_cancel": boolean,
    "tracking_id": _text(TEXT_LIMITS["tracking_id"]),
    "tracking_valid": boolean,
    "carrier": _text(TEXT_LIMITS["carrier"]),
    "ship_service_level": _text(TEXT_LIMITS["ship_service_level"]),
    "latest_delivery_date": timestamp,
    "delivered_at": timestamp,
    "sku": _text(TEXT_LIMITS["sku"]),
    "asin": _text(TEXT_LIMITS["asin"]),
    "product_name": _text(TEXT_LIMITS["product_name"]),
    "quantity": lambda n, v: integer(n, v, 0, MAX_QUANTITY),
    "order_total": money,
    "currency": lambda _n, v: v.strip().upper()[:3],
}
ORDER_COLUMNS = ("order_id", *_ORDER_FIELDS)
ORDER_REQUIRED = ("order_id", "purchase_date", "fulfillment_channel", "order_status")


def _required(values: Mapping[str, str], names: tuple[str, ...]) -> None:
    missing = [name for name in names if not printable(values.get(name, "")).strip()]
    if missing:
        raise RowError(f"missing {', '.join(missing)}")


def order_record(values: Mapping[str, str]) -> dict[str, Any]:
    """A canonical order from canonical column names to strings."""
    _required(values, ORDER_REQUIRED)
    record: dict[str, Any] = {"order_id": printable(values["order_id"]).strip()[: TEXT_LIMITS["order_id"]]}
    for name, parse in _ORDER_FIELDS.items():
        text = values.get(name)
        if text is not None and text.strip():
            parsed = parse(name, text)
            if parsed is not None:
                record[name] = parsed
    return record


DEFECT_COLUMNS = ("order_id", "defect_type", "received_at", "account", "status", "rating", "comment", "defect_id")


def defect_record(values: Mapping[str, str]) -> dict[str, Any]:
    """A canonical defect event from canonical column names to strings."""
    _required(values, ("order_id", "defect_type", "received_at"))
    defect_type = _key(values["defect_type"])
    if defect_type not in DEFECT_STATUSES:
        raise RowError(f"unknown defect_type {values['defect_type'][:40]!r}")
    record: dict[str, Any] = {
        "order_id": printable(values["order_id"]).strip()[:100],
        "defect_type": defect_type,
        "received_at": timestamp("received_at", values["received_at"]),
    }
    status = values.get("status", "").strip().lower()
    if status:
        if status not in DEFECT_STATUSES[defect_type]:
            allowed = ", ".join(sorted(DEFECT_STATUSES[defect_type]))
            raise RowError(f"unknown status {status[:20]!r} for {defect_type} (expected {allowed})")
        record["status"] = status
    if values.get("rating", "").strip():
        record["rating"] = integer("rating", values["rating"], 1, 5)
    for name, limit in (("comment", 5000), ("account", 100), ("defect_id", 200)):
        if printable(values.get(name, "")).strip():
            record[name] = printable(values[name]).strip()[:limit]
    return record


def defect_key(record: Mapping[str, Any]) -> str:
    """The stable identity of a defect event within its account."""
    if record.get("defect_id"):
        return f"id:{record['defect_id']}"
    return f"{record['order_id']}|{record['defect_type']}|{record['received_at'].isoformat()}"
