"""File formats: recognising a header and turning its rows into canonical records.

Each adapter turns the values of one row (header name -> text) into a list of
(kind, record) pairs, kind being "order", "defect" or "feedback".
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import FileRejected, UsageError
from monitor.ingest import records
from monitor.ingest.records import RowError
from monitor.timeutil import parse_with_formats

Records = list[tuple[str, dict[str, Any]]]

PERFORMANCE = "amazon-performance"


@dataclass
class Adapter:
    name: str
    required: tuple[str, ...]
    description: str
    private: bool = False  # rows hold personal data: scrub e-mail addresses from quarantined text

    def matches(self, header: Sequence[str]) -> bool:
        return set(self.required) <= set(header)

    def check_header(self, header: Sequence[str]) -> None:
        missing = [c for c in self.required if c not in header]
        if missing:
            raise FileRejected(f"not a {self.name} file: the header lacks {', '.join(missing)}")

    def convert(self, values: Mapping[str, str]) -> Records:
        raise NotImplementedError  # each adapter overrides this


class CanonicalOrders(Adapter):
    def convert(self, values: Mapping[str, str]) -> Records:
        return [("order", records.order_record(values))]


class CanonicalDefects(Adapter):
    def convert(self, values: Mapping[str, str]) -> Records:
        return [("defect", records.defect_record(values))]


_ALL_ORDERS_COLUMNS = {
    "amazon-order-id": "order_id",
    "purchase-date": "purchase_date",
    "order-status": "order_status",
    "fulfillment-channel": "fulfillment_channel",
    "sales-channel": "marketplace",
    "sku": "sku",
    "asin": "asin",
    "product-name": "product_name",
    "quantity": "quantity",
    "item-price": "order_total",
    "currency": "currency",
    "ship-service-level": "ship_service_level",
}


class AmazonAllOrders(Adapter):
    """One row per order item; the store folds items into their order."""

    def convert(self, values: Mapping[str, str]) -> Records:
        canonical = {target: values.get(source, "") for source, target in _ALL_ORDERS_COLUMNS.items()}
        canonical["marketplace"] = canonical["marketplace"].lower()
        record = records.order_record(canonical)
        buyer_cancel = values.get("is-buyer-requested-cancellation", "").strip().lower()
        if record["order_status"] == "Canceled" and buyer_cancel == "true":
            record["cancelled_by"] = "buyer"
        return [("order", record)]


@dataclass
class AmazonFeedback(Adapter):
    date_formats: tuple[str, ...] = ()

    def convert(self, values: Mapping[str, str]) -> Records:
        order_id = values.get("Order ID", "").strip()
        if not order_id:
            raise RowError("missing Order ID")
        try:
            received = parse_with_formats(values.get("Date", ""), self.date_formats)
        except ValueError as exc:
            raise RowError(f"bad Date: {exc}") from None
        rating = records.integer("Rating", values.get("Rating", ""), 1, 5)
        comment = values.get("Comments", "").strip()[:5000] or None
        feedback = {
            "order_id": order_id[:100],
            "received_at": received,
            "rating": rating,
            "comment": comment,
            "response": values.get("Your Response", "").strip()[:5000] or None,
        }
        result: Records = [("feedback", feedback)]  # "Rater Email" is personal data: never kept
        if rating <= 2:
            defect = {"order_id": order_id[:100], "defect_type": "negative_feedback",
                      "received_at": received, "rating": rating, "status": "active"}
            if comment:
                defect["comment"] = comment
            result.append(("defect", defect))
        return result


# ------------------------------------------------------------------ mappings
@dataclass
class ColumnRule:
    source: str
    formats: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass
class MappedFormat(Adapter):
    """Any other layout, described by a TOML mapping file (see mappings/*.toml)."""

    target: str = "orders"
    rules: dict[str, ColumnRule] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    detect: tuple[str, ...] = ()

    def matches(self, header: Sequence[str]) -> bool:
        return bool(self.detect) and set(self.detect) <= set(header)

    def check_header(self, header: Sequence[str]) -> None:
        missing = sorted({rule.source for rule in self.rules.values()} - set(header))
        if missing:
            raise FileRejected(f"mapping {self.name}: the file has no column {', '.join(missing)}")

    def convert(self, values: Mapping[str, str]) -> Records:
        canonical = dict(self.constants)
        for name, rule in self.rules.items():
            text = values.get(rule.source, "").strip()
            text = rule.values.get(text, text)
            if text and rule.formats:
                try:
                    text = parse_with_formats(text, rule.formats).isoformat()
                except ValueError as exc:
                    raise RowError(f"bad {rule.source}: {exc}") from None
            canonical[name] = text
        if self.target == "orders":
            return [("order", records.order_record(canonical))]
        return [("defect", records.defect_record(canonical))]


def load_mapping(path: Path) -> MappedFormat:
    """Read a TOML mapping file; a broken one is a usage error with one line."""
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"mapping {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"mapping {path}: not valid TOML ({exc})") from None
    try:
        return _mapping_from_spec(spec, path.stem)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"mapping {path}: {exc}") from None


def _mapping_from_spec(spec: dict[str, Any], default_name: str) -> MappedFormat:
    target = spec.get("target", "orders")
    allowed = {"orders": records.ORDER_COLUMNS, "defects": records.DEFECT_COLUMNS}
    if target not in allowed:
        raise ValueError(f"target must be orders or defects, not {target!r}")
    rules: dict[str, ColumnRule] = {}
    for name, rule in spec.get("columns", {}).items():
        if name not in allowed[target]:
            raise ValueError(f"{name!r} is not a column of the canonical {target} format")
        if isinstance(rule, str):
            rule = {"source": rule}
        rules[name] = ColumnRule(str(rule["source"]), tuple(rule.get("formats", ())),
                                 {str(k): str(v) for k, v in rule.get("values", {}).items()})
    constants = {str(k): str(v) for k, v in spec.get("constants", {}).items()}
    required = records.ORDER_REQUIRED if target == "orders" else ("order_id", "defect_type", "received_at")
    lacking = [c for c in required if c not in rules and c not in constants]
    if lacking:
        raise ValueError(f"no rule for required column {', '.join(lacking)}")
    name = str(spec.get("name", default_name))
    return MappedFormat(name, (), str(spec.get("description", "")), False, target, rules, constants,
                        tuple(spec.get("detect", {}).get("columns", ())))


def builtin_mappings() -> list[MappedFormat]:
    """Mappings shipped with the monitor, recognised by their header like any format."""
    folder = Path(__file__).resolve().parent.parent / "mappings"
    return [load_mapping(path) for path in sorted(folder.glob("*.toml"))]


def adapters(feedback_date_formats: Sequence[str]) -> list[Adapter]:
    """Every built-in delimited-file format, in the order detection tries them."""
    return [
        AmazonAllOrders("amazon-all-orders", ("amazon-order-id", "purchase-date", "order-status", "fulfillment-channel"),
                        "Amazon All Orders / Archived Orders flat file"),
        AmazonFeedback("amazon-feedback", ("Date", "Rating", "Comments", "Order ID"),
                       "Amazon seller feedback report", True, tuple(feedback_date_formats)),
        CanonicalOrders("orders", records.ORDER_REQUIRED, "canonical orders file"),
        CanonicalDefects("defects", ("order_id", "defect_type", "received_at"), "canonical defects file"),
        *builtin_mappings(),
    ]


FORMAT_NAMES = ("orders", "defects", "amazon-all-orders", "amazon-feedback", PERFORMANCE)


def choose(header: Sequence[str], candidates: Sequence[Adapter], forced: str | None) -> Adapter:
    """The adapter for this header: the forced one, else the first that matches."""
    if forced:
        for adapter in candidates:
            if adapter.name == forced:
                adapter.check_header(header)
                return adapter
        names = ", ".join(a.name for a in candidates)
        raise UsageError(f"--format {forced}: unknown format (known: {names}, {PERFORMANCE})")
    for adapter in candidates:
        if adapter.matches(header):
            return adapter
    shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
    raise FileRejected(f"unknown format: no known report has the header {shown}")
