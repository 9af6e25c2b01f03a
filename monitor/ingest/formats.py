"""File formats: recognising a header and turning its rows into canonical data.

Order formats (the bulk of every import) turn a chunk of rows at once into a
DataFrame of canonical order columns (`canonical_orders`). The others turn the
values of one row (header name -> text) into a list of (kind, record) pairs,
kind being "defect" or "feedback" (`convert`).
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from monitor.errors import FileRejected, UsageError
from monitor.ingest import records
from monitor.ingest.records import RowError
from monitor.printable import printable
from monitor.timeutil import parse_with_formats

if TYPE_CHECKING:
    from monitor.config import Settings

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
    fill_only: tuple[str, ...] = ()  # canonical columns that only fill a stored order's empty fields
    # canonical_orders takes text columns held by pyarrow (pandas' ArrowDtype), not Python strings:
    # formats that only pick and rename columns; mappings, which compute, take Python strings
    arrow_columns: ClassVar[bool] = False

    @property
    def filtering(self) -> bool:
        """Does this format leave some rows out (see keep)?"""
        return False

    def keep(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of a chunk this format imports at all (the rest are counted as skipped)."""
        return np.ones(len(frame), dtype=bool)

    def matches(self, header: Sequence[str]) -> bool:
        return set(self.required) <= set(header)

    def check_header(self, header: Sequence[str]) -> None:
        missing = [c for c in self.required if c not in header]
        if missing:
            article = "an" if self.name[:1] in "aeiou" else "a"
            raise FileRejected(f"the header lacks {', '.join(missing)}: not {article} {self.name} file")

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
    arrow_columns = True

    def canonical_orders(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
        return frame, {}

    def reads(self) -> set[str]:
        return set(records.ORDER_COLUMNS)


class CanonicalDefects(Adapter):
    def convert(self, values: Mapping[str, str]) -> Records:
        return [("defect", records.defect_record(values))]

    def reads(self) -> set[str]:
        return set(records.DEFECT_COLUMNS)


class AmazonFlatFile(Adapter):
    """One of Amazon's tab-separated order reports: its columns renamed to canonical ones, plus
    constants for what the report implies (the Unshipped report lists MFN orders, ...). A
    `sales-channel` of Amazon.xx is also the marketplace; `Non-Amazon` is multi-channel
    fulfilment, which no metric counts."""

    arrow_columns = True

    def __init__(
        self,
        name: str,
        columns: Mapping[str, str],
        required: tuple[str, ...],
        description: str,
        constants: Mapping[str, str] | None = None,
        fill_only: tuple[str, ...] = (),
        private: bool = False,
    ) -> None:
        super().__init__(name, required, description, private, item_rows=True, orders=True, fill_only=fill_only)
        self.columns = dict(columns)
        self.constants = dict(constants or {})

    def canonical_orders(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
        canonical = pd.DataFrame(
            {target: frame[source] for source, target in self.columns.items() if source in frame}, index=frame.index
        )
        for name, value in self.constants.items():
            if name not in canonical:
                canonical[name] = value
        if "sales_channel" in canonical:
            amazon = canonical["sales_channel"].str.lower().str.startswith("amazon.")
            canonical["marketplace"] = canonical["sales_channel"].where(amazon, "")
        return canonical, {}

    def reads(self) -> set[str]:
        return set(self.columns)


_ITEM_COLUMNS = {
    "sku": "sku",
    "asin": "asin",
    "product-name": "product_name",
    "ship-service-level": "ship_service_level",
    "sales-channel": "sales_channel",
    "is-buyer-requested-cancellation": "buyer_requested_cancel",
    "currency": "currency",
}
ALL_ORDERS = AmazonFlatFile(
    "amazon-all-orders",
    {
        **_ITEM_COLUMNS,
        "amazon-order-id": "order_id",
        "purchase-date": "purchase_date",
        "order-status": "order_status",
        "fulfillment-channel": "fulfillment_channel",
        "quantity": "quantity",
        "item-price": "order_total",
    },
    ("amazon-order-id", "purchase-date", "order-status", "fulfillment-channel"),
    "Amazon All Orders / Archived Orders flat file",
)
# GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING: the seller's orders still to ship, one row per item.
# It is a snapshot: a later one (or All Orders) knows better whether an order shipped, so its
# status, channel and quantities only fill what is not known yet.
UNSHIPPED = AmazonFlatFile(
    "amazon-unshipped-orders",
    {
        **_ITEM_COLUMNS,
        "order-id": "order_id",
        "purchase-date": "purchase_date",
        "promise-date": "latest_ship_date",
        "quantity-purchased": "quantity",
    },
    ("order-id", "order-item-id", "purchase-date", "promise-date"),
    "Amazon Unshipped Orders report (GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING)",
    {"fulfillment_channel": "MFN", "order_status": "Unshipped"},
    fill_only=("fulfillment_channel", "order_status", "quantity"),
    private=True,
)
# GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL: Amazon's own (FBA) shipments, one row per shipment item.
FULFILLED_SHIPMENTS = AmazonFlatFile(
    "amazon-fulfilled-shipments",
    {
        **_ITEM_COLUMNS,
        "amazon-order-id": "order_id",
        "purchase-date": "purchase_date",
        "shipment-date": "shipped_at",
        "carrier": "carrier",
        "tracking-number": "tracking_id",
        "estimated-arrival-date": "latest_delivery_date",
        "fulfillment-channel": "fulfillment_channel",
        "quantity-shipped": "quantity",
        "item-price": "order_total",
    },
    ("amazon-order-id", "shipment-id", "shipment-date", "purchase-date"),
    "Amazon Fulfilled Shipments report (GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL)",
    {"fulfillment_channel": "AFN", "order_status": "Shipped"},
    private=True,
)


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
    default: str | None = None  # for a value the `values` map does not name (None: the value itself)


@dataclass
class RowFilter:
    """Rows kept: those whose `column` matches one of `patterns` (globs). The patterns may come
    from a setting (`setting`), for what only the seller knows: the names of their own shops."""

    column: str
    patterns: tuple[str, ...] = ()
    setting: str | None = None


@dataclass
class MappedFormat(Adapter):
    """Any other layout, described by a TOML mapping file (see mappings/*.toml)."""

    target: str = "orders"
    rules: dict[str, ColumnRule] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    detect: tuple[str, ...] = ()
    filters: tuple[RowFilter, ...] = ()

    def matches(self, header: Sequence[str]) -> bool:
        return bool(self.detect) and set(self.detect) <= set(header)

    def check_header(self, header: Sequence[str]) -> None:
        missing = sorted(self.reads() - set(header))
        if missing:
            raise FileRejected(f"mapping {self.name}: the file has no column {', '.join(missing)}")
        for rule in self.filters:
            if rule.setting and not rule.patterns:
                raise FileRejected(
                    f"mapping {self.name} keeps only the rows of your Amazon shops: set {rule.setting} to their "
                    f"names in the {rule.column!r} column (glob patterns, comma-separated, e.g. {rule.setting}=Amazon*)"
                )

    def reads(self) -> set[str]:
        return {rule.source for rule in self.rules.values()} | {f.column for f in self.filters}

    @property
    def filtering(self) -> bool:
        return bool(self.filters)

    def keep(self, frame: pd.DataFrame) -> np.ndarray:
        kept = np.ones(len(frame), dtype=bool)
        for rule in self.filters:
            codes, values = pd.factorize(frame[rule.column].astype(str), use_na_sentinel=False)
            matches = np.array([any(fnmatch.fnmatchcase(v, p) for p in rule.patterns) for v in values], dtype=bool)
            kept &= matches[codes] if len(codes) else kept
        return kept

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
            if rule.values or rule.default is not None:
                named = column.isin(list(rule.values))
                fallback = column if rule.default is None else pd.Series(rule.default, index=column.index)
                column = column.map(rule.values).where(named, fallback).astype(object)
            if rule.formats:
                column = self._dates(column, rule, reasons)
            canonical[name] = column
        if "order_total" in self.rules and "currency" not in canonical:  # `$43.00` says USD
            codes, texts = pd.factorize(frame[self.rules["order_total"].source].astype(str), use_na_sentinel=False)
            currencies = np.array([records.currency_of(t) or "" for t in texts], dtype=object)
            canonical["currency"] = currencies[codes] if len(codes) else ""
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

    def with_settings(self, settings: Settings) -> MappedFormat:
        """The filters that take their patterns from a setting, given them."""
        filters = tuple(
            RowFilter(f.column, tuple(getattr(settings, f.setting.lower())), f.setting) if f.setting else f
            for f in self.filters
        )
        return replace(self, filters=filters)


def load_mapping(path: Path, settings: Settings | None = None) -> MappedFormat:
    """Read a TOML mapping file; a broken one is a usage error with one line."""
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"mapping {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"mapping {path}: not valid TOML ({exc})") from None
    try:
        mapping = _mapping_from_spec(spec, path.stem)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"mapping {path}: {exc}") from None
    return mapping.with_settings(settings) if settings is not None else mapping


def _filters(spec: dict[str, Any]) -> tuple[RowFilter, ...]:
    from monitor.config import SETTINGS

    known = {s.name for s in SETTINGS}
    out = []
    for column, patterns in spec.get("filter", {}).items():
        if isinstance(patterns, dict):
            setting = str(patterns["setting"])
            if setting not in known:
                raise ValueError(f"filter on {column!r}: no setting {setting}")
            out.append(RowFilter(str(column), (), setting))
        else:
            listed = [patterns] if isinstance(patterns, str) else list(patterns)
            out.append(RowFilter(str(column), tuple(str(p) for p in listed)))
    return tuple(out)


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
            None if rule.get("default") is None else str(rule["default"]),
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
        bool(spec.get("private", False)),
        item_rows,
        target == "orders",
        (),
        target,
        rules,
        constants,
        tuple(spec.get("detect", {}).get("columns", ())),
        _filters(spec),
    )


