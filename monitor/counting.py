"""How each order counts for each metric, and daily cohorts of those counts. Pure numpy.

Every order takes part in a metric through a few times (microseconds since the
epoch; NEVER for an event that has not happened, ALWAYS for a fact without a time):

* `anchor`: the time that places it in a window (purchase, ship-by, promised delivery...);
* `enter`: from when it is eligible at all (the order exists, the shipment was confirmed...);
* `drop`: from when it no longer is (a cancellation before shipping, once known);
* `flag_from`: from when it is bad (a defect received, the ship-by passed unconfirmed...),
  if `flag` says it ever is;

plus a `weight` (units for OTDR, else 1) and whether it can be `judged` at all (an order
Amazon says shipped but whose confirmation time is unknown cannot be judged late or not).

At a knowledge time K an order is eligible when enter < K <= drop, and bad when also
flag and flag_from < K. A **cohort** is the orders whose anchor falls on one UTC day.
Windows are whole days, so a window's counts are sums of cohorts, and everything the
monitor says about a metric (its value, the projection, the forecast) is read off the
cohorts as known at K. `cohorts_at` builds them for one K; `cohort_table` builds them
for every day of a history at once (a banded table, one bincount per array), so that a
history costs orders + days, not orders x days, and equals evaluating day by day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from monitor.domain import ORDER_TIMESTAMPS, Channel, Family, Source
from monitor.marketplaces import UNKNOWN, channel_of, normalize

NEVER = np.iinfo(np.int64).max
ALWAYS = np.iinfo(np.int64).min
US_PER_DAY = 86_400_000_000
_BIG = 1 << 40  # a day index beyond any history

SHIPPED = "Shipped"
CANCELED = "Canceled"

# What counting needs of an order's few-valued fields, as bits of one small integer. The
# database computes it (FLAGS_SQL), so a million orders cross the driver as one int each
# instead of six strings and flags; a frame without a `flags` column gets the same bits from
# its columns (flags_of). Both read this one table.
FLAGS = "flags"
FLAG_BITS: tuple[tuple[str, tuple[tuple[str | bool, int], ...]], ...] = (
    ("fulfillment_channel", (("MFN", 1),)),
    ("order_status", ((SHIPPED, 2), (CANCELED, 4))),
    ("cancelled_by", (("seller", 8), ("buyer", 16), ("amazon", 24))),
    ("buyer_requested_cancel", ((True, 32),)),
    ("tracking_valid", ((True, 64), (False, 128))),
)
HAS_TRACKING_BIT = 256
CANCELLERS = np.array(["", "seller", "buyer", "amazon"], dtype=object)  # by (flags >> 3) & 3
CHANNELS = np.array([Channel.AFN.value, Channel.MFN.value], dtype=object)  # by flags & 1


def _sql_literal(value: str | bool) -> str:
    return ("TRUE" if value else "FALSE") if isinstance(value, bool) else "'" + value.replace("'", "''") + "'"


FLAGS_SQL = " + ".join(
    [
        f"CASE {column} " + " ".join(f"WHEN {_sql_literal(v)} THEN {bit}" for v, bit in values) + " ELSE 0 END"
        for column, values in FLAG_BITS
    ]
    + [f"CASE WHEN tracking_id IS NULL OR tracking_id = '' THEN 0 ELSE {HAS_TRACKING_BIT} END"]
)


def _bit(bits: dict[object, int], value: object) -> int:
    return bits.get(value, 0)


def flags_of(orders: pd.DataFrame) -> np.ndarray:
    """The FLAG_BITS of each order, from its columns (what FLAGS_SQL computes in the database)."""
    flags = np.zeros(len(orders), dtype=np.int64)
    for column, values in FLAG_BITS:
        bits: dict[object, int] = dict(values)
        series = _column(orders, column)
        if isinstance(values[0][0], bool):
            known, true = _flags(series)
            flags += np.where(true, bits.get(True, 0), np.where(known, bits.get(False, 0), 0))
        else:
            flags += _per_value(series, partial(_bit, bits)).astype(np.int64)
    ids = _column(orders, "tracking_id").to_numpy(dtype=object)
    return flags + np.where(~pd.isna(ids) & (ids != ""), HAS_TRACKING_BIT, 0)


def to_us(values: pd.Series) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch, NEVER where missing."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    stamps = values if isinstance(values.dtype, pd.DatetimeTZDtype) else pd.to_datetime(values, utc=True)
    naive = stamps.dt.tz_convert(None)
    out = np.asarray(naive.dt.as_unit("us").to_numpy(dtype="datetime64[us]")).view(np.int64).copy()  # NaT: min
    out[out == np.iinfo(np.int64).min] = NEVER
    return out


def _column(orders: pd.DataFrame, name: str, default: object = None) -> pd.Series:
    if name in orders:
        return orders[name]
    return pd.Series([default] * len(orders), index=orders.index, dtype=object)


def _flags(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(known, true) masks of a column of True/False/None (1/0 from SQLite)."""
    meaning = {True: True, False: False, "true": True, "false": False}  # 1 and 0 hash as True and False
    mapped = _per_value(values, lambda v: meaning.get(v) if isinstance(v, bool | int | str) else None)
    known = ~pd.isna(mapped)
    return known, known & (mapped == True)  # noqa: E712 (elementwise)


