"""File formats: recognising a header and turning its rows into canonical data.

Order formats (the bulk of every import) turn a chunk of rows at once into a
DataFrame of canonical order columns (`canonical_orders`). The others turn the
values of one row (header name -> text) into a list of (kind, record) pairs,
kind being "defect" or "feedback" (`convert`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitor.errors import FileRejected, UsageError
from monitor.ingest import records
from monitor.ingest.records import RowError
from monitor.printable import printable
from monitor.timeutil import parse_with_formats

Records = list[tuple[str, dict[str, Any]]]

PERFORMANCE = "amazon-performance"


@dataclass
class Adapter:
    name: str
    required: tuple[str, ...]
    description: str
    private: bool = False  # rows hold personal data: scrub e-mail addresses from quarantined text
    item_rows: bool = False  # one row per order item: rows of one order add up
    orders: bool = False  # produces orders, a chunk at a time, through canonical_orders()

    def matches(self, header: Sequence[str]) -> bool:
        return set(self.required) <= set(header)

    def check_header(self, header: Sequence[str]) -> None:
        missing = [c for c in self.required if c not in header]
        if missing:
            raise FileRejected(f"not a {self.name} file: the header lacks {', '.join(missing)}")

    def reads(self) -> set[str]:
        """The columns this format takes values from (a header naming one twice is ambiguous)."""
        return set(self.required)

    def convert(self, values: Mapping[str, str]) -> Records:
        """Records from one row (formats that are not order formats)."""
        raise TypeError(f"{self.name} is read a chunk at a time")

    def canonical_orders(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
        """Canonical order columns (strings) from a chunk, and {row position: reason} for rows
        that already failed here."""
        raise TypeError(f"{self.name} does not hold orders")


class CanonicalOrders(Adapter):
    def canonical_orders(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
        return frame, {}

    def reads(self) -> set[str]:
        return set(records.ORDER_COLUMNS)


class CanonicalDefects(Adapter):
    def convert(self, values: Mapping[str, str]) -> Records:
        return [("defect", records.defect_record(values))]

    def reads(self) -> set[str]:
        return set(records.DEFECT_COLUMNS)


_ALL_ORDERS_COLUMNS = {
    "amazon-order-id": "order_id",
    "purchase-date": "purchase_date",
    "order-status": "order_status",
    "fulfillment-channel": "fulfillment_channel",
    "sales-channel": "sales_channel",
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

    def canonical_orders(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
        canonical = pd.DataFrame(
            {target: frame[source] for source, target in _ALL_ORDERS_COLUMNS.items() if source in frame}
        )
        if "sales_channel" in canonical:  # Amazon.com is a marketplace; Non-Amazon is multi-channel fulfilment
            amazon = canonical["sales_channel"].str.lower().str.startswith("amazon.")
            canonical["marketplace"] = canonical["sales_channel"].where(amazon, "")
        if "is-buyer-requested-cancellation" in frame:
            canonical["buyer_requested_cancel"] = frame["is-buyer-requested-cancellation"]
        return canonical, {}

    def reads(self) -> set[str]:
        return {*_ALL_ORDERS_COLUMNS, "is-buyer-requested-cancellation"}


def feedback_key(order_id: str) -> str:
    """The key of the one negative-feedback defect an order can have (a revision replaces it)."""
    return f"feedback:{order_id}"


@dataclass
class AmazonFeedback(Adapter):
    date_formats: tuple[str, ...] = ()

    def reads(self) -> set[str]:
        return {"Date", "Rating", "Comments", "Your Response", "Order ID"}

    def convert(self, values: Mapping[str, str]) -> Records:
        order_id = printable(values.get("Order ID", "")).strip()
        if not order_id:
            raise RowError("missing Order ID")
        try:
            received = parse_with_formats(values.get("Date", ""), self.date_formats)
        except ValueError as exc:
            raise RowError(f"bad Date: {exc}") from None
        rating = records.integer("Rating", values.get("Rating", ""), 1, 5)
        comment = printable(values.get("Comments", "")).strip()[:5000] or None
        feedback = {
            "order_id": order_id[:100],
            "received_at": received,
            "rating": rating,
            "comment": comment,
            "response": printable(values.get("Your Response", "")).strip()[:5000] or None,
            "status": "active",
        }
        result: Records = [("feedback", feedback)]  # "Rater Email" is personal data: never kept
        if rating <= 2:
            defect = {
                "order_id": order_id[:100],
                "defect_type": "negative_feedback",
                "received_at": received,
                "rating": rating,
                "status": "active",
                "defect_key": feedback_key(order_id[:100]),
            }
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

    def reads(self) -> set[str]:
        return {rule.source for rule in self.rules.values()}

    def convert(self, values: Mapping[str, str]) -> Records:
        canonical, reasons = self.canonical_orders(pd.DataFrame({k: [v] for k, v in values.items()}, dtype=object))
        if reasons:
            raise RowError(reasons[0])
        return [("defect", records.defect_record({str(k): str(v) for k, v in canonical.iloc[0].items()}))]

    def canonical_orders(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
        """Canonical columns from the mapping's rules (for a defects mapping too, despite the name)."""
        canonical = pd.DataFrame(index=frame.index)
        reasons: dict[int, str] = {}
        for name, value in self.constants.items():
            canonical[name] = value
        for name, rule in self.rules.items():
            column = frame[rule.source]
            if rule.values:
                column = column.replace(rule.values)
            if rule.formats:
                column = self._dates(column, rule, reasons)
            canonical[name] = column
        return canonical, reasons

    @staticmethod
    def _dates(column: pd.Series, rule: ColumnRule, reasons: dict[int, str]) -> pd.Series:
        parsed = pd.Series(pd.NaT, index=column.index, dtype="datetime64[us, UTC]")
        for fmt in rule.formats:
            missing = parsed.isna() & (column != "")
            if not missing.any():
                break
            parsed = parsed.fillna(pd.to_datetime(column.where(missing), format=fmt, utc=True, errors="coerce"))
        failed = (column != "") & parsed.isna()
        for position in np.flatnonzero(failed.to_numpy()):
            reasons.setdefault(
                int(position),
                f"bad {rule.source}: date {str(column.iat[int(position)])[:40]!r} matches none of "
                f"{', '.join(rule.formats)}",
            )
        iso = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00") if parsed.notna().any() else parsed.astype(object)
        return iso.where(parsed.notna(), "").astype(object)


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
        rules[name] = ColumnRule(
            str(rule["source"]),
            tuple(rule.get("formats", ())),
            {str(k): str(v) for k, v in rule.get("values", {}).items()},
        )
    constants = {str(k): str(v) for k, v in spec.get("constants", {}).items()}
    required = records.ORDER_REQUIRED if target == "orders" else ("order_id", "defect_type", "received_at")
    lacking = [c for c in required if c not in rules and c not in constants]
    if lacking:
        raise ValueError(f"no rule for required column {', '.join(lacking)}")
    name = str(spec.get("name", default_name))
    item_rows = bool(spec.get("item_rows", False))
    return MappedFormat(
        name,
        (),
        str(spec.get("description", "")),
        False,
        item_rows,
        target == "orders",
        target,
        rules,
        constants,
        tuple(spec.get("detect", {}).get("columns", ())),
    )


