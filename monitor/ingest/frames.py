"""Vectorised conversion of canonical order columns (strings) into storable values.

Orders are the bulk of every import, so they are converted a chunk at a time
with numpy and pandas, on plain object arrays (pandas' string dtype would loop
in Python). Values the fast path cannot read go through the same per-value
parsers as `records.order_record`, and a row that is still bad gets its
quarantine reason from `order_record` itself, so both paths agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitor.ingest import records
from monitor.ingest.records import TEXT_LIMITS, RowError
from monitor.marketplaces import normalize, timezone_name
from monitor.printable import CONTROL, printable
from monitor.timeutil import EARLIEST, LATEST, parse_timestamp

_EXACT_CHANNELS = {
    **records.CHANNELS,
    "AFN": "AFN",
    "MFN": "MFN",
    "Amazon": "AFN",
    "Merchant": "MFN",
    "FBA": "AFN",
    "FBM": "MFN",
}
_EXACT_STATUSES = {**records.ORDER_STATUSES, **{v: v for v in records.ORDER_STATUSES.values()}, "Cancelled": "Canceled"}
_EXACT_BOOLEANS = {**records.BOOLEANS, "TRUE": True, "FALSE": False, "True": True, "False": False}
_EXACT_CANCELLERS = {
    "seller": "seller",
    "buyer": "buyer",
    "amazon": "amazon",
    "Seller": "seller",
    "Buyer": "buyer",
    "Amazon": "amazon",
}
STORED_COLUMNS = [c for c in records.ORDER_COLUMNS if c != "account"]
US_PER_DAY = 86_400_000_000


def db_timestamps(values: pd.Series) -> np.ndarray:
    """Aware timestamps -> the database's text form of naive UTC, None for NaT."""
    naive = values.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(naive, unit="us").astype("U26")
    text.view("U1").reshape(-1, 26)[:, 10] = " "
    out = text.astype(object)
    out[np.isnat(naive)] = None
    return out


@dataclass(frozen=True)
class Zones:
    """Where a date without a time begins and ends: in its order's marketplace's zone."""

    default_marketplace: str = ""
    overrides: tuple[tuple[str, str], ...] = ()

    def of(self, marketplaces: np.ndarray) -> np.ndarray:
        """The zone name of each order, from its (normalized) marketplace or the default."""
        overrides = dict(self.overrides)
        names = {m: timezone_name(m or self.default_marketplace or None, overrides) for m in set(marketplaces)}
        return np.array([names[m] for m in marketplaces], dtype=object)


DEADLINES = ("latest_ship_date", "latest_delivery_date")


def order_frame(canonical: pd.DataFrame, zones: Zones | None = None) -> tuple[pd.DataFrame, dict[int, str]]:
    """(storable orders, {row position: quarantine reason}) from canonical string columns.

    Fields must already be stripped. Absent columns and empty values become
    None: "this file does not say". A date without a time means the end of that day in
    the order's marketplace's zone for a deadline, else its start (metrics.md, Time).
    """
    size = len(canonical)
    bad = np.zeros(size, dtype=bool)
    out: dict[str, Any] = {}
    zone_names: np.ndarray | None = None
    for name in records.ORDER_COLUMNS:
        if name not in canonical:
            bad |= name in records.ORDER_REQUIRED
            out[name] = np.full(size, None, dtype=object)
            continue
        column = canonical[name].to_numpy(dtype=object)
        empty = column == ""  # adapters hand over strings only
        if name in records.ORDER_REQUIRED:
            bad |= empty
        if name in records.ORDER_TIMESTAMPS:
            if zone_names is None:
                zone_names = (zones or Zones()).of(np.where(pd.isna(out["marketplace"]), "", out["marketplace"]))
            values, wrong = _timestamps(column, empty, zone_names, name in DEADLINES)
        else:
            values, wrong = _convert(name, column, empty)
        bad |= wrong
        if name in records.ORDER_REQUIRED:
            bad |= pd.isna(values)  # e.g. an order id of nothing but control characters
        out[name] = values
    # object columns stay object: pandas' inferred string dtype would loop in Python on every isna()
    frame = pd.DataFrame(
        {
            name: pd.Series(values, dtype=object, copy=False)
            if isinstance(values, np.ndarray) and values.dtype == object
            else values
            for name, values in out.items()
        }
    )
    reasons = {}
    for position in np.flatnonzero(bad):
        row = {str(name): str(canonical[name].iat[int(position)]) for name in canonical.columns}
        try:
            records.order_record(row)
            reasons[int(position)] = "cannot be read"  # the fast path disagreed; keep the row safe
        except RowError as exc:
            reasons[int(position)] = str(exc)
    return frame[~bad], reasons