@dataclass
class Prepared:
    """One account's orders as arrays, ready to count."""

    orders: pd.DataFrame
    channel: np.ndarray  # "afn" / "mfn"
    marketplace_code: np.ndarray  # per order, an index into marketplace_names
    marketplace_names: np.ndarray  # the marketplaces orders count in (domains, the default, or "unknown")
    amazon: np.ndarray  # counted: an Amazon order, or one of another channel's marketplace (multi-channel
    # fulfilment orders of Amazon count in no metric)
    t: dict[str, np.ndarray]
    shipped_status: np.ndarray  # the status says it shipped
    pre_fulfilment: np.ndarray  # cancelled before it shipped
    cancel_known: np.ndarray
    cancelled_by: np.ndarray
    buyer_requested: np.ndarray
    valid_known: np.ndarray
    valid: np.ndarray
    has_tracking_id: np.ndarray
    quantity: np.ndarray
    first_defect: np.ndarray  # when the first counting defect arrived (NEVER: none)
    # per source that stopped (coverage.py), per order: from when a missing value says nothing
    gaps: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def marketplace(self) -> np.ndarray:
        """The marketplace each order counts in."""
        return self.marketplace_names[self.marketplace_code]

    def mask(self, channel: Channel, marketplace: str) -> np.ndarray:
        return self.amazon & (self.channel == channel) & (self.marketplace == marketplace)

    def group_codes(self, marketplaces: list[str]) -> np.ndarray:
        """A code per order for its (marketplace, channel) group: 2 * marketplace index + (MFN)."""
        index = np.array(
            [marketplaces.index(m) if m in marketplaces else -1 for m in self.marketplace_names], dtype=np.int64
        )
        market = index[self.marketplace_code] if len(index) else np.zeros(0, dtype=np.int64)
        return market * 2 + (self.channel == Channel.MFN)


@dataclass(frozen=True)
class Distinct:
    """A column's distinct values, found once: a code per row into `values`, -1 where missing.
    A column of orders holds few (a marketplace, a sales channel), so a rule of each value is
    worked out once per distinct value, and two rules of one column share the finding."""

    codes: np.ndarray
    values: list[Any]

    @classmethod
    def of(cls, column: pd.Series) -> Distinct:
        codes, uniques = pd.factorize(column)  # missing: -1, found in the same pass
        return cls(codes, list(uniques))

    def map(self, rule: Callable[[Any], Any]) -> np.ndarray:
        """`rule` of each row's value (None where missing), as objects."""
        answers = np.empty(len(self.values) + 1, dtype=object)
        answers[:] = [*(rule(value) for value in self.values), rule(None)]  # the last: code -1
        return answers[self.codes]


