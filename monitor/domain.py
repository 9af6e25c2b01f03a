"""The words of the domain, as types: statuses, directions, fulfilment channels, alert
levels, and the key of one metric value.

"Channel" means the fulfilment channel (AFN, MFN) and nothing else here; alert
transports are notifiers (monitor/notifiers), and the case log has a medium.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """How one metric value stands against its target."""

    NO_DATA = "no_data"
    GOOD = "good"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Severity, for sorting: critical > warning > no_data > good."""
        return _STATUS_RANK[self]


_STATUS_RANK = {Status.GOOD: 0, Status.NO_DATA: 1, Status.WARNING: 2, Status.CRITICAL: 3}

STARS = 5  # a review gives 1 to 5 stars: the full scale of an average rating


class Direction(StrEnum):
    """MAX: the metric must stay below its limit; MIN: at or above it."""

    MAX = "max"
    MIN = "min"


class Channel(StrEnum):
    """The fulfilment channel: fulfilled by Amazon (AFN) or by the merchant (MFN)."""

    AFN = "afn"
    MFN = "mfn"


class AlertLevel(StrEnum):
    """The level of one alert key; WARNING, CRITICAL and NO_DATA are firing."""

    OK = "ok"
    NO_DATA = "no_data"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def firing(self) -> bool:
        return self is not AlertLevel.OK

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {AlertLevel.OK: 0, AlertLevel.NO_DATA: 1, AlertLevel.WARNING: 2, AlertLevel.CRITICAL: 3}
FIRING = tuple(level for level in AlertLevel if level.firing)


# the timestamp fields of an order, as stored (UTC)
ORDER_TIMESTAMPS = (
    "purchase_date",
    "latest_ship_date",
    "shipped_at",
    "cancelled_at",
    "latest_delivery_date",
    "delivered_at",
)


class Source(StrEnum):
    """What an account's data can carry; each metric rests on some of these."""

    ORDERS = "orders"
    SHIP_BY = "ship_by"
    CONFIRMATIONS = "ship_confirmations"
    TRACKING_NUMBERS = "tracking_numbers"
    TRACKING = "tracking_validity"
    PROMISES = "delivery_promises"
    DELIVERY = "delivery_scans"
    FEEDBACK = "feedback"
    CLAIMS = "claims"
    AMAZON_REPORT = "amazon_report"
    REVIEWS = "reviews"  # buyers' reviews (Etsy's getReviewsByShop)


# per order source: the field an order must carry, the field whose newest value is the data's time,
# and whether only MFN orders count (the seller's own shipments)
ORDER_SOURCES: dict[Source, tuple[str, str, bool]] = {
    Source.ORDERS: ("purchase_date", "purchase_date", False),
    Source.SHIP_BY: ("latest_ship_date", "latest_ship_date", True),
    Source.CONFIRMATIONS: ("shipped_at", "shipped_at", True),
    Source.TRACKING_NUMBERS: ("tracking_id", "shipped_at", True),
    Source.TRACKING: ("tracking_valid", "shipped_at", True),
    Source.PROMISES: ("latest_delivery_date", "latest_delivery_date", True),
    Source.DELIVERY: ("delivered_at", "delivered_at", True),
}
DEFECT_SOURCES = (Source.FEEDBACK, Source.CLAIMS, Source.AMAZON_REPORT)  # ODR needs one of them


class Family(StrEnum):
    """Metrics that measure the same thing over different windows share a family."""

    ODR = "odr"
    LSR = "lsr"
    CR = "cr"
    VTR = "vtr"
    OTDR = "otdr"
    TRACKED = "tracked"  # shipped by the ship-by date with a tracking number (eBay: tracking uploaded on time)
    REVIEWS = "reviews"  # reviews of 3 stars or less (Etsy), counted among the reviews
    RATING = "rating"  # the average review rating (Etsy), counted in stars


REVIEW_FAMILIES = (Family.REVIEWS, Family.RATING)  # counted from the reviews, not the orders


@dataclass(frozen=True, order=True)
class MetricKey:
    """Which value: one metric of one account, marketplace and fulfilment channel.

    `marketplace` is None where values are not split by marketplace.
    """

    account: str
    marketplace: str | None
    channel: Channel
    metric: str

    def label(self) -> str:
        where = f" on {self.marketplace}" if self.marketplace else ""
        return f"{self.account}{where}: {self.metric} {self.channel.upper()}"
