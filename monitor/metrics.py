"""The account health metrics: pure functions of order and defect tables and a time.

Nothing here reads the clock, the database or the network: callers pass the
data (pandas DataFrames) and the evaluation time `as_of` in, and get typed
results out. That makes history, back-tests and tests free.

How every metric is counted (see the README's "How the metrics are counted"):

* A window of N days ending at T is [T - N days, T).
* What is known at T: an event stamped at or after T has not happened yet.
* Each order contributes to a metric through three times: its *anchor* (the
  timestamp that puts it in the window: purchase, ship-by, shipment or
  promised delivery), the time from which it *drops out* (a cancellation
  that excludes it, once known), and the time from which it is *bad* (a
  defect received, a cancellation known). As a function of T, each order is
  therefore counted on an interval (lo, hi], which makes a daily history a
  matter of adding intervals (linear in orders plus days), and one evaluation
  a matter of comparing arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from monitor import forecast

if TYPE_CHECKING:
    from monitor.config import Settings
from monitor.domain import ORDER_TIMESTAMPS, Channel, Direction, Family, MetricKey, Status
from monitor.errors import UsageError

NEVER = np.iinfo(np.int64).max  # an event that has not happened (as microseconds)
ALWAYS = np.iinfo(np.int64).min  # a fact without a time: known at every T
US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class MetricDef:
    id: str
    name: str
    family: Family
    channels: tuple[Channel, ...]
    days: int
    direction: Direction  # MAX: must stay below the limit; MIN: must stay at or above it
    limit_setting: str
    anchor: str  # the order field that places an order in the window
    counted: str  # what the denominator counts, in words ("shipments")
    numerator_label: str  # what the numerator counts ("late shipments"; good ones for a MIN metric)
    miss_label: str  # one bad outcome, in words, whatever the direction ("late deliveries")

    def short_name(self) -> str:
        """The name with its window, as a seller says it: "LSR 10d", "ODR"."""
        days = f" {self.days}d" if self.family in (Family.LSR,) else ""
        return f"{self.family.upper()}{days}"


AFN_MFN = (Channel.AFN, Channel.MFN)
MFN = (Channel.MFN,)
METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "odr",
        "Order Defect Rate",
        Family.ODR,
        AFN_MFN,
        60,
        Direction.MAX,
        "limit_odr",
        "purchase_date",
        "orders",
        "orders with a defect",
        "orders with a defect",
    ),
    MetricDef(
        "lsr_10d",
        "Late Shipment Rate (10 days)",
        Family.LSR,
        MFN,
        10,
        Direction.MAX,
        "limit_lsr",
        "latest_ship_date",
        "shipments",
        "late shipments",
        "late shipments",
    ),
    MetricDef(
        "lsr_30d",
        "Late Shipment Rate (30 days)",
        Family.LSR,
        MFN,
        30,
        Direction.MAX,
        "limit_lsr",
        "latest_ship_date",
        "shipments",
        "late shipments",
        "late shipments",
    ),
    MetricDef(
        "cr_7d",
        "Pre-fulfilment Cancellation Rate",
        Family.CR,
        MFN,
        7,
        Direction.MAX,
        "limit_cr",
        "purchase_date",
        "orders",
        "seller cancellations",
        "cancellations counted against the seller",
    ),
    MetricDef(
        "vtr_30d",
        "Valid Tracking Rate",
        Family.VTR,
        MFN,
        30,
        Direction.MIN,
        "limit_vtr",
        "shipped_at",
        "shipments",
        "shipments with valid tracking",
        "shipments without valid tracking",
    ),
    MetricDef(
        "otdr_14d",
        "On-Time Delivery Rate",
        Family.OTDR,
        MFN,
        14,
        Direction.MIN,
        "limit_otdr",
        "latest_delivery_date",
        "deliveries",
        "deliveries on time",
        "late deliveries",
    ),
)
METRICS_BY_ID = {m.id: m for m in METRICS}


def metric_def(metric_id: str) -> MetricDef:
    """The definition of a metric id; an unknown id is a usage error naming the known ones."""
    try:
        return METRICS_BY_ID[metric_id]
    except KeyError:
        raise UsageError(f"unknown metric {metric_id!r} (known: {', '.join(METRICS_BY_ID)})") from None


# How far before an evaluation time an order's anchor can still count: the longest window, or
# the span of daily cohorts the forecast reads, whichever is longer.
LOOKBACK_DAYS = max(max(m.days for m in METRICS), forecast.FIT_DAYS)


@dataclass(frozen=True)
class Targets:
    """The limits and thresholds a status is judged by (from settings)."""

    limit_odr: float = 0.01
    limit_lsr: float = 0.04
    limit_cr: float = 0.025
    limit_vtr: float = 0.95
    limit_otdr: float = 0.90
    warn_ratio: float = 0.75
    forecast_days: int = 7
    odr_count_cancelled: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Targets:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})

    def limit(self, metric: MetricDef) -> float:
        return getattr(self, metric.limit_setting)


@dataclass
class MetricValue:
    """One metric of one account and channel at one time (the JSON contract of `metrics`)."""

    account: str
    channel: Channel
    metric: str
    as_of: datetime
    window_start: datetime
    window_end: datetime
    numerator: int
    denominator: int
    rate: float | None
    limit: float
    direction: Direction
    status: Status
    headroom: int | None
    forecast_breach: str | None = None  # ISO date on which the trend would miss the target
    no_data_reason: str | None = None
    marketplace: str | None = None

    @property
    def key(self) -> MetricKey:
        return MetricKey(self.account, self.marketplace, self.channel, self.metric)

    @property
    def definition(self) -> MetricDef:
        return METRICS_BY_ID[self.metric]

    @property
    def bad_share(self) -> float | None:
        """The rate in "bad" terms: the rate of a MAX metric, 1 - rate of a MIN metric."""
        if self.rate is None:
            return None
        return self.rate if self.direction is Direction.MAX else 1 - self.rate

    @property
    def allowance(self) -> float:
        """The largest bad share the target allows."""
        return self.limit if self.direction is Direction.MAX else 1 - self.limit


# ------------------------------------------------------------------ input preparation
def _us(values: pd.Series) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch, NEVER where missing."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    stamps = pd.to_datetime(values, utc=True)
    out = stamps.dt.tz_convert(None).to_numpy(dtype="datetime64[us]").astype(np.int64)
    out[stamps.isna().to_numpy()] = NEVER
    return out


def to_us(moment: datetime) -> int:
    return int(pd.Timestamp(moment).tz_convert("UTC").value // 1000)


def from_us(value: int) -> datetime:
    return pd.Timestamp(value * 1000, tz="UTC").to_pydatetime()


@dataclass
class Prepared:
    """One account's orders as arrays: timestamps (microseconds, NEVER when missing) and flags."""

    orders: pd.DataFrame
    channel: np.ndarray  # "afn" or "mfn"
    times: dict[str, np.ndarray]
    pre_fulfilment: np.ndarray  # cancelled before it shipped
    cancelled_by: np.ndarray
    valid_tracking: np.ndarray
    present: dict[str, bool]  # PRESENCE_FIELDS: has any MFN order of the account ever carried it?