def builtin_mappings(settings: Settings | None = None) -> list[MappedFormat]:
    """Mappings shipped with the monitor, recognised by their header like any format."""
    folder = Path(__file__).resolve().parent.parent / "mappings"
    return [load_mapping(path, settings) for path in sorted(folder.glob("*.toml"))]


def user_mappings(settings: Settings) -> list[MappedFormat]:
    """The user's mappings in MAPPINGS_DIR: recognised by their [detect] columns like the
    built-in ones, so the daemon's inbox imports such exports too."""
    folder = Path(settings.mappings_dir)
    return [load_mapping(path, settings) for path in sorted(folder.glob("*.toml"))] if folder.is_dir() else []


def adapters(settings: Settings) -> list[Adapter]:
    """Every delimited-file format, in the order detection tries them: Amazon's reports, the
    canonical files, the user's mappings, then the built-in mappings."""
    feedback_date_formats = settings.feedback_date_formats
    return [
        ALL_ORDERS,
        UNSHIPPED,
        FULFILLED_SHIPMENTS,
        AmazonFeedback(
            "amazon-feedback",
            ("Date", "Rating", "Comments", "Order ID"),
            "Amazon seller feedback report",
            True,
            date_formats=tuple(feedback_date_formats),
        ),
        CanonicalOrders("orders", records.ORDER_REQUIRED, "canonical orders file", orders=True),
        CanonicalDefects("defects", ("order_id", "defect_type", "received_at"), "canonical defects file"),
        *user_mappings(settings),
        *builtin_mappings(settings),
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