def effective_marketplaces(marketplace: Distinct, default: str) -> tuple[np.ndarray, np.ndarray]:
    """The marketplace each order counts in (its own as a domain, else the default, else
    unknown): (a code per order, the marketplace of each code)."""
    fallback = default or UNKNOWN
    names = [(normalize(v) if isinstance(v, str) else None) or fallback for v in [*marketplace.values, None]]
    distinct = sorted(set(names))
    remap = np.array([distinct.index(n) for n in names], dtype=np.int64)  # the last: code -1
    return remap[marketplace.codes], np.array(distinct, dtype=object)


def other_channel(marketplace: object) -> bool:
    """An order of Walmart, eBay or Etsy (by its marketplace): it counts in that channel's metrics,
    whatever its sales channel says."""
    return isinstance(marketplace, str) and channel_of(normalize(marketplace)) != "amazon"


def counted_orders(sales_channel: Distinct, marketplace: Distinct) -> np.ndarray:
    """Which orders count in some marketplace's metrics: Amazon's own (not multi-channel
    fulfilment orders) and those of the other channels."""
    amazon = sales_channel.map(is_amazon_sales_channel).astype(bool)
    return amazon | marketplace.map(other_channel).astype(bool)


def is_amazon_sales_channel(value: object) -> bool:
    """False for a multi-channel fulfilment order: a sales channel given and not Amazon's
    (Amazon's reports say `Non-Amazon`; a shipping tool may name the shop)."""
    text = str(value).strip().lower() if isinstance(value, str) else ""
    return not text or (text.startswith("amazon") and "non-amazon" not in text)


def _per_value(values: pd.Series, rule: Callable[[Any], Any]) -> np.ndarray:
    """`rule` of each value (None where missing), computed once per distinct value."""
    return Distinct.of(values).map(rule)


def prepare(orders: pd.DataFrame, first_defect: np.ndarray | None = None, default_marketplace: str = "") -> Prepared:
    """Counting arrays of one account's orders; `first_defect` per order (see defects.first_counting)."""
    orders = orders.reset_index(drop=True)
    t = {name: to_us(_column(orders, name)) for name in ORDER_TIMESTAMPS}
    flags = orders[FLAGS].to_numpy(dtype=np.int64) if FLAGS in orders else flags_of(orders)
    shipped_status = (flags & 6) == 2  # importers store Amazon's detailed shipped statuses as Shipped
    cancelled = ((flags & 6) == 4) | (t["cancelled_at"] != NEVER)
    shipped = t["shipped_at"]
    pre_fulfilment = cancelled & ((shipped == NEVER) | ((t["cancelled_at"] != NEVER) & (t["cancelled_at"] < shipped)))
    # when the cancellation is known: its time, or always when it carries none
    cancel_known = np.where(cancelled, np.where(t["cancelled_at"] != NEVER, t["cancelled_at"], ALWAYS), NEVER)
    quantity = pd.to_numeric(_column(orders, "quantity"), errors="coerce").fillna(1).clip(lower=0)
    marketplace = Distinct.of(_column(orders, "marketplace"))
    markets = effective_marketplaces(marketplace, default_marketplace)
    return Prepared(
        orders,
        CHANNELS[flags & 1],
        *markets,
        counted_orders(Distinct.of(_column(orders, "sales_channel")), marketplace),
        t,
        shipped_status,
        pre_fulfilment,
        cancel_known,
        CANCELLERS[(flags >> 3) & 3],
        (flags & 32) != 0,
        (flags & (64 | 128)) != 0,
        (flags & 64) != 0,
        (flags & HAS_TRACKING_BIT) != 0,
        quantity.to_numpy(dtype=np.int64),
        np.full(len(orders), NEVER, dtype=np.int64) if first_defect is None else first_defect,
    )


