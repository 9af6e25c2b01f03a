"""The account health metrics (metrics contract, version 2): pure functions of one account's
order and defect tables, what the database knows besides (`AccountFacts`) and a time.

Nothing here reads the clock, the database or the network.

* Every metric is computed per marketplace and fulfilment channel, over whole UTC days,
  in Amazon's lagged window: with day0 the start of T's day, the window is
  [day0 - (lag + days), day0 - lag) on the metric's anchor. Lag and window length are
  Amazon's when an imported performance report of the marketplace shows them, else the
  settings'.
* What is known at T counts: an event stamped at or after T has not happened yet, but
  an event known at T counts even if it came after the window (a claim filed today
  against an order of the window).
* Every value, the projection and the forecast are read off daily cohorts as known at T
  (monitor/counting.py), so a history is as cheap as a few evaluations, and equal to them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from monitor import counting as cnt
from monitor import coverage, forecast
from monitor.counting import NEVER, US_PER_DAY
from monitor.domain import REVIEW_FAMILIES, STARS, Channel, Direction, Family, MetricKey, Status
from monitor.errors import UsageError
from monitor.marketplaces import channel_of

if TYPE_CHECKING:
    from monitor.config import Settings


@dataclass(frozen=True)
class MetricDef:
    id: str
    name: str
    family: Family
    channels: tuple[Channel, ...]
    days: int  # the window's length, unless Amazon's report of the marketplace says otherwise
    direction: Direction  # MAX: must stay below the limit; MIN: must stay at or above it
    limit_setting: str
    lag_setting: str
    counted: str  # what the denominator counts, in words ("shipments")
    numerator_label: str  # what the numerator counts ("late shipments"; good ones for a MIN metric)
    miss_label: str  # one bad outcome, in words, whatever the direction ("late deliveries")
    needs: tuple[tuple[str, str], ...] = ()  # (field, what it is) the group's data must carry
    coverage: bool = False  # reports the share of eligible orders that could be judged
    market: str = "amazon"  # whose standard: amazon, walmart, ebay, etsy (marketplaces.channel_of)
    short: str = ""  # the short name, when not the family's
    exactness: str = "exact"  # exact, proxy (an approximation: `proxy_reason` says of what) or scorecard
    proxy_reason: str = ""
    days_setting: str = ""  # the setting that sets the window's length (other channels)
    at_limit_ok: bool = False  # a MAX target met at the limit itself ("at most 2 %"; Amazon's: "below 1 %")
    min_bad_setting: str = ""  # the target is missed only with more bad ones than this setting says
    evaluated_on_day: int = 0  # the marketplace evaluates monthly on this day (eBay: 20): its figure then too
    # eBay: a longer window (setting) when the window holds fewer eligible ones than another setting says
    low_volume_days_setting: str = ""
    low_volume_below_setting: str = ""
    min_bad_under_setting: str = ""  # the minimum count of bad ones holds only under this many (Etsy: 40 reviews)
    unit: str = "share"  # share (a rate), or stars (an average rating: the rate is the stars given / 5 per review)

    def short_name(self) -> str:
        """The name a seller uses: "ODR", "LSR 10d", "CR", "VTR", "OTDR" (another channel's own)."""
        if self.short:
            return self.short
        return f"{self.family.upper()} {self.days}d" if self.family is Family.LSR else self.family.upper()


AFN_MFN = (Channel.AFN, Channel.MFN)
MFN = (Channel.MFN,)
CONFIRMATIONS = ("shipped_at", "ship-confirmation times")
METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "odr",
        "Order Defect Rate",
        Family.ODR,
        AFN_MFN,
        60,
        Direction.MAX,
        "limit_odr",
        "lag_odr_days",
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
        "lag_lsr_days",
        "shipments",
        "late shipments",
        "late shipments",
        (CONFIRMATIONS, ("latest_ship_date", "expected ship dates")),
        coverage=True,
    ),
    MetricDef(
        "lsr_30d",
        "Late Shipment Rate (30 days)",
        Family.LSR,
        MFN,
        30,
        Direction.MAX,
        "limit_lsr",
        "lag_lsr_days",
        "shipments",
        "late shipments",
        "late shipments",
        (CONFIRMATIONS, ("latest_ship_date", "expected ship dates")),
        coverage=True,
    ),
    MetricDef(
        "cr_7d",
        "Pre-fulfilment Cancellation Rate",
        Family.CR,
        MFN,
        7,
        Direction.MAX,
        "limit_cr",
        "lag_cr_days",
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
        "lag_vtr_days",
        "shipments",
        "shipments with valid tracking",
        "shipments without valid tracking",
        (CONFIRMATIONS,),
        coverage=True,
    ),
    MetricDef(
        "otdr_14d",
        "On-Time Delivery Rate",
        Family.OTDR,
        MFN,
        14,
        Direction.MIN,
        "limit_otdr",
        "lag_otdr_days",
        "units",
        "units delivered on time",
        "units delivered late",
        (
            ("delivered_at", "delivery scans"),
            ("latest_delivery_date", "promised delivery dates"),
            ("tracking_valid", "tracking validity"),
        ),
    ),
)
# Other channels' standards (marketplaces walmart.com, ebay.*, etsy.com), counted with the same rules
# as Amazon's metrics of the same family, over their own windows and limits (all settings).
SHIP_DATES = (CONFIRMATIONS, ("latest_ship_date", "ship-by dates"))