COUNTING_STATUSES_EXCLUDED = {
    "a_to_z_claim": {"denied", "withdrawn"},
    "chargeback": {"reversed"},
    "negative_feedback": {"removed"},
}


def counting_defects(defects: pd.DataFrame) -> pd.DataFrame:
    """Defects that count for ODR: feedback of 1-2 stars not removed; claims not denied or
    withdrawn; chargebacks not reversed."""
    if defects.empty:
        return defects
    kind = defects["defect_type"]
    status = defects["status"].fillna("").str.lower()
    rating = (
        pd.to_numeric(defects["rating"], errors="coerce")
        if "rating" in defects
        else pd.Series(np.nan, index=defects.index)
    )
    excluded = pd.Series(False, index=defects.index)
    for defect_type, statuses in COUNTING_STATUSES_EXCLUDED.items():
        excluded |= (kind == defect_type) & status.isin(statuses)
    low_rating = (kind != "negative_feedback") | rating.isna() | (rating <= 2)
    return defects[~excluded & low_rating & kind.isin(COUNTING_STATUSES_EXCLUDED)]


PRESENCE_FIELDS = ("shipped_at", "latest_ship_date", "tracking_valid", "delivered_at", "latest_delivery_date")


def present_fields(orders: pd.DataFrame) -> dict[str, bool]:
    """Which fields any MFN order carries: a metric whose field was never imported says no_data."""
    mfn = (orders["fulfillment_channel"].str.upper() == "MFN").to_numpy(dtype=bool)
    return {name: bool(orders[name].notna().to_numpy()[mfn].any()) for name in PRESENCE_FIELDS}