@dataclass
class Counting:
    """The counting times of one metric for some orders (see the module docstring)."""

    index: np.ndarray  # positions in Prepared.orders
    anchor: np.ndarray
    enter: np.ndarray
    drop: np.ndarray
    flag: np.ndarray
    flag_from: np.ndarray
    weight: np.ndarray
    judged: np.ndarray

    def subset(self, keep: np.ndarray) -> Counting:
        """The orders of `keep` (a mask over Prepared.orders) only."""
        inside = keep[self.index]
        return Counting(*(getattr(self, f)[inside] for f in self.__dataclass_fields__))

    def split(self, codes: np.ndarray) -> dict[int, Counting]:
        """The orders of each group code (`codes` over Prepared.orders), in one sort rather than
        a pass per group; each part keeps the orders' order."""
        mine = _narrow(codes[self.index])
        fields = [getattr(self, f) for f in self.__dataclass_fields__]
        if len(mine) and not (mine[1:] >= mine[:-1]).all():  # not in group order already (see counting)
            order = np.argsort(mine, kind="stable")
            mine, fields = mine[order], [f[order] for f in fields]
        starts = np.concatenate(([0], np.flatnonzero(mine[1:] != mine[:-1]) + 1)) if len(mine) else np.zeros(0, int)
        values = mine[starts]
        ends = [*starts[1:], len(mine)][: len(starts)]
        return {
            int(code): Counting(*(f[start:end] for f in fields))
            for code, start, end in zip(values, starts, ends, strict=True)
        }


def counting(
    p: Prepared,
    family: Family,
    odr_count_cancelled: bool = True,
    cr_count_unknown: bool = True,
    order_by: np.ndarray | None = None,
) -> Counting:
    """The counting times of every order of the account for a metric family (both channels);
    with `order_by` (a group code per order, see Prepared.group_codes), the orders of each group
    together, as `split` cuts them, each group's in the orders' order."""
    t = p.t
    n = len(p.orders)
    never = np.full(n, NEVER, dtype=np.int64)
    always = np.full(n, ALWAYS, dtype=np.int64)
    ones = np.ones(n, dtype=np.int64)
    every = np.ones(n, dtype=bool)
    purchase = t["purchase_date"]
    if family is Family.ODR:
        drop = never if odr_count_cancelled else p.cancel_known
        return _select(order_by, p, purchase, purchase, drop, p.first_defect != NEVER, p.first_defect, ones, every)
    if family in (Family.LSR, Family.TRACKED):
        ship_by, shipped = t["latest_ship_date"], t["shipped_at"]
        on_time = (shipped != NEVER) & (shipped <= ship_by)
        if family is Family.TRACKED:  # and confirmed with a tracking number
            on_time &= p.has_tracking_id
        judged = ~(p.shipped_status & (shipped == NEVER))  # shipped, but when is unknown: cannot be judged
        if Source.CONFIRMATIONS in p.gaps:  # confirmations stopped: an unconfirmed order after that is unknown
            judged &= ~((shipped == NEVER) & (ship_by >= p.gaps[Source.CONFIRMATIONS]))
        drop = np.where(p.pre_fulfilment, p.cancel_known, NEVER)
        return _select(order_by, p, ship_by, purchase, drop, ~on_time, ship_by, ones, judged)
    if family is Family.CR:
        return _select(
            order_by,
            p,
            purchase,
            purchase,
            never,
            _cancellation_counts(p, cr_count_unknown),
            np.where(p.pre_fulfilment, p.cancel_known, NEVER),
            ones,
            every,
        )
    if family is Family.VTR:
        shipped = t["shipped_at"]
        anchor = np.where(t["latest_delivery_date"] != NEVER, t["latest_delivery_date"], shipped)
        judged = p.valid_known | ~p.has_tracking_id  # no tracking at all is never valid
        return _select(order_by, p, anchor, shipped, never, ~(p.valid_known & p.valid), always, ones, judged)
    if family is Family.OTDR:
        promised, delivered = t["latest_delivery_date"], t["delivered_at"]
        on_time = (delivered != NEVER) & (delivered <= promised)
        enter = np.where(p.valid_known & p.valid, np.minimum(delivered, promised), NEVER)
        if Source.DELIVERY in p.gaps:  # delivery scans stopped: an undelivered parcel after that is unknown
            enter = np.where((delivered == NEVER) & (promised >= p.gaps[Source.DELIVERY]), NEVER, enter)
        return _select(order_by, p, promised, enter, never, ~on_time, promised, p.quantity, every)
    raise ValueError(f"unknown metric family {family}")