def _walmart_scorecard(
    metric_id: str,
    name: str,
    days: int,
    limit_setting: str,
    counted: str,
    bad: str,
    short: str,
    reason: str,
    days_setting: str,
) -> MetricDef:
    """A share of orders only Walmart measures (its Insights summary): at most the limit."""
    return MetricDef(
        metric_id,
        name,
        Family.CR,
        MFN,
        days,
        Direction.MAX,
        limit_setting,
        "lag_channel_days",
        counted,
        bad,
        bad,
        market="walmart",
        short=short,
        at_limit_ok=True,
        exactness="scorecard",
        proxy_reason=reason,
        days_setting=days_setting,
    )


CHANNEL_METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "walmart_cancel_rate",
        "Walmart Cancellation Rate",
        Family.CR,
        MFN,
        30,
        Direction.MAX,
        "limit_walmart_cancel_rate",
        "lag_channel_days",
        "orders",
        "seller cancellations",
        "cancellations counted against the seller",
        market="walmart",
        short="Walmart cancellations",
        days_setting="window_walmart_days",
        at_limit_ok=True,
    ),
    MetricDef(
        "walmart_otd_rate",
        "Walmart On-Time Delivery Rate",
        Family.OTDR,
        MFN,
        30,
        Direction.MIN,
        "limit_walmart_otd_rate",
        "lag_channel_days",
        "units",
        "units delivered on time",
        "units delivered late",
        (("delivered_at", "delivery scans"), ("latest_delivery_date", "promised delivery dates")),
        market="walmart",
        short="Walmart OTD",
        exactness="proxy",
        proxy_reason="counted in units with the delivery scans imported; Walmart counts orders",
        days_setting="window_walmart_days",
    ),
    MetricDef(
        "walmart_vtr_rate",
        "Walmart Valid Tracking Rate",
        Family.VTR,
        MFN,
        30,
        Direction.MIN,
        "limit_walmart_vtr_rate",
        "lag_channel_days",
        "shipments",
        "shipments with valid tracking",
        "shipments without valid tracking",
        (CONFIRMATIONS,),
        coverage=True,
        market="walmart",
        short="Walmart VTR",
        days_setting="window_walmart_days",
    ),
    MetricDef(
        "walmart_response_rate",
        "Walmart Response Rate",
        Family.CR,
        MFN,
        30,
        Direction.MIN,
        "limit_walmart_response_rate",
        "lag_channel_days",
        "inquiries",
        "inquiries answered within 48 h",
        "inquiries answered late",
        market="walmart",
        short="Walmart response rate",
        exactness="scorecard",
        proxy_reason="only Walmart measures it (buyers' messages are in no export): see Seller Center's "
        "Performance dashboard or its Insights API",
        days_setting="window_walmart_days",
    ),
    _walmart_scorecard(
        "walmart_refund_rate",
        "Walmart Refund Rate",
        30,
        "limit_walmart_refund_rate",
        "orders",
        "orders refunded for a seller-responsible reason",
        "Walmart refunds",
        "Walmart decides which refunds are the seller's: import its Insights refunds summary",
        "window_walmart_days",
    ),
    _walmart_scorecard(
        "walmart_negative_feedback_rate",
        "Walmart Negative Feedback Rate",
        60,
        "limit_walmart_negative_feedback_rate",
        "orders",
        "orders with a 1- or 2-star review",
        "Walmart negative feedback",
        "reviews are in no export: import Walmart's Insights negativeFeedback summary",
        "window_walmart_reviews_days",
    ),
    _walmart_scorecard(
        "walmart_return_rate",
        "Walmart Return Rate",
        60,
        "limit_walmart_return_rate",
        "delivered orders",
        "orders returned",
        "Walmart returns",
        "returns are in no order export: import Walmart's Insights returns summary",
        "window_walmart_reviews_days",
    ),
    _walmart_scorecard(
        "walmart_inr_rate",
        "Walmart Item Not Received Rate",
        60,
        "limit_walmart_inr_rate",
        "orders",
        "orders the buyer reported not received",
        "Walmart items not received",
        "buyers' reports are in no export: import Walmart's Insights itemNotReceived summary",
        "window_walmart_reviews_days",
    ),
    MetricDef(
        "ebay_defect_rate",
        "eBay Transaction Defect Rate",
        Family.CR,
        MFN,
        90,
        Direction.MAX,
        "limit_ebay_defect_rate",
        "lag_channel_days",
        "transactions",
        "transactions with a defect",
        "transactions with a defect",
        market="ebay",
        short="eBay defects",
        at_limit_ok=True,
        min_bad_setting="min_ebay_defects",
        evaluated_on_day=20,
        exactness="scorecard",
        proxy_reason="eBay counts the cancellations it attributes to you and the cases closed without your "
        "resolution, which no export carries: see Seller Hub's Performance > Service metrics (or its Analytics API)",
        days_setting="window_ebay_days",
        low_volume_days_setting="window_ebay_low_volume_days",
        low_volume_below_setting="min_ebay_transactions",
    ),
    MetricDef(
        "ebay_cases_closed_rate",
        "eBay Cases Closed Without Seller Resolution",
        Family.CR,
        MFN,
        90,
        Direction.MAX,
        "limit_ebay_cases_closed_rate",
        "lag_channel_days",
        "transactions",
        "cases closed without your resolution",
        "cases closed without your resolution",
        market="ebay",
        short="eBay cases closed",
        at_limit_ok=True,
        min_bad_setting="min_ebay_cases",
        evaluated_on_day=20,
        exactness="scorecard",
        proxy_reason="eBay closes the cases a buyer escalates, and says which went against you only in its "
        "own figures: see Seller Hub's Performance > Service metrics (or its Analytics API)",
        days_setting="window_ebay_days",
        low_volume_days_setting="window_ebay_low_volume_days",
        low_volume_below_setting="min_ebay_transactions",
    ),
    MetricDef(
        "ebay_late_shipment_rate",
        "eBay Late Shipment Rate",
        Family.LSR,
        MFN,
        90,
        Direction.MAX,
        "limit_ebay_late_shipment_rate",
        "lag_channel_days",
        "shipments",
        "late shipments",
        "late shipments",
        SHIP_DATES,
        coverage=True,
        market="ebay",
        short="eBay late shipments",
        at_limit_ok=True,
        min_bad_setting="min_ebay_late_shipments",
        evaluated_on_day=20,
        exactness="proxy",
        proxy_reason="shipped after the ship-by date, from the export's dates: eBay looks at carrier scans",
        days_setting="window_ebay_days",
        low_volume_days_setting="window_ebay_low_volume_days",
        low_volume_below_setting="min_ebay_transactions",
    ),
    MetricDef(
        "ebay_tracking_on_time_rate",
        "eBay Tracking Uploaded On Time",
        Family.TRACKED,
        MFN,
        90,
        Direction.MIN,
        "limit_ebay_tracking_on_time_rate",
        "lag_channel_days",
        "shipments",
        "shipments with tracking on time",
        "shipments without tracking on time",
        (*SHIP_DATES, ("tracking_id", "tracking numbers")),
        coverage=True,
        market="ebay",
        short="eBay tracking on time",
        evaluated_on_day=20,
        exactness="proxy",
        proxy_reason="confirmed by the ship-by date with a tracking number, from the export's dates: eBay looks at "
        "when the tracking was uploaded and at the carrier's first scan",
        days_setting="window_ebay_days",
        low_volume_days_setting="window_ebay_low_volume_days",
        low_volume_below_setting="min_ebay_transactions",
    ),
    MetricDef(
        "etsy_on_time_shipping_rate",
        "Etsy On-Time Shipping Rate",
        Family.LSR,
        MFN,
        90,
        Direction.MIN,
        "limit_etsy_on_time_shipping_rate",
        "lag_channel_days",
        "orders",
        "orders shipped on time",
        "orders shipped late",
        SHIP_DATES,
        coverage=True,
        market="etsy",
        short="Etsy on-time shipping",
        exactness="proxy",
        proxy_reason="shipped by the ship-by date, from the export's dates: Etsy also wants valid tracking",
        days_setting="window_etsy_days",
    ),
    MetricDef(
        "etsy_low_review_share",
        "Etsy Review Rating (reviews of 3 stars or less)",
        Family.REVIEWS,
        MFN,
        90,
        Direction.MAX,
        "limit_etsy_low_review_share",
        "lag_channel_days",
        "reviews",
        "reviews of 3 stars or less",
        "reviews of 3 stars or less",
        market="etsy",
        short="Etsy low reviews",
        min_bad_setting="min_etsy_low_reviews",
        min_bad_under_setting="etsy_reviews_for_share",
        days_setting="window_etsy_days",
    ),
    MetricDef(
        "etsy_average_rating",
        "Etsy Average Review Rating",
        Family.RATING,
        MFN,
        90,
        Direction.MIN,
        "limit_etsy_average_rating",
        "lag_channel_days",
        "stars",
        "stars given",
        "stars missing",
        market="etsy",
        short="Etsy average rating",
        unit="stars",
        days_setting="window_etsy_days",
    ),
)
ALL_METRICS: tuple[MetricDef, ...] = METRICS + CHANNEL_METRICS
METRICS_BY_ID = {m.id: m for m in ALL_METRICS}
PRESENCE_FIELDS = (
    "shipped_at",
    "latest_ship_date",
    "tracking_valid",
    "tracking_id",
    "delivered_at",
    "latest_delivery_date",
)
MIN_COVERAGE = 0.5
NO_REVIEWS = cnt.Reviews(*(np.zeros(0, dtype=t) for t in (object, np.int64, np.int64, object)))
AMAZON_FRESH_DAYS = 7