def prepare(
    orders: pd.DataFrame, defects: pd.DataFrame | None = None, present: dict[str, bool] | None = None
) -> Prepared:
    """Counting times of one account's orders (see the module docstring). `present` says which
    fields the account's data carries at all, when `orders` is only its recent part."""
    orders = orders.reset_index(drop=True)
    t = {name: _us(orders[name]) for name in ORDER_TIMESTAMPS}
    status = orders["order_status"].to_numpy(dtype=object)
    cancelled = (status == "Canceled") | (t["cancelled_at"] != NEVER)
    shipped = t["shipped_at"]
    pre_fulfilment = cancelled & ((shipped == NEVER) | ((t["cancelled_at"] != NEVER) & (t["cancelled_at"] < shipped)))
    # when the cancellation is known: its time, or always when it carries none
    cancel_known = np.where(cancelled, np.where(t["cancelled_at"] != NEVER, t["cancelled_at"], ALWAYS), NEVER)
    by = orders["cancelled_by"].fillna("").to_numpy(dtype=object)
    valid = orders["tracking_valid"].eq(True).to_numpy(dtype=bool)
    first_defect = np.full(len(orders), NEVER, dtype=np.int64)
    if defects is not None and len(defects) and len(orders):
        counted = counting_defects(defects)
        if len(counted):
            earliest = counted.assign(us=_us(counted["received_at"])).groupby("order_id")["us"].min()
            position = earliest.index.get_indexer(pd.Index(orders["order_id"]))
            first_defect = np.where(position >= 0, earliest.to_numpy(dtype=np.int64)[position], NEVER)
    t.update(
        pre_fulfilment_cancel_known=np.where(pre_fulfilment, cancel_known, NEVER),
        cancel_known=cancel_known,
        first_defect=first_defect,
    )
    channel = orders["fulfillment_channel"].str.lower().to_numpy(dtype=object)
    return Prepared(
        orders, channel, t, pre_fulfilment, by, valid, present if present is not None else present_fields(orders)
    )


@dataclass
class Counting:
    """For one metric and channel: which orders take part, and their counting times.

    An order is eligible at T when anchor in [window start, T) and T <= drop;
    it is bad (max metrics) or good (min metrics) when also `flag` and T > flag_from.
    """

    index: np.ndarray  # positions in Prepared.orders
    anchor: np.ndarray
    drop: np.ndarray
    flag: np.ndarray
    flag_from: np.ndarray
    no_data: str | None = None


def counting(p: Prepared, metric: MetricDef, channel: str, targets: Targets) -> Counting:
    """The counting times of `metric` for the orders of `channel`."""
    t = p.times
    in_channel = p.channel == channel
    anchor = t[metric.anchor]
    if metric.family is Family.ODR:
        drop = np.full(len(anchor), NEVER, dtype=np.int64) if targets.odr_count_cancelled else t["cancel_known"]
        return _select(in_channel, anchor, drop, t["first_defect"] != NEVER, t["first_defect"])
    mfn = in_channel & (channel == "mfn")
    if metric.family is Family.LSR:
        on_time = (t["shipped_at"] != NEVER) & (t["shipped_at"] <= t["latest_ship_date"])
        result = _select(mfn & (anchor != NEVER), anchor, t["pre_fulfilment_cancel_known"], ~on_time, ALWAYS)
        if not p.present["shipped_at"]:
            result.no_data = "no ship-confirmation times imported (shipped_at)"
        elif not p.present["latest_ship_date"]:
            result.no_data = "no expected ship dates imported (latest_ship_date)"
        return result
    if metric.family is Family.CR:
        counts = p.pre_fulfilment & (p.cancelled_by != "buyer")
        return _select(
            mfn, anchor, np.full(len(anchor), NEVER, dtype=np.int64), counts, t["pre_fulfilment_cancel_known"]
        )
    if metric.family is Family.VTR:
        result = _select(
            mfn & (anchor != NEVER), anchor, np.full(len(anchor), NEVER, dtype=np.int64), p.valid_tracking, ALWAYS
        )
        if not p.present["tracking_valid"]:
            result.no_data = "no tracking validity imported (tracking_valid)"
        return result
    if metric.family is Family.OTDR:
        on_time = (t["delivered_at"] != NEVER) & (t["delivered_at"] <= t["latest_delivery_date"])
        result = _select(
            mfn & p.valid_tracking & (anchor != NEVER),
            anchor,
            np.full(len(anchor), NEVER, dtype=np.int64),
            on_time,
            ALWAYS,
        )
        if not p.present["delivered_at"]:
            result.no_data = "no delivery scans imported (delivered_at)"
        elif not p.present["latest_delivery_date"]:
            result.no_data = "no promised delivery dates imported (latest_delivery_date)"
        return result
    raise KeyError(metric.id)


