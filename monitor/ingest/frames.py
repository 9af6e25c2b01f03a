"""Vectorised conversion of canonical order columns (strings) into storable values.

Orders are the bulk of every import, so they are converted a chunk at a time, each column as
pyarrow's strings (as the reader split them, or made from Python's): text stays pyarrow's
(pandas' ArrowDtype), timestamps become numpy's datetime64, a column of few distinct values
(a channel, a status) is worked out once per value. Values the fast path cannot read go
through the same per-value parsers as `records.order_record`, and a row that is still bad
gets its quarantine reason from `order_record` itself, so both paths agree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitor.counting import US_PER_DAY
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


STAMP = np.dtype("datetime64[us]")  # an order's timestamps: naive UTC, NaT where missing


def db_text(values: pd.Series | np.ndarray) -> np.ndarray:
    """Timestamps of an order frame (STAMP, within EARLIEST..LATEST) -> the database's text form,
    None for NaT: made only where text is written (SQLite; PostgreSQL's binary COPY takes them
    as numbers, see pgbinary)."""
    naive = np.asarray(values, dtype=STAMP)
    missing = np.isnat(naive)
    return _db_text(np.where(missing, _EARLIEST_US, naive.view(np.int64)), missing)


_EARLIEST_US = int(EARLIEST.timestamp()) * 1_000_000
_LATEST_US = int(LATEST.timestamp()) * 1_000_000


_DB_TEXT = np.dtype([("date", "V10"), ("space", "u1"), ("time", "V8"), ("dot", "u1"), ("milli", "V3"), ("micro", "V3")])


def _db_text(micros: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Microseconds since 1970 (within EARLIEST..LATEST) -> 'YYYY-MM-DD HH:MM:SS.ffffff', None
    where missing. Each part's text is looked up in a table (every day of the range, every
    second of a day, every three digits), copied into one byte buffer and handed to pyarrow as
    a string array: twenty times faster than numpy's datetime_as_string."""
    days, rest = np.divmod(micros, US_PER_DAY)
    seconds, fraction = np.divmod(rest, 1_000_000)
    high, low = np.divmod(fraction, 1000)
    dates, times, thousand = _text_tables()
    text = np.empty(len(micros), dtype=_DB_TEXT)  # one record of 26 bytes a row: each part copied whole
    text["date"], text["space"], text["time"], text["dot"] = dates[days], ord(" "), times[seconds], ord(".")
    text["milli"], text["micro"] = thousand[high], thousand[low]
    offsets = np.arange(0, 26 * (len(micros) + 1), 26, dtype=np.int32)
    strings = pa.Array.from_buffers(pa.string(), len(micros), [None, pa.py_buffer(offsets), pa.py_buffer(text)])
    out = strings.to_numpy(zero_copy_only=False)
    out[missing] = None
    return out