def metric_def(metric_id: str) -> MetricDef:
    """The definition of a metric id; an unknown id is a usage error naming the known ones."""
    try:
        return METRICS_BY_ID[metric_id]
    except KeyError:
        raise UsageError(f"unknown metric {metric_id!r} (known: {', '.join(METRICS_BY_ID)})") from None


# ------------------------------------------------------------------ what a value is judged by
@dataclass(frozen=True)
class Window:
    days: int
    lag: int
    source: str  # "default", "setting" or "amazon-report YYYY-MM-DD"
    low_volume_days: int = 0  # eBay: this many days instead, when `days` hold fewer than `low_volume_below`
    low_volume_below: int = 0

    @property
    def longest(self) -> int:
        return max(self.days, self.low_volume_days)

    def for_volume(self, eligible: int) -> Window:
        """The window that counts, given how many eligible ones its usual `days` hold."""
        if self.low_volume_days and eligible < self.low_volume_below:
            return Window(self.low_volume_days, self.lag, self.source)
        return Window(self.days, self.lag, self.source)


DEFAULT_LAGS = {
    "lag_odr_days": 15,
    "lag_lsr_days": 0,
    "lag_cr_days": 1,
    "lag_vtr_days": 10,
    "lag_otdr_days": 7,
    "lag_channel_days": 0,  # Walmart, eBay and Etsy: windows ending at the day's start
}
CHANNEL_WINDOWS = {
    "window_walmart_days": 30,
    "window_walmart_reviews_days": 60,
    "window_ebay_days": 90,
    "window_etsy_days": 90,
    "window_ebay_low_volume_days": 365,
}