def _cancellation_counts(p: Prepared, count_unknown: bool) -> np.ndarray:
    """Which pre-fulfilment cancellations count against the seller (metrics.md, CR)."""
    by = p.cancelled_by
    cancelled_at, ship_by, shipped = p.t["cancelled_at"], p.t["latest_ship_date"], p.t["shipped_at"]
    amazon_for_no_shipment = (
        (by == "amazon")
        & (cancelled_at != NEVER)
        & (ship_by != NEVER)
        & (cancelled_at > ship_by)
        & ((shipped == NEVER) | (shipped > cancelled_at))
    )
    counts = (by == "seller") | amazon_for_no_shipment | ((by == "") & count_unknown)
    return p.pre_fulfilment & counts & ~p.buyer_requested


def _narrow(codes: np.ndarray) -> np.ndarray:
    """Group codes as 16-bit integers where they fit (few groups): numpy sorts those by radix, 4x faster."""
    if len(codes) and np.iinfo(np.int16).min <= codes.min() and codes.max() <= np.iinfo(np.int16).max:
        return codes.astype(np.int16)
    return codes


def _select(
    order_by: np.ndarray | None,
    p: Prepared,
    anchor: np.ndarray,
    enter: np.ndarray,
    drop: np.ndarray,
    flag: np.ndarray,
    flag_from: np.ndarray,
    weight: np.ndarray,
    judged: np.ndarray,
) -> Counting:
    index = np.flatnonzero(p.amazon & (anchor != NEVER) & (enter != NEVER))
    if order_by is not None:  # sorted here, each field is gathered once: split only cuts
        index = index[np.argsort(_narrow(order_by[index]), kind="stable")]
    return Counting(
        index, anchor[index], enter[index], drop[index], flag[index], flag_from[index], weight[index], judged[index]
    )


@dataclass(frozen=True, eq=False)
class Reviews:
    """One marketplace's reviews of an account (Etsy's): per review, its key, when it came
    (microseconds), its stars (1 to 5) and its text."""

    keys: np.ndarray
    received: np.ndarray
    rating: np.ndarray
    comment: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)


def review_counting(reviews: Reviews, family: Family, stars: int = 5) -> Counting:
    """The counting times of reviews: each counts from when it came, in the window of its day.
    REVIEWS: a review of 3 stars or less is bad. RATING: every review counts `stars` times, once
    a star it could give, the stars it did not give bad (so the good share is the average / stars).
    `index` is the position in `reviews`."""
    n = len(reviews)
    index = np.arange(n, dtype=np.int64)
    flag = reviews.rating <= 3
    if family is Family.RATING:
        index = np.repeat(index, stars)
        flag = np.tile(np.arange(stars, dtype=np.int64), n) >= reviews.rating[index]
    elif family is not Family.REVIEWS:
        raise ValueError(f"not a review family: {family}")
    at = reviews.received[index]
    count = len(index)
    return Counting(
        index,
        at,
        at,
        np.full(count, NEVER, dtype=np.int64),
        flag,
        at,
        np.ones(count, dtype=np.int64),
        np.ones(count, dtype=bool),
    )