def _convert(name: str, column: np.ndarray, empty: np.ndarray) -> tuple[Any, np.ndarray]:
    if name == "marketplace":
        domains = {v: normalize(v) for v in set(column[~empty])}
        return np.array(
            [None if e else domains[v] for v, e in zip(column, empty, strict=True)], dtype=object
        ), np.zeros(len(column), dtype=bool)
    if name == "fulfillment_channel":
        return _mapped(column, empty, _EXACT_CHANNELS, records.channel)
    if name == "order_status":
        return _mapped(column, empty, _EXACT_STATUSES, records.order_status)
    if name == "tracking_valid":
        return _mapped(column, empty, _EXACT_BOOLEANS, lambda v: records.boolean(name, v))
    if name == "cancelled_by":
        return _mapped(column, empty, _EXACT_CANCELLERS, _canceller)
    if name == "buyer_requested_cancel":
        return _mapped(column, empty, _EXACT_BOOLEANS, lambda v: records.boolean(name, v))
    if name == "quantity":
        numbers = _numbers(column)
        fits = (numbers >= 0) & (numbers <= records.MAX_QUANTITY) & (numbers == np.round(numbers))
        whole = np.where(fits, numbers, np.nan)
        values, wrong = _fallback(
            column, empty, whole.astype(object), lambda v: records.integer(name, v, 0, records.MAX_QUANTITY)
        )
        values[wrong | empty] = None
        return pd.array([None if v is None or v != v else int(v) for v in values], dtype="Int64"), wrong
    if name == "order_total":
        numbers = _numbers(column).round(2)
        numbers[~(np.abs(numbers) < records.MAX_AMOUNT)] = np.nan  # NaN, infinities and absurd amounts
        values, wrong = _fallback(column, empty, numbers.astype(object), lambda v: records.money(name, v))
        return pd.array(np.where(empty | wrong, np.nan, values).astype(float)), wrong
    if CONTROL.search("".join(column[~empty])):  # rare: one search over the column, then value by value
        column = np.array([printable(v).strip() for v in column], dtype=object)
        empty = column == ""
    values = column.copy()
    if name == "currency":
        values = np.array([v.upper()[:3] if v else v for v in column], dtype=object)
    elif name in TEXT_LIMITS and max(map(len, column[~empty]), default=0) > TEXT_LIMITS[name]:
        values = np.array([v[: TEXT_LIMITS[name]] if v else v for v in column], dtype=object)
    values[empty] = None
    return values, np.zeros(len(column), dtype=bool)


def _numbers(column: np.ndarray) -> np.ndarray:
    """Numbers as floats (NaN where not one): whole amounts come back as integers, which hold no NaN."""
    return pd.to_numeric(pd.Series(column, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _mapped(column: np.ndarray, empty: np.ndarray, exact: dict[str, Any], parse: Callable[[str], Any]):
    fast = pd.Series(column, dtype=object).map(exact).to_numpy(dtype=object, copy=True)
    values, wrong = _fallback(column, empty, fast, parse)
    values[empty] = None
    return values, wrong


def _fallback(column: np.ndarray, empty: np.ndarray, fast: np.ndarray, parse: Callable[[str], Any]):
    """Fill what the fast path missed with the per-value parser; returns (values, wrong)."""
    wrong = np.zeros(len(column), dtype=bool)
    missed = ~empty & pd.isna(fast)
    for position in np.flatnonzero(missed):
        try:
            fast[position] = parse(column[position])
        except (RowError, ValueError, OverflowError):
            wrong[position] = True
    return fast, wrong


def _timestamps(
    column: np.ndarray, empty: np.ndarray, zones: np.ndarray, deadline: bool
) -> tuple[np.ndarray, np.ndarray]:
    parsed = pd.to_datetime(pd.Series(column, dtype=object), format="ISO8601", utc=True, errors="coerce")
    parsed = _local_dates(parsed, column, zones, deadline)
    outside = (parsed.notna() & ~parsed.between(EARLIEST, LATEST, inclusive="left")).to_numpy()
    if outside.any():  # a bad row, never stored: see timeutil.EARLIEST
        parsed = parsed.where(~outside)
    out = db_timestamps(parsed)
    wrong = outside.copy()
    for position in np.flatnonzero(~empty & ~outside & parsed.isna().to_numpy()):
        try:
            moment = parse_timestamp(column[position])
            out[position] = moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        except ValueError:
            wrong[position] = True
    return out, wrong


def _local_dates(parsed: pd.Series, column: np.ndarray, zones: np.ndarray, deadline: bool) -> pd.Series:
    """Dates without a time, which parse as midnight UTC, moved to the start (or for a
    deadline, the end) of that day in their zone."""
    stamps = parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[us]").astype(np.int64)
    midnight = parsed.notna().to_numpy() & (stamps % US_PER_DAY == 0)  # few rows: a date alone, or a true midnight
    positions = [p for p in np.flatnonzero(midnight) if len(str(column[p]).strip()) == 10]
    if not positions or (not deadline and all(zones[p] == "UTC" for p in positions)):
        return parsed
    parsed = parsed.copy()
    shift = pd.Timedelta(days=1) - pd.Timedelta(microseconds=1) if deadline else pd.Timedelta(0)
    for zone in {zones[p] for p in positions}:
        rows = [int(p) for p in positions if zones[p] == zone]
        local = (parsed.iloc[rows].dt.tz_convert(None) + shift).dt.tz_localize(
            zone, nonexistent="shift_forward", ambiguous=True
        )
        parsed.iloc[rows] = local.dt.tz_convert("UTC")
    return parsed


def _canceller(value: str) -> str | None:
    key = "".join(ch for ch in value.lower() if ch.isalnum())
    if key not in records.CANCELLERS:
        raise RowError(f"unknown cancelled_by {value[:20]!r}")
    return records.CANCELLERS[key]