@dataclass(frozen=True)
class Targets:
    """The limits, lags and thresholds values are judged by (from settings)."""

    limit_odr: float = 0.01
    limit_lsr: float = 0.04
    limit_cr: float = 0.025
    limit_vtr: float = 0.95
    limit_otdr: float = 0.90
    limit_walmart_cancel_rate: float = 0.02
    limit_walmart_otd_rate: float = 0.90
    limit_walmart_vtr_rate: float = 0.99
    limit_walmart_response_rate: float = 0.95
    limit_walmart_refund_rate: float = 0.06
    limit_walmart_negative_feedback_rate: float = 0.02
    limit_walmart_return_rate: float = 0.06
    limit_walmart_inr_rate: float = 0.02
    limit_ebay_defect_rate: float = 0.02
    limit_ebay_late_shipment_rate: float = 0.07
    limit_ebay_cases_closed_rate: float = 0.003
    limit_ebay_tracking_on_time_rate: float = 0.95
    limit_etsy_on_time_shipping_rate: float = 0.80
    limit_etsy_low_review_share: float = 0.10
    limit_etsy_average_rating: float = 4.8
    min_etsy_low_reviews: int = 4
    etsy_reviews_for_share: int = 40
    min_ebay_late_shipments: int = 7
    min_ebay_defects: int = 4
    min_ebay_cases: int = 2
    min_ebay_transactions: int = 400
    warn_ratio: float = 0.75
    forecast_days: int = 7
    odr_count_cancelled: bool = True
    cr_unknown_initiator: str = "count"
    default_marketplace: str = ""
    stale_hours: int = 36  # a source this much older than the newest order has stopped (coverage.py)
    lags: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LAGS))
    windows: Mapping[str, int] = field(default_factory=lambda: dict(CHANNEL_WINDOWS))  # other channels' days

    @classmethod
    def from_settings(cls, settings: Settings) -> Targets:
        plain = {name: getattr(settings, name) for name in cls.__dataclass_fields__ if name not in ("lags", "windows")}
        return cls(
            **plain,
            lags={name: getattr(settings, name) for name in DEFAULT_LAGS},
            windows={name: getattr(settings, name) for name in CHANNEL_WINDOWS},
        )

    @property
    def fingerprint(self) -> str:
        """Changes with any limit, lag, window or rule: values judged by other targets are judged again."""
        return hashlib.sha1(repr(self).encode()).hexdigest()[:16]

    def limit(self, metric: MetricDef) -> float:
        """The limit as a share (an average rating's: of the 5 stars a review can give)."""
        value = float(getattr(self, metric.limit_setting))
        return value / STARS if metric.unit == "stars" else value

    def window(self, metric: MetricDef, learned: Mapping[str, Window]) -> Window:
        """Amazon's window for the marketplace when its report showed one, else the settings'."""
        if metric.id in learned:
            return learned[metric.id]
        lag = self.lags.get(metric.lag_setting, DEFAULT_LAGS[metric.lag_setting])
        days = self.windows.get(metric.days_setting, metric.days) if metric.days_setting else metric.days
        changed = lag != DEFAULT_LAGS[metric.lag_setting] or days != metric.days
        source = "setting" if changed else "default"
        if metric.low_volume_days_setting:
            long_days = self.windows.get(
                metric.low_volume_days_setting, CHANNEL_WINDOWS[metric.low_volume_days_setting]
            )
            return Window(days, lag, source, long_days, int(getattr(self, metric.low_volume_below_setting)))
        return Window(days, lag, source)


@dataclass(frozen=True)
class AmazonFigure:
    """One of Amazon's own figures, from its newest performance report of the marketplace."""

    rate: float | None
    status: str | None
    missed: bool  # Amazon says the target is missed
    report_day: date  # the report's day (the end of its late-shipment range)
    known_at: datetime  # from when the report was known (its creation, or its day's end)
    numerator: int | None = None  # the marketplace's own counts, where it gives them
    denominator: int | None = None
    verdict: bool = True  # the marketplace judged this figure itself: a status, or a target to compare with

    def misses(self, metric: MetricDef, targets: Targets) -> bool:
        """Missed: by the marketplace's own verdict on this figure when it gives one (Amazon's status
        or target; eBay's level), else by its counts under the metric's rules and settings (limit
        and minimum count: eBay's profile may give a level only for the whole account)."""
        if self.verdict or not self.denominator or self.numerator is None:
            return self.missed
        bad = self.numerator if metric.direction is Direction.MAX else self.denominator - self.numerator
        return misses(metric, bad, self.denominator, targets.limit(metric), targets)


@dataclass(frozen=True)
class MarketplaceFacts:
    """What the database knows of one marketplace of an account besides its orders."""

    windows: Mapping[str, Window] = field(default_factory=dict)  # metric id -> Amazon's window
    amazon: Mapping[tuple[str, Channel], AmazonFigure] = field(default_factory=dict)
    present: frozenset[str] | None = None  # fields any MFN order ever carried (None: read the orders given)
    newest: Mapping[str, datetime | None] = field(default_factory=dict)  # source -> its newest data time
    gaps: Mapping[str, datetime] = field(default_factory=dict)  # source that stopped -> its newest data
    reviews: cnt.Reviews | None = None  # buyers' reviews (Etsy's), when any were imported
    # eBay's own figures as of its last monthly evaluation (its CURRENT cycle), beside ours then
    evaluated: Mapping[tuple[str, Channel], AmazonFigure] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountFacts:
    marketplaces: Mapping[str, MarketplaceFacts] = field(default_factory=dict)
    defect_source: bool | None = None  # a feedback report, defects file or Amazon report was imported (None: a
    # defects table was given)

    def of(self, marketplace: str) -> MarketplaceFacts:
        return self.marketplaces.get(marketplace) or MarketplaceFacts()