# ------------------------------------------------------------------ cohorts
@dataclass
class Cohorts:
    """Per anchor day, oldest first, the last being day0 (today): what is known at K."""

    eligible: np.ndarray  # weight of eligible orders
    judged: np.ndarray  # of those, the ones that can be judged
    bad: np.ndarray  # of those, the bad ones

    def window(self, start: int, end: int) -> tuple[int, int, int]:
        """(eligible, judged, bad) summed over cohorts [start, end)."""
        return (int(self.eligible[start:end].sum()), int(self.judged[start:end].sum()), int(self.bad[start:end].sum()))


def cohorts_at(c: Counting, known_at: int, day0: int, span: int) -> Cohorts:
    """The `span` daily cohorts ending with day0's, as known at `known_at`."""
    first = day0 - (span - 1) * US_PER_DAY
    eligible = (c.enter < known_at) & (known_at <= c.drop) & (c.anchor >= first) & (c.anchor < day0 + US_PER_DAY)
    day = ((c.anchor[eligible] - first) // US_PER_DAY).astype(np.int64)
    weight = c.weight[eligible]
    judged = c.judged[eligible]
    bad = judged & c.flag[eligible] & (c.flag_from[eligible] < known_at)
    return Cohorts(
        *(
            np.bincount(day, weights=weight * mask, minlength=span).astype(np.int64)
            for mask in (np.ones(len(day), dtype=np.int64), judged, bad)
        )
    )


def _day_index(times: np.ndarray, first: int, sentinel_low: int, sentinel_high: int) -> np.ndarray:
    """floor((times - first) / day), with ALWAYS and NEVER mapped to the sentinels."""
    safe = np.where((times == ALWAYS) | (times == NEVER), first, times)
    out = (safe - first) // US_PER_DAY
    out[times == ALWAYS] = sentinel_low
    out[times == NEVER] = sentinel_high
    return out


@dataclass
class CohortTable:
    """Cohorts for every point of a history: point k (known at first + k days, its day0)
    has cohorts `table[k + i, i]` for i < span."""

    eligible: np.ndarray  # shape (points + span, span)
    judged: np.ndarray
    bad: np.ndarray
    span: int

    def at(self, k: int) -> Cohorts:
        rows = k + np.arange(self.span)
        cols = np.arange(self.span)
        return Cohorts(self.eligible[rows, cols], self.judged[rows, cols], self.bad[rows, cols])


def cohort_table(c: Counting, first: int, points: int, span: int) -> CohortTable:
    """Cohorts at K_k = first + k days (each point's day0 is K_k itself), for k < points."""
    origin = first - (span - 1) * US_PER_DAY  # the anchor day of row 0
    rows = points + span
    day = _day_index(c.anchor, origin, -1, rows)
    k_enter = _day_index(c.enter, first, -_BIG, _BIG) + 1  # first k with K_k > enter
    k_drop = _day_index(c.drop, first, -_BIG, _BIG)  # last k with K_k <= drop
    k_bad = np.maximum(k_enter, _day_index(c.flag_from, first, -_BIG, _BIG) + 1)
    inside = (day >= 0) & (day < rows)
    tables = []
    for start, weight in ((k_enter, c.weight), (k_enter, c.weight * c.judged), (k_bad, c.weight * (c.judged & c.flag))):
        tables.append(_banded(day[inside], start[inside], k_drop[inside], weight[inside], rows, span, points))
    return CohortTable(tables[0], tables[1], tables[2], span)


def _banded(
    day: np.ndarray, k_from: np.ndarray, k_to: np.ndarray, weight: np.ndarray, rows: int, span: int, points: int
) -> np.ndarray:
    """table[g, i] = sum of weights of orders of anchor day g counted at point k = g - i."""
    k_lo = np.maximum(k_from, np.maximum(day - span + 1, 0))
    k_hi = np.minimum(k_to, np.minimum(day, points - 1))
    keep = (k_hi >= k_lo) & (weight != 0)
    g, k_lo, k_hi, w = day[keep], k_lo[keep], k_hi[keep], weight[keep]
    i_lo, i_hi = g - k_hi, g - k_lo  # along a row, the point k = g - i runs backwards
    diff = np.bincount(g * (span + 1) + i_lo, weights=w, minlength=rows * (span + 1))
    diff -= np.bincount(g * (span + 1) + i_hi + 1, weights=w, minlength=rows * (span + 1))
    return np.cumsum(diff.reshape(rows, span + 1), axis=1)[:, :span].round().astype(np.int64)


# ------------------------------------------------------------------ how complete young cohorts are
def delays_at(c: Counting, known_at: int, horizon_days: int) -> np.ndarray:
    """Histogram (days 0..horizon) of how long after its anchor each order's bad event came,
    over the orders at least `horizon_days` old at K whose bad event is known at K."""
    learn = (
        c.flag & (c.flag_from != ALWAYS) & (c.flag_from < known_at) & (c.anchor + horizon_days * US_PER_DAY <= known_at)
    )
    delay = np.clip((c.flag_from[learn] - c.anchor[learn]) // US_PER_DAY, 0, horizon_days)
    return np.bincount(delay.astype(np.int64), minlength=horizon_days + 1)


def delay_table(c: Counting, first: int, points: int, horizon_days: int) -> np.ndarray:
    """delays_at for every point k of a history: shape (points, horizon + 1)."""
    learn = c.flag & (c.flag_from != ALWAYS) & (c.flag_from != NEVER)
    anchor, flag_from = c.anchor[learn], c.flag_from[learn]
    old_enough = -(-(anchor + horizon_days * US_PER_DAY - first) // US_PER_DAY)  # first k with K_k >= anchor + H
    known = (flag_from - first) // US_PER_DAY + 1  # first k with K_k > flag_from
    k = np.clip(np.maximum(old_enough, known), 0, points)
    delay = np.clip((flag_from - anchor) // US_PER_DAY, 0, horizon_days)
    counts = np.bincount(k * (horizon_days + 1) + delay, minlength=(points + 1) * (horizon_days + 1))
    return np.cumsum(counts.reshape(points + 1, horizon_days + 1), axis=0)[:points]


# ------------------------------------------------------------------ defects
NOT_COUNTING = {
    "a_to_z_claim": {"denied", "withdrawn", "protected"},
    "chargeback": {"reversed", "fraud"},
    "negative_feedback": {"removed"},
}


def counting_defects(defects: pd.DataFrame) -> pd.DataFrame:
    """Defects that count for ODR: feedback of 1-2 stars not removed (a revision to 3 stars or
    more stops it counting); claims not denied, withdrawn or protected; chargebacks not
    reversed or fraud."""
    if defects.empty:
        return defects
    kind = defects["defect_type"]
    status = defects["status"].fillna("").astype(str).str.lower()
    rating = (
        pd.to_numeric(defects["rating"], errors="coerce")
        if "rating" in defects
        else pd.Series(np.nan, index=defects.index)
    )
    excluded = pd.Series(False, index=defects.index)
    for defect_type, statuses in NOT_COUNTING.items():
        excluded |= (kind == defect_type) & status.isin(statuses)
    low_rating = (kind != "negative_feedback") | rating.isna() | (rating <= 2)
    return defects[~excluded & low_rating & kind.isin(NOT_COUNTING)]


def first_counting_defect(orders: pd.DataFrame, defects: pd.DataFrame | None) -> np.ndarray:
    """Per order (in `orders`' row order): when its first counting defect arrived, NEVER if none."""
    out = np.full(len(orders), NEVER, dtype=np.int64)
    if defects is None or defects.empty or orders.empty:
        return out
    counted = counting_defects(defects)
    if counted.empty:
        return out
    earliest = counted.assign(us=to_us(counted["received_at"])).groupby("order_id")["us"].min()
    position = earliest.index.get_indexer(pd.Index(orders["order_id"]))
    return np.where(position >= 0, earliest.to_numpy(dtype=np.int64)[position], NEVER)