@functools.cache
def _text_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As bytes: 'YYYY-MM-DD' of every day from EARLIEST to LATEST, 'HH:MM:SS' of every second of
    a day, and '000' to '999', each one item (1.2 MB in all, made once)."""
    days = np.arange((_LATEST_US - _EARLIEST_US) // US_PER_DAY)
    # the civil date of a day number (H. Hinnant's algorithm; days >= 0 here)
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    seconds = np.arange(86_400)
    dates = _digits(((year, 4), "-", (month, 2), "-", (day, 2)))
    times = _digits(((seconds // 3600, 2), ":", (seconds // 60 % 60, 2), ":", (seconds % 60, 2)))
    return dates, times, _digits(((np.arange(1000), 3),))


def _digits(parts: tuple[tuple[np.ndarray, int] | str, ...]) -> np.ndarray:
    """Rows of text, each one item of bytes (copied in one move when picked): each (numbers,
    width) part as zero-padded digits, each str as itself."""
    columns: list[np.ndarray] = []
    for part in parts:
        if isinstance(part, str):
            columns.append(np.full(len(columns[0]), ord(part), dtype=np.uint8))
            continue
        numbers, width = part
        columns += [(numbers // 10**place % 10 + ord("0")).astype(np.uint8) for place in range(width - 1, -1, -1)]
    return np.ascontiguousarray(np.stack(columns, axis=1)).view(f"V{len(columns)}").ravel()


def _arrow_timestamps(column: pa.Array, empty: np.ndarray) -> np.ndarray | None:
    """A column of ISO 8601 timestamps that all carry a zone offset, all within EARLIEST..LATEST,
    parsed by pyarrow (STAMP); None when any value needs the general path (a date alone, a time
    without an offset, anything unreadable)."""
    strings = _nulled(column, empty)
    if pc.any(pc.less(pc.utf8_length(strings), 16)).as_py():  # a date alone, or a time without seconds
        return None
    try:
        moments = pc.cast(strings, pa.timestamp("us", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    stamps = moments.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)  # NaT where empty
    micros = stamps[~np.isnat(stamps)].view(np.int64)
    if ((micros < _EARLIEST_US) | (micros >= _LATEST_US)).any():
        return None
    return stamps


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

    @functools.cache
    def zone_names() -> np.ndarray:  # each row's zone: only a date without a time needs it
        return (zones or Zones()).of(np.where(pd.isna(out["marketplace"]), "", out["marketplace"]))

    for name in records.ORDER_COLUMNS:
        if name not in canonical:
            bad |= name in records.ORDER_REQUIRED
            missing = np.datetime64("NaT", "us") if name in records.ORDER_TIMESTAMPS else None
            out[name] = np.full(size, missing, dtype=STAMP if missing is not None else object)
            continue
        column = _strings(canonical[name])
        empty = pc.equal(column, "").to_numpy(zero_copy_only=False)
        if name in records.ORDER_REQUIRED:
            bad |= empty
        if name in records.ORDER_TIMESTAMPS:
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


def _strings(column: pd.Series) -> pa.Array:
    """A canonical column as pyarrow's strings, a missing value as empty: those it holds already
    (pandas' ArrowDtype, see Adapter.arrow_columns), else made from Python's."""
    if isinstance(column.dtype, pd.ArrowDtype):
        strings = pa.array(column)
    else:
        strings = pa.array(column.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    if isinstance(strings, pa.ChunkedArray):  # a frame cut or joined holds its column in pieces
        strings = strings.combine_chunks()
    return strings.cast(pa.string()).fill_null("")


def _nulled(column: pa.Array, empty: np.ndarray) -> pa.Array:
    """The column with NULL where it is empty."""
    return pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), column)


def _has_control(column: pa.Array) -> bool:
    """Does a value of a column of strings hold a control character (see printable)? pyarrow
    holds the values end to end: their bytes are looked at in one go, and only a column with a
    byte outside printable ASCII is decoded and searched as text (20,000 order ids: 0.03 ms
    against 1.15 ms for the search)."""
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    data = column.buffers()[2]
    if data is None or not len(column):
        return False
    values = memoryview(data)[offsets[0] : offsets[-1]]
    # as unsigned bytes, b - 0x20 is below 0x5F exactly for 0x20 to 0x7E
    if not (np.frombuffer(values, dtype=np.uint8) - np.uint8(0x20) >= 0x5F).any():
        return False
    return CONTROL.search(str(values, "utf-8")) is not None


def _convert(name: str, column: pa.Array, empty: np.ndarray) -> tuple[Any, np.ndarray]:
    if name == "marketplace":
        answers, indices = _per_distinct(column, lambda v: normalize(v) if v else None)
        return _categorical(answers, indices, empty), np.zeros(len(column), dtype=bool)
    if name == "fulfillment_channel":
        return _mapped(column, empty, _EXACT_CHANNELS, records.channel)
    if name == "order_status":
        return _mapped(column, empty, _EXACT_STATUSES, records.order_status)
    if name == "tracking_valid":
        return _mapped(column, empty, _EXACT_BOOLEANS, lambda v: records.boolean(name, v), boolean=True)
    if name == "cancelled_by":
        return _mapped(column, empty, _EXACT_CANCELLERS, _canceller)
    if name == "buyer_requested_cancel":
        return _mapped(column, empty, _EXACT_BOOLEANS, lambda v: records.boolean(name, v), boolean=True)
    if name == "quantity":
        numbers = _numbers(column, empty)
        fits = (numbers >= 0) & (numbers <= records.MAX_QUANTITY) & (numbers == np.round(numbers))
        whole = np.where(fits, numbers, np.nan)
        values, wrong = _fallback(
            column,
            whole.astype(object),
            ~empty & np.isnan(whole),
            lambda v: records.integer(name, v, 0, records.MAX_QUANTITY),
        )
        for position in np.flatnonzero(~empty & ~wrong & np.isnan(whole)):  # read by the per-value parser
            whole[position] = values[position]
        missing = empty | wrong | np.isnan(whole)
        return pd.arrays.IntegerArray(np.where(missing, 0, whole).astype(np.int64), missing), wrong
    if name == "order_total":
        # only plain amounts of at most two decimals, the rest by the per-value parser: pyarrow
        # reads "1e3", which that parser refuses, and numpy rounds 0.005 to 0.0, Python to 0.01.
        # pyarrow reads every such amount, so a column of others ($1,043.00) costs no failed cast
        plain = pc.match_substring_regex(column, r"^-?[0-9]+(\.[0-9]{1,2})?$").to_numpy(zero_copy_only=False)
        amounts = pc.cast(_nulled(column, ~plain), pa.float64()).to_numpy(zero_copy_only=False)  # NaN: NULL
        numbers = amounts.round(2)  # exact for such amounts
        numbers[~(np.abs(numbers) < records.MAX_AMOUNT)] = np.nan  # NaN, infinities and absurd amounts
        values, wrong = _fallback(
            column, numbers.astype(object), ~empty & np.isnan(numbers), lambda v: records.money(name, v)
        )
        return pd.array(np.where(empty | wrong, np.nan, values).astype(float)), wrong
    if _has_control(column):  # rare: value by value
        column = pa.array([printable(v).strip() for v in column.to_pylist()], type=pa.string())
        empty = pc.equal(column, "").to_numpy(zero_copy_only=False)
    nothing = np.zeros(len(column), dtype=bool)
    if name == "currency":
        return _categorical(*_per_distinct(column, lambda v: v.upper()[:3]), empty), nothing
    if name in TEXT_LIMITS:
        column = _cut(column, TEXT_LIMITS[name])
    return pd.arrays.ArrowExtensionArray(_nulled(column, empty)), nothing


def _cut(column: pa.Array, limit: int) -> pa.Array:
    """Values longer than `limit` characters cut to it (rare: value by value). A column none of
    whose values has more bytes than that has none longer, seen from its offsets alone."""
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    if not len(column) or int(np.diff(offsets).max()) <= limit:
        return column
    longer = np.flatnonzero(pc.greater(pc.utf8_length(column), limit).to_numpy(zero_copy_only=False))
    if not len(longer):
        return column
    values = column.to_pylist()
    for position in longer:
        values[position] = values[position][:limit]
    return pa.array(values, type=pa.string())


def _numbers(column: pa.Array, empty: np.ndarray) -> np.ndarray:
    """Numbers as floats (NaN where not one, or empty). pyarrow reads a column of plain numbers;
    pandas one that holds anything else (whole amounts come back as integers, which hold no NaN)."""
    try:
        return pc.cast(_nulled(column, empty), pa.float64()).to_numpy(zero_copy_only=False)  # NaN where empty
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _per_distinct(column: pa.Array, convert: Callable[[str], Any]) -> tuple[np.ndarray, np.ndarray]:
    """`convert` of each distinct value of the column, computed once per value (such a column
    holds few), as objects; and each row's position among those values."""
    encoded = column.dictionary_encode()
    answers = np.empty(len(encoded.dictionary), dtype=object)
    answers[:] = [convert(v) for v in encoded.dictionary.to_pylist()]
    return answers, encoded.indices.to_numpy(zero_copy_only=False)


def _categorical(answers: np.ndarray, indices: np.ndarray, missing: np.ndarray) -> pd.Categorical:
    """Each row's answer (see _per_distinct) as a pandas categorical, missing where the answer is
    None and where `missing`: its categories are the distinct answers, so that the steps after
    (the chunk's notes, the binary COPY) work on each value once, not on every row's object."""
    codes_of: dict[Any, int] = {}
    remap = np.array([-1 if a is None else codes_of.setdefault(a, len(codes_of)) for a in answers], dtype=np.int32)
    codes = remap[indices]
    codes[missing] = -1
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(codes_of), dtype=object))