@dataclass
class MetricValue:
    """One metric of one account, marketplace and channel at one time (the JSON contract of `metrics`)."""

    account: str
    marketplace: str
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
    lag_days: int = 0
    lag_source: str = "default"
    coverage: float | None = None
    projected_rate: float | None = None
    projected_date: str | None = None
    forecast_breach: str | None = None  # ISO date on which the trend would miss the target
    amazon_rate: float | None = None
    amazon_status: str | None = None
    no_data_reason: str | None = None
    sources: dict[str, str | None] = field(default_factory=dict)  # source it rests on -> its newest data (ISO)
    # eBay: the figure as of its last monthly evaluation (the 20th), beside today's (eBay's CURRENT
    # and PROJECTED): {"on", "numerator", "denominator", "rate", "status"}
    evaluation: dict[str, Any] | None = None

    JSON_EXTRA = ("exactness", "proxy_reason", "unit")

    @property
    def key(self) -> MetricKey:
        return MetricKey(self.account, self.marketplace, self.channel, self.metric)

    @property
    def exactness(self) -> str:
        """exact, proxy (an approximation of the marketplace's own rule) or scorecard (only the
        marketplace measures it: never a figure of ours)."""
        return self.definition.exactness

    @property
    def proxy_reason(self) -> str | None:
        return self.definition.proxy_reason or None

    @property
    def unit(self) -> str:
        """share (rate, limit: fractions), or stars (an average rating: rate and limit are fractions of
        5 stars, so 0.97 is 4.85 stars)."""
        return self.definition.unit

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

    @property
    def projection_misses(self) -> bool:
        """Amazon's figure will miss the target within the lag, from what is known already."""
        if self.projected_rate is None:
            return False
        return (
            self.projected_rate >= self.limit if self.direction is Direction.MAX else self.projected_rate < self.limit
        )