def _select(mask: np.ndarray, anchor, drop, flag, flag_from) -> Counting:
    index = np.flatnonzero(mask)
    flag_from = np.broadcast_to(np.asarray(flag_from, dtype=np.int64), anchor.shape)
    return Counting(index, anchor[index], drop[index], np.asarray(flag)[index], flag_from[index])


# ------------------------------------------------------------------ evaluation
def count_at(c: Counting, as_of: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    """(eligible, flagged) masks at time `as_of` for the window [start, as_of)."""
    eligible = (c.anchor >= start) & (c.anchor < as_of) & (as_of <= c.drop)
    return eligible, eligible & c.flag & (as_of > c.flag_from)


def count_history(c: Counting, first: int, days: int, window_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Eligible and flagged counts at T_k = first + k days (k < days), each for the window
    [T_k - window, T_k): every order adds 1 on the interval of k where it counts."""
    lo_den = c.anchor
    hi_den = np.minimum(np.where(c.anchor == NEVER, ALWAYS, c.anchor + window_us), c.drop)
    flagged = c.flag
    lo_num = np.maximum(c.anchor[flagged], c.flag_from[flagged])
    hi_num = hi_den[flagged]
    return _interval_counts(lo_den, hi_den, first, days), _interval_counts(lo_num, hi_num, first, days)


def _interval_counts(lo: np.ndarray, hi: np.ndarray, first: int, days: int) -> np.ndarray:
    """How many intervals (lo, hi] contain T_k = first + k days, for each k < days."""
    valid = (lo != NEVER) & (hi != ALWAYS) & (hi > lo)
    lo, hi = lo[valid], hi[valid]
    # k counts when lo < T_k <= hi:  k > (lo - first) / day  and  k <= (hi - first) / day
    k_first = np.floor_divide(lo - first, US_PER_DAY) + 1
    k_last = np.floor_divide(np.minimum(hi, first + days * US_PER_DAY) - first, US_PER_DAY)
    k_first = np.clip(k_first, 0, days)
    k_last = np.clip(k_last, -1, days - 1)
    keep = k_last >= k_first
    diff = np.zeros(days + 1, dtype=np.int64)
    np.add.at(diff, k_first[keep], 1)
    np.add.at(diff, k_last[keep] + 1, -1)
    return np.cumsum(diff)[:days]


# ------------------------------------------------------------------ judging a value
def rate_and_status(
    metric: MetricDef,
    flagged: int,
    eligible: int,
    targets: Targets,
    no_data: str | None = None,
    forecast_within: bool = False,
) -> tuple[float | None, Status, int | None]:
    """(rate, status, headroom) for `flagged` of `eligible` orders, judged exactly (fractions)."""
    if eligible == 0 or no_data:
        return None, Status.NO_DATA, None
    limit = Fraction(str(targets.limit(metric)))
    bad = flagged if metric.direction is Direction.MAX else eligible - flagged
    allowance = limit if metric.direction is Direction.MAX else 1 - limit
    share = Fraction(bad, eligible)
    missed = share >= allowance if metric.direction is Direction.MAX else share > allowance
    if missed:
        status = Status.CRITICAL
    elif share >= Fraction(str(targets.warn_ratio)) * allowance or forecast_within:
        status = Status.WARNING
    else:
        status = Status.GOOD
    return flagged / eligible, status, headroom(metric, flagged, eligible, targets)


def headroom(metric: MetricDef, flagged: int, eligible: int, targets: Targets) -> int | None:
    """How many more bad orders, with no more eligible ones, keep the metric within target."""
    if eligible == 0:
        return None
    limit = Fraction(str(targets.limit(metric)))
    if metric.direction is Direction.MAX:  # largest k with (b + k) / n < L
        return max(math.ceil(limit * eligible) - 1 - flagged, 0)
    bad = eligible - flagged  # largest k with (b + k) / n <= 1 - L
    return max(math.floor((1 - limit) * eligible) - bad, 0)


# ------------------------------------------------------------------ public entry points
def evaluate(
    orders: pd.DataFrame,
    defects: pd.DataFrame | None,
    as_of: datetime,
    targets: Targets,
    account: str = "",
    metrics: Iterable[MetricDef] = METRICS,
    window_start: datetime | None = None,
    present: dict[str, bool] | None = None,
) -> list[MetricValue]:
    """Every metric and channel of one account at `as_of` (orders of that account only).

    With `window_start`, the window is [window_start, as_of) instead of the metric's own
    length (to recompute a figure over Amazon's reporting range); no forecast then.
    """
    p = prepare(orders, defects, present)
    end = to_us(as_of)
    values = []
    for metric in metrics:
        start = to_us(window_start) if window_start else end - metric.days * US_PER_DAY
        for channel in metric.channels:
            c = counting(p, metric, channel, targets)
            eligible, flagged = count_at(c, end, start)
            n, k = int(eligible.sum()), int(flagged.sum())
            breach = None if window_start else _recent_breach(c, metric, end, targets)
            values.append(_value(account, channel, metric, as_of, from_us(start), k, n, targets, c.no_data, breach))
    return values


def _cohort_span(metric: MetricDef) -> int:
    return max(metric.days, forecast.FIT_DAYS)


def _recent_breach(c: Counting, metric: MetricDef, end: int, targets: Targets) -> datetime | None:
    span = _cohort_span(metric)
    eligible, flagged = count_history(c, end - (span - 1) * US_PER_DAY, span, US_PER_DAY)
    return _breach(metric, from_us(end), eligible, flagged, targets)


def _breach(
    metric: MetricDef, as_of: datetime, eligible: np.ndarray, flagged: np.ndarray, targets: Targets
) -> datetime | None:
    """The forecast breach day from daily cohorts (each day's orders, as known when it ended)."""
    limit = targets.limit(metric)
    if metric.direction is Direction.MAX:
        ahead = forecast.days_to_breach(eligible, flagged, metric.days, limit, strict=False)
    else:
        ahead = forecast.days_to_breach(eligible, eligible - flagged, metric.days, 1 - limit, strict=True)
    return None if ahead is None else as_of + timedelta(days=ahead)


def _value(
    account: str,
    channel: Channel,
    metric: MetricDef,
    as_of: datetime,
    start: datetime,
    flagged: int,
    eligible: int,
    targets: Targets,
    no_data: str | None,
    breach: datetime | None,
) -> MetricValue:
    if no_data:  # the counts would mislead (every unconfirmed order looks late): report none
        flagged = eligible = 0
    soon = breach is not None and breach - as_of <= timedelta(days=targets.forecast_days)
    rate, status, room = rate_and_status(metric, flagged, eligible, targets, no_data, soon)
    if status in (Status.CRITICAL, Status.NO_DATA):
        breach = None  # a forecast of what has already happened, or of nothing, helps no one
    return MetricValue(
        account,
        channel,
        metric.id,
        as_of,
        start,
        as_of,
        flagged,
        eligible,
        rate,
        targets.limit(metric),
        metric.direction,
        status,
        room,
        forecast_breach=breach.date().isoformat() if breach else None,
        no_data_reason=(no_data or "no eligible orders in the window") if status is Status.NO_DATA else None,
    )


def history(
    orders: pd.DataFrame,
    defects: pd.DataFrame | None,
    as_of: datetime,
    days: int,
    targets: Targets,
    account: str = "",
    metrics: Iterable[MetricDef] = METRICS,
    present: dict[str, bool] | None = None,
) -> list[MetricValue]:
    """One value per metric, channel and day for the `days` days ending at `as_of`
    (T = as_of - (days - 1 - k) days), computed in time linear in orders plus days."""
    p = prepare(orders, defects, present)
    first = to_us(as_of) - (days - 1) * US_PER_DAY
    stamps = [from_us(first + k * US_PER_DAY) for k in range(days)]
    values = []
    for metric in metrics:
        span = _cohort_span(metric)
        for channel in metric.channels:
            c = counting(p, metric, channel, targets)
            eligible, flagged = count_history(c, first, days, metric.days * US_PER_DAY)
            # daily cohorts for the forecasts, from `span - 1` days before the first point
            daily_n, daily_b = count_history(c, first - (span - 1) * US_PER_DAY, days + span - 1, US_PER_DAY)
            for k in range(days):
                breach = (
                    None
                    if c.no_data
                    else _breach(metric, stamps[k], daily_n[k : k + span], daily_b[k : k + span], targets)
                )
                values.append(
                    _value(
                        account,
                        channel,
                        metric,
                        stamps[k],
                        stamps[k] - timedelta(days=metric.days),
                        int(flagged[k]),
                        int(eligible[k]),
                        targets,
                        c.no_data,
                        breach,
                    )
                )
    return values