def builtin_mappings() -> list[MappedFormat]:
    """Mappings shipped with the monitor, recognised by their header like any format."""
    folder = Path(__file__).resolve().parent.parent / "mappings"
    return [load_mapping(path) for path in sorted(folder.glob("*.toml"))]


def adapters(feedback_date_formats: Sequence[str]) -> list[Adapter]:
    """Every built-in delimited-file format, in the order detection tries them."""
    return [
        AmazonAllOrders(
            "amazon-all-orders",
            ("amazon-order-id", "purchase-date", "order-status", "fulfillment-channel"),
            "Amazon All Orders / Archived Orders flat file",
            item_rows=True,
            orders=True,
        ),
        AmazonFeedback(
            "amazon-feedback",
            ("Date", "Rating", "Comments", "Order ID"),
            "Amazon seller feedback report",
            True,
            date_formats=tuple(feedback_date_formats),
        ),
        CanonicalOrders("orders", records.ORDER_REQUIRED, "canonical orders file", orders=True),
        CanonicalDefects("defects", ("order_id", "defect_type", "received_at"), "canonical defects file"),
        *builtin_mappings(),
    ]


def unique_header(header: Sequence[str], adapter: Adapter) -> list[str]:
    """The header with every name once: a column the format reads named twice rejects the file
    (which one holds the data is anyone's guess); other repeated names get a suffix."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1 and name in adapter.reads():
            raise FileRejected(f"the header names {name[:40]!r} twice: which column holds it is not clear")
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


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
            adapter.check_header(header)  # a mapping recognised by some columns may need others
            return adapter
    shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
    raise FileRejected(f"unknown format: no known report has the header {shown}")