# ------------------------------------------------------------------ time
def to_us(moment: datetime) -> int:
    return int(pd.Timestamp(moment).tz_convert("UTC").value // 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(value))  # as pandas' Timestamp gives it, 30 times faster


def day_start(value: int) -> int:
    """day0: the start of the UTC day of `value`, or `value` itself at midnight."""
    return value - value % US_PER_DAY


def span_of(window: Window) -> int:
    """How many daily cohorts (today's included) a value, its projection and forecast read."""
    return max(window.lag + window.longest, forecast.FIT_DAYS) + 1


# How far before an evaluation time an order's anchor can still matter (for loading).
LOOKBACK_DAYS = max(m.days + DEFAULT_LAGS[m.lag_setting] for m in ALL_METRICS) + forecast.FIT_DAYS + 1


# ------------------------------------------------------------------ judging a value
@cache
def allowance_of(direction: Direction, limit: float) -> Fraction:
    """The largest bad share a target allows, exactly."""
    return Fraction(str(limit)) if direction is Direction.MAX else 1 - Fraction(str(limit))


@cache
def _warn_share(warn_ratio: float, direction: Direction, limit: float) -> Fraction:
    return Fraction(str(warn_ratio)) * allowance_of(direction, limit)


def missed(direction: Direction, bad: int, judged: int, limit: float, at_limit_ok: bool = False) -> bool:
    """Is the target missed by `bad` of `judged`? Exactly (fractions), as Amazon compares."""
    allowance = allowance_of(direction, limit)
    share = Fraction(bad, judged)
    if direction is Direction.MAX and not at_limit_ok:
        return share >= allowance
    return share > allowance


def min_count_holds(metric: MetricDef, judged: int, targets: Targets) -> bool:
    """Whether the metric's minimum count of bad ones applies to `judged` (Etsy's: under 40 reviews only)."""
    if not metric.min_bad_setting:
        return False
    return not metric.min_bad_under_setting or judged < int(getattr(targets, metric.min_bad_under_setting))


def misses(metric: MetricDef, bad: int, judged: int, limit: float, targets: Targets) -> bool:
    """Is the metric's target missed, by its own rules: the limit itself allowed or not, and a
    minimum count of bad ones (eBay: more than 7 late shipments)."""
    if min_count_holds(metric, judged, targets) and bad <= int(getattr(targets, metric.min_bad_setting)):
        return False
    return missed(metric.direction, bad, judged, limit, metric.at_limit_ok)


def rate_and_status(
    metric: MetricDef,
    numerator: int,
    denominator: int,
    targets: Targets,
    no_data: str | None = None,
    forecast_within: bool = False,
) -> tuple[float | None, Status, int | None]:
    """(rate, status, headroom) for `numerator` of `denominator`, judged exactly (counts only)."""
    if denominator == 0 or no_data:
        return None, Status.NO_DATA, None
    limit = targets.limit(metric)
    bad = numerator if metric.direction is Direction.MAX else denominator - numerator
    allowance = Fraction(str(limit)) if metric.direction is Direction.MAX else 1 - Fraction(str(limit))
    if misses(metric, bad, denominator, limit, targets):
        status = Status.CRITICAL
    elif Fraction(bad, denominator) >= Fraction(str(targets.warn_ratio)) * allowance or forecast_within:
        status = Status.WARNING
    else:
        status = Status.GOOD
    return numerator / denominator, status, headroom(metric, numerator, denominator, targets)


def headroom(metric: MetricDef, numerator: int, denominator: int, targets: Targets) -> int | None:
    """How many more bad orders (units), with no more eligible ones, keep the metric within target."""
    if denominator == 0:
        return None
    limit = allowance_of(Direction.MAX, targets.limit(metric))  # the limit itself, exactly
    if metric.direction is Direction.MAX:  # largest k with (b + k) / n < L (<= L when the limit is allowed)
        room = (
            math.floor(limit * denominator) - numerator
            if metric.at_limit_ok
            else math.ceil(limit * denominator) - 1 - numerator
        )
        if min_count_holds(metric, denominator, targets):  # and no more than the minimum count of bad ones in all
            room = max(room, int(getattr(targets, metric.min_bad_setting)) - numerator)
        return max(room, 0)
    bad = denominator - numerator  # largest k with (b + k) / n <= 1 - L
    return max(math.floor((1 - limit) * denominator) - bad, 0)


@dataclass(frozen=True)
class Group:
    """One (marketplace, channel) of one metric: who counts, and by which window."""

    account: str
    marketplace: str
    channel: Channel
    metric: MetricDef
    window: Window
    counting: cnt.Counting
    facts: MarketplaceFacts
    blocked: str | None  # why the group's data cannot give this metric (a field never imported...)


def counted_window(window: Window, cohorts: cnt.Cohorts) -> Window:
    """The window a value is counted over: eBay's longer one when its usual one holds too few."""
    today = len(cohorts.eligible) - 1
    return window.for_volume(cohorts.window(today - window.lag - window.days, today - window.lag)[0])


def judge(
    group: Group, cohorts: cnt.Cohorts, known_at: int, targets: Targets, curve: forecast.Curve | None
) -> MetricValue:
    """The value of one group from its cohorts as known at `known_at` (today = the last cohort)."""
    metric = group.metric
    day0 = day_start(known_at)
    today = len(cohorts.eligible) - 1
    window = counted_window(group.window, cohorts)  # eBay: 12 months below 400 transactions in 3
    eligible, judged, bad = cohorts.window(today - window.lag - window.days, today - window.lag)
    as_of = from_us(known_at)
    end = from_us(day0 - window.lag * US_PER_DAY)
    value = MetricValue(
        group.account,
        group.marketplace,
        group.channel,
        metric.id,
        as_of,
        end - timedelta(days=window.days),
        end,
        0,
        0,
        None,
        targets.limit(metric),
        metric.direction,
        Status.NO_DATA,
        None,
        window.lag,
        window.source,
    )
    value.sources = {
        str(source): _iso(group.facts.newest.get(str(source))) for source in coverage.RESTS_ON[metric.family]
    }
    figure = group.facts.amazon.get((metric.id, group.channel))
    amazon_missed = False
    fresh = (
        figure is not None
        and figure.known_at <= as_of
        and figure.report_day >= as_of.date() - timedelta(days=AMAZON_FRESH_DAYS)
    )
    if figure is not None and fresh:
        value.amazon_rate, value.amazon_status = figure.rate, figure.status
        amazon_missed = figure.misses(metric, targets)
    if metric.coverage and eligible:
        value.coverage = judged / eligible
    no_data = group.blocked or _too_little(metric, eligible, judged, value.coverage)
    if no_data:
        value.no_data_reason = no_data
        value.status = Status.CRITICAL if amazon_missed else Status.NO_DATA
        if figure is not None and fresh and metric.market != "amazon":  # the other marketplace's own word
            value.no_data_reason = None
            value.status = Status.CRITICAL if amazon_missed else figure_status(figure, metric, targets)
        return value
    value.numerator = bad if metric.direction is Direction.MAX else judged - bad
    value.denominator = judged
    value.rate = value.numerator / judged
    value.headroom = headroom(metric, value.numerator, judged, targets)
    projected = forecast.project(cohorts, today, window.days, window.lag)
    if projected is not None:
        share = projected.bad / projected.judged
        value.projected_rate = share if metric.direction is Direction.MAX else 1 - share
        value.projected_date = (as_of + timedelta(days=projected.days_ahead)).date().isoformat()
    ours_missed = misses(metric, bad, judged, value.limit, targets)
    # a proxy never drives a critical alone when the marketplace's own, fresh figure says it is met
    overruled = ours_missed and metric.exactness == "proxy" and value.amazon_status is not None and not amazon_missed
    if (ours_missed and not overruled) or amazon_missed:
        value.status = Status.CRITICAL  # missed now: no forecast of when it will be (nothing shows one)
        return value
    ahead = forecast.days_to_breach(
        cohorts, today, window.days, window.lag, value.allowance, strict=metric.direction is Direction.MIN, curve=curve
    )
    breach = None if ahead is None else (as_of + timedelta(days=ahead)).date()
    soon = ahead is not None and ahead <= targets.forecast_days
    warn = Fraction(bad, judged) >= _warn_share(targets.warn_ratio, metric.direction, value.limit)
    projection_misses = projected is not None and misses(metric, projected.bad, projected.judged, value.limit, targets)
    value.status = Status.WARNING if warn or soon or projection_misses or overruled else Status.GOOD
    value.forecast_breach = breach.isoformat() if breach else None
    return value


WARNED_STATUSES = frozenset({"MONITOR"})  # Walmart's risk level between Good and Urgent


def figure_status(figure: AmazonFigure, metric: MetricDef, targets: Targets) -> Status:
    """A marketplace's own figure that meets its target, where we have none of ours: a warning when
    the marketplace warns, or when its rate has used WARN_RATIO of what the target allows."""
    if (figure.status or "").upper() in WARNED_STATUSES:
        return Status.WARNING
    if figure.rate is not None:
        limit = targets.limit(metric)
        bad = figure.rate if metric.direction is Direction.MAX else 1 - figure.rate
        if Fraction(str(round(bad, 12))) >= _warn_share(targets.warn_ratio, metric.direction, limit):
            return Status.WARNING
    return Status.GOOD


@lru_cache(maxsize=4096)  # a group's newest data times, asked again for each day of a history
def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _too_little(metric: MetricDef, eligible: int, judged: int, coverage: float | None) -> str | None:
    if eligible == 0:
        return f"no eligible {metric.counted} in the window"
    if coverage is not None and coverage < MIN_COVERAGE:
        what = "ship-confirmation time" if metric.family in (Family.LSR, Family.TRACKED) else "tracking validity"
        return (
            f"{what} known for {judged} of {eligible} {metric.counted} in the window "
            f"(coverage {coverage:.0%}, below {MIN_COVERAGE:.0%})"
        )
    if judged == 0:
        return f"no {metric.counted} in the window could be judged"
    return None


# ------------------------------------------------------------------ groups of one account
def _present(p: cnt.Prepared, marketplace: str) -> frozenset[str]:
    mfn = p.mask(Channel.MFN, marketplace)
    return frozenset(f for f in PRESENCE_FIELDS if f in p.orders and p.orders[f][mfn].notna().any())


def _blocked(metric: MetricDef, present: frozenset[str], defect_source: bool, reviews: bool) -> str | None:
    if metric.exactness == "scorecard":
        return metric.proxy_reason
    if metric.family in REVIEW_FAMILIES and not reviews:
        return "no reviews imported: save Etsy's getReviewsByShop answer as JSON and import it, or set ETSY_API_KEY"
    if metric.family is Family.ODR and not defect_source:
        return "no feedback or claims imported (a feedback report, a defects file or Amazon's performance report)"
    for name, what in metric.needs:
        if name not in present:
            return f"no {what} imported ({name})"
    if metric.family is Family.VTR and not {"tracking_valid", "tracking_id"} & present:
        return "no tracking numbers or tracking validity imported (tracking_id, tracking_valid)"
    return None


@dataclass
class Account:
    """One account's orders made ready, its groups enumerated."""

    prepared: cnt.Prepared
    groups: list[Group]
    countings: dict[Family, cnt.Counting]


def account_groups(
    orders: pd.DataFrame,
    defects: pd.DataFrame | None,
    targets: Targets,
    account: str,
    metrics: Iterable[MetricDef],
    facts: AccountFacts | None,
) -> Account:
    facts = facts or AccountFacts()
    p = cnt.prepare(orders, cnt.first_counting_defect(orders, defects), targets.default_marketplace)
    defect_source = facts.defect_source if facts.defect_source is not None else defects is not None
    used = np.unique(p.marketplace_code[p.amazon])
    markets = sorted({str(p.marketplace_names[i]) for i in used} | set(facts.marketplaces))
    p.gaps = _gap_times(p, facts)
    metrics = list(metrics)
    families = dict.fromkeys(metric.family for metric in metrics if metric.family not in REVIEW_FAMILIES)
    codes = p.group_codes(markets)
    countings = {  # once a family: a family's metrics count the same orders (channels' metrics share Amazon's)
        family: cnt.counting(p, family, targets.odr_count_cancelled, targets.cr_unknown_initiator == "count", codes)
        for family in families
    }
    groups = []
    parts = {family: c.split(codes) for family, c in countings.items()}
    empty = {family: c.subset(np.zeros(len(p.orders), dtype=bool)) for family, c in countings.items()}
    for position, marketplace in enumerate(markets):
        mp = facts.of(marketplace)
        present = mp.present if mp.present is not None else _present(p, marketplace)
        judged_by = channel_of(marketplace)  # Amazon's metrics, or the other channel's own
        for metric in (m for m in metrics if m.market == judged_by):
            for channel in metric.channels:
                code = 2 * position + (channel is Channel.MFN)
                if metric.family in REVIEW_FAMILIES:  # counted from the marketplace's reviews
                    c = cnt.review_counting(mp.reviews or NO_REVIEWS, metric.family, STARS)
                else:
                    c = parts[metric.family].get(code, empty[metric.family])
                groups.append(
                    Group(
                        account,
                        marketplace,
                        channel,
                        metric,
                        targets.window(metric, mp.windows),
                        c,
                        mp,
                        _blocked(metric, present, defect_source, bool(mp.reviews)),
                    )
                )
    return Account(p, groups, countings)


def _gap_times(p: cnt.Prepared, facts: AccountFacts) -> dict[str, np.ndarray]:
    """Per stopped source, the time from which each order's missing value says nothing (its
    marketplace's gap; NEVER where there is none)."""
    out = {}
    for source in coverage.GAP_SOURCES:
        per_code = np.array(
            [
                to_us(facts.of(str(name)).gaps[source]) if source in facts.of(str(name)).gaps else cnt.NEVER
                for name in p.marketplace_names
            ],
            dtype=np.int64,
        )
        if (per_code != cnt.NEVER).any():
            out[str(source)] = per_code[p.marketplace_code]
    return out


def _curve(family: Family, c: cnt.Counting | None, delays: np.ndarray | None) -> forecast.Curve | None:
    if family not in (Family.ODR, Family.CR) or c is None:
        return None
    if delays is None:
        return forecast.default_curve(family)
    return forecast.curve_from_delays(family, delays)


# ------------------------------------------------------------------ public entry points
def evaluate(
    orders: pd.DataFrame,
    defects: pd.DataFrame | None,
    as_of: datetime,
    targets: Targets,
    account: str = "",
    metrics: Iterable[MetricDef] = ALL_METRICS,
    facts: AccountFacts | None = None,
) -> list[MetricValue]:
    """Every metric of one account at `as_of`, per marketplace and channel."""
    known_at = to_us(as_of)
    day0 = day_start(known_at)
    prepared = account_groups(orders, defects, targets, account, metrics, facts)
    curves: dict[Family, forecast.Curve | None] = {
        family: _curve(family, c, cnt.delays_at(c, known_at, forecast.CURVE_DAYS[family]))
        for family, c in prepared.countings.items()
        if family in (Family.ODR, Family.CR)
    }
    values = []
    for group in prepared.groups:
        cohorts = cnt.cohorts_at(group.counting, known_at, day0, span_of(group.window))
        value = judge(group, cohorts, known_at, targets, curves.get(group.metric.family))
        if group.metric.evaluated_on_day and (
            value.status != Status.NO_DATA or (group.metric.id, group.channel) in group.facts.evaluated
        ):
            value.evaluation = _evaluated(group, as_of, targets, curves.get(group.metric.family))
        values.append(value)
    return values


def last_evaluation(as_of: datetime, day: int) -> datetime:
    """The start of the last monthly evaluation day at or before `as_of` (eBay: the 20th, UTC)."""
    moment = as_of.astimezone(UTC)
    month = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if moment.day < day:
        month = (month - timedelta(days=1)).replace(day=1)
    return month.replace(day=day)


def _evaluated(group: Group, as_of: datetime, targets: Targets, curve: forecast.Curve | None) -> dict[str, Any]:
    """The group's value as the marketplace's last monthly evaluation saw it (its day's start)."""
    moment = last_evaluation(as_of, group.metric.evaluated_on_day)
    known = to_us(moment)
    then = judge(
        group, cnt.cohorts_at(group.counting, known, day_start(known), span_of(group.window)), known, targets, curve
    )
    own = group.facts.evaluated.get((group.metric.id, group.channel))
    if own is not None and not (moment <= own.known_at <= as_of):
        own = None  # an older evaluation's figure, or one not known yet
    if own is not None and then.rate is None:  # only eBay's own figure judged it then
        then.status = (
            Status.CRITICAL if own.misses(group.metric, targets) else figure_status(own, group.metric, targets)
        )
    return {
        "on": moment.date().isoformat(),
        "numerator": then.numerator,
        "denominator": then.denominator,
        "rate": then.rate,
        "status": str(then.status),
        "marketplace_rate": own.rate if own else None,
        "marketplace_status": own.status if own else None,
    }


def history(
    orders: pd.DataFrame,
    defects: pd.DataFrame | None,
    as_of: datetime,
    days: int,
    targets: Targets,
    account: str = "",
    metrics: Iterable[MetricDef] = ALL_METRICS,
    facts: AccountFacts | None = None,
) -> list[MetricValue]:
    """One value per group and day for the `days` days ending at `as_of` (T = as_of - (days - 1 - k)
    days), in time linear in orders plus days; each equals `evaluate` at that T."""
    last = to_us(as_of)
    first = last - (days - 1) * US_PER_DAY
    if first % US_PER_DAY:  # points off midnight: evaluate them one by one
        return [
            v
            for k in range(days)
            for v in evaluate(orders, defects, from_us(first + k * US_PER_DAY), targets, account, metrics, facts)
        ]
    prepared = account_groups(orders, defects, targets, account, metrics, facts)
    delays = {
        family: cnt.delay_table(c, first, days, forecast.CURVE_DAYS[family])
        for family, c in prepared.countings.items()
        if family in (Family.ODR, Family.CR)
    }
    tables = [cnt.cohort_table(g.counting, first, days, span_of(g.window)) for g in prepared.groups]
    values = []
    for k in range(days):
        known_at = first + k * US_PER_DAY
        curves: dict[Family, forecast.Curve | None] = {
            family: _curve(family, prepared.countings[family], table[k]) for family, table in delays.items()
        }
        for group, table in zip(prepared.groups, tables, strict=True):
            values.append(judge(group, table.at(k), known_at, targets, curves.get(group.metric.family)))
    return values


def evaluate_range(
    orders: pd.DataFrame,
    defects: pd.DataFrame | None,
    metric: MetricDef,
    channel: Channel,
    marketplace: str,
    start: datetime,
    end: datetime,
    known_at: datetime,
    targets: Targets,
) -> tuple[int, int, float | None, Status]:
    """(numerator, denominator, rate, status) of one group over exactly [start, end), with what
    was known at `known_at` (to set our figure beside one of Amazon's)."""
    p = cnt.prepare(orders, cnt.first_counting_defect(orders, defects), targets.default_marketplace)
    c = cnt.counting(p, metric.family, targets.odr_count_cancelled, targets.cr_unknown_initiator == "count").subset(
        p.mask(channel, marketplace)
    )
    k, lo, hi = to_us(known_at), to_us(start), to_us(end)
    eligible = (c.anchor >= lo) & (c.anchor < hi) & (c.enter < k) & (k <= c.drop) & c.judged
    bad = int((c.weight * (eligible & c.flag & (c.flag_from < k))).sum())
    judged = int((c.weight * eligible).sum())
    numerator = bad if metric.direction is Direction.MAX else judged - bad
    rate, status, _ = rate_and_status(metric, numerator, judged, targets)
    return numerator, judged, rate, status


__all__ = [
    "NEVER",
    "US_PER_DAY",
    "AccountFacts",
    "AmazonFigure",
    "MarketplaceFacts",
    "MetricDef",
    "MetricValue",
    "Targets",
    "Window",
    "evaluate",
    "evaluate_range",
    "history",
    "metric_def",
]