def _mapped(
    column: pa.Array,
    empty: np.ndarray,
    exact: dict[str, Any],
    parse: Callable[[str], Any],
    boolean: bool = False,
) -> tuple[pd.Categorical | pd.arrays.BooleanArray, np.ndarray]:
    """A column of few values mapped by `exact`, the others by the per-value `parse`: a
    categorical of the values, or (`boolean`) pandas' booleans; and where a value is wrong."""
    answers, indices = _per_distinct(column, exact.get)
    unknown = ~empty & np.array([a is None for a in answers], dtype=bool)[indices]
    if unknown.any():  # rare: read value by value, then made the column's kind
        values, wrong = _fallback(column, answers[indices], unknown, parse)
        values[empty | wrong] = None
        return (pd.array(values, dtype="boolean") if boolean else pd.Categorical(values)), wrong
    wrong = np.zeros(len(column), dtype=bool)
    if not boolean:
        return _categorical(answers, indices, empty), wrong
    true = np.array([a is True for a in answers], dtype=bool)
    missing = np.array([a is None for a in answers], dtype=bool)
    return pd.arrays.BooleanArray(true[indices], missing[indices] | empty), wrong


def _fallback(column: pa.Array, fast: np.ndarray, missed: np.ndarray, parse: Callable[[str], Any]):
    """Fill what the fast path `missed` with the per-value parser; returns (values, wrong)."""
    wrong = np.zeros(len(column), dtype=bool)
    for position in np.flatnonzero(missed):
        try:
            fast[position] = parse(column[int(position)].as_py())
        except (RowError, ValueError, OverflowError):
            wrong[position] = True
    return fast, wrong


def _timestamps(
    strings: pa.Array, empty: np.ndarray, zones: Callable[[], np.ndarray], deadline: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A column of timestamps (STAMP) and where one is wrong; `zones()` gives each row's zone,
    asked for only when pyarrow cannot read the column (a date alone may be among its values)."""
    fast = _arrow_timestamps(strings, empty)
    if fast is not None:
        return fast, np.zeros(len(strings), dtype=bool)
    column = strings.to_numpy(zero_copy_only=False)
    parsed = pd.to_datetime(pd.Series(column, dtype=object), format="ISO8601", utc=True, errors="coerce")
    parsed = _local_dates(parsed, column, zones(), deadline)
    outside = (parsed.notna() & ~parsed.between(EARLIEST, LATEST, inclusive="left")).to_numpy()
    if outside.any():  # a bad row, never stored: see timeutil.EARLIEST
        parsed = parsed.where(~outside)
    out = parsed.dt.tz_convert(None).to_numpy(dtype=STAMP, copy=True)
    wrong = outside.copy()
    for position in np.flatnonzero(~empty & ~outside & parsed.isna().to_numpy()):
        try:
            out[position] = np.datetime64(parse_timestamp(column[position]).replace(tzinfo=None), "us")
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
