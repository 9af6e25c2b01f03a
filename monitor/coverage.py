"""Data coverage: which sources an account's data has, per marketplace, how new each one's data
is, and which of them stopped. Read from account_sources (what imports recorded).

A source **stopped** (a gap) when it had data, but its newest data trails the account's newest
order on that marketplace by more than STALE_HOURS plus what it normally trails by
(GAP_SLACK_HOURS): orders keep coming, their ship confirmations (or delivery scans, or
tracking checks) do not. The metrics then leave the orders
after the gap out instead of counting them bad (a feed that stopped is not a breach), and the
check raises a data-gap alert instead of a silent `no_data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.domain import Family, Source
from monitor.marketplaces import UNKNOWN
from monitor.models import AccountSource

# the sources shown, in the order a seller thinks of them
SHOWN = (
    Source.ORDERS,
    Source.SHIP_BY,
    Source.CONFIRMATIONS,
    Source.TRACKING,
    Source.PROMISES,
    Source.DELIVERY,
    Source.FEEDBACK,
    Source.CLAIMS,
    Source.AMAZON_REPORT,
    Source.REVIEWS,
)
LABELS = {
    Source.ORDERS: "orders",
    Source.SHIP_BY: "ship-by dates",
    Source.CONFIRMATIONS: "ship confirmations",
    Source.TRACKING_NUMBERS: "tracking numbers",
    Source.TRACKING: "tracking validity",
    Source.PROMISES: "delivery promises",
    Source.DELIVERY: "delivery scans",
    Source.FEEDBACK: "feedback",
    Source.CLAIMS: "claims and chargebacks",
    Source.AMAZON_REPORT: "Amazon's performance report",
    Source.REVIEWS: "reviews",
}
# where a seller gets each one: what a notice or a gap alert tells them to import
SUPPLIED_BY = {
    Source.ORDERS: "Amazon's All Orders report, or the Selling Partner API sync",
    Source.SHIP_BY: "Amazon's Unshipped Orders report (promise-date), or the API sync (LatestShipDate)",
    Source.CONFIRMATIONS: "your shipping tool's shipments export (ShipStation's is built in), or an orders file "
    "with shipped_at",
    Source.TRACKING_NUMBERS: "your shipping tool's shipments export (tracking numbers)",
    Source.TRACKING: "a shipping-tool or carrier export that says whether each tracking number was scanned "
    "(tracking_valid)",
    Source.PROMISES: "an orders file with latest_delivery_date, or the API sync (LatestDeliveryDate)",
    Source.DELIVERY: "your shipping tool's export with delivery dates (ShipStation's DeliveryDate)",
    Source.FEEDBACK: "Amazon's Seller Feedback report (GET_SELLER_FEEDBACK_DATA)",
    Source.CLAIMS: "a defects file of your A-to-z claims and chargebacks (Amazon has no report of them)",
    Source.AMAZON_REPORT: "Amazon's seller performance report (GET_V2_SELLER_PERFORMANCE_REPORT, or the API sync)",
    Source.REVIEWS: "Etsy's reviews: its Open API's getReviewsByShop answer saved as JSON, or pulled with ETSY_API_KEY",
}
# the sources each metric family rests on (ODR: orders and any one of the defect sources)
RESTS_ON: dict[Family, tuple[Source, ...]] = {
    Family.ODR: (Source.ORDERS, Source.FEEDBACK, Source.CLAIMS, Source.AMAZON_REPORT),
    Family.LSR: (Source.ORDERS, Source.SHIP_BY, Source.CONFIRMATIONS),
    Family.CR: (Source.ORDERS,),
    Family.VTR: (Source.CONFIRMATIONS, Source.TRACKING),
    Family.OTDR: (Source.PROMISES, Source.DELIVERY, Source.TRACKING),
    Family.TRACKED: (Source.ORDERS, Source.SHIP_BY, Source.CONFIRMATIONS, Source.TRACKING_NUMBERS),
    Family.REVIEWS: (Source.REVIEWS,),
    Family.RATING: (Source.REVIEWS,),
}
# sources whose stop would make orders look bad, and how far each normally trails the newest
# order beyond STALE_HOURS: handling time and a weekend for a confirmation (and its tracking
# check), a week of transit for a delivery scan
GAP_SLACK_HOURS = {Source.CONFIRMATIONS: 72, Source.TRACKING: 72, Source.DELIVERY: 168}
GAP_SOURCES = tuple(GAP_SLACK_HOURS)
ACCOUNT_WIDE = (Source.FEEDBACK, Source.CLAIMS)  # defects name no marketplace
DEFECT_SOURCES = (Source.FEEDBACK, Source.CLAIMS, Source.AMAZON_REPORT)  # ODR needs any one of them


@dataclass(frozen=True)
class SourceState:
    newest_data_at: datetime | None  # the newest data time it holds (not when it was imported)
    last_import_at: datetime


@dataclass(frozen=True)
class GapKey:
    """Which source of which marketplace (a gap that closed is named by this alone)."""

    marketplace: str
    source: Source


@dataclass(frozen=True)
class Gap(GapKey):
    """A source that stopped while orders kept coming."""

    since: datetime  # its newest data
    orders_until: datetime  # the newest order

    @property
    def families(self) -> list[Family]:
        return [family for family, sources in RESTS_ON.items() if self.source in sources]


@dataclass(frozen=True)
class Coverage:
    """One marketplace of an account: each source's state (None: never imported), and its gaps."""

    marketplace: str
    sources: Mapping[Source, SourceState | None] = field(default_factory=dict)
    gaps: tuple[Gap, ...] = ()

    def newest(self, source: Source) -> datetime | None:
        state = self.sources.get(source)
        return state.newest_data_at if state else None


def coverage(
    session: Session, account_id: int, stale_hours: float, default_marketplace: str = ""
) -> dict[str, Coverage]:
    """Per marketplace of the account (its orders' marketplaces; account-wide sources count in
    each), the state of every source and the gaps."""
    rows = list(session.scalars(select(AccountSource).where(AccountSource.account_id == account_id)))
    return coverage_of(rows, stale_hours, default_marketplace)


def coverage_of(rows: list[AccountSource], stale_hours: float, default_marketplace: str = "") -> dict[str, Coverage]:
    by_market: dict[str, dict[Source, SourceState]] = {}
    wide: dict[Source, SourceState] = {}
    for row in rows:
        source = Source(row.source)
        state = SourceState(row.newest_data_at, row.last_import_at)
        if source in ACCOUNT_WIDE:
            wide[source] = _newer(wide.get(source), state)
            continue
        market = row.marketplace or default_marketplace or UNKNOWN
        by_market.setdefault(market, {})[source] = _newer(by_market.get(market, {}).get(source), state)
    out = {}
    for market, states in sorted(by_market.items()):
        merged = {**wide, **states}
        orders = merged.get(Source.ORDERS)
        gaps = []
        for source in GAP_SOURCES:
            kept = merged.get(source)
            if (
                orders is not None
                and orders.newest_data_at is not None
                and kept is not None
                and kept.newest_data_at is not None
                and orders.newest_data_at - kept.newest_data_at > timedelta(hours=stale_hours + GAP_SLACK_HOURS[source])
            ):
                gaps.append(Gap(market, source, kept.newest_data_at, orders.newest_data_at))
        out[market] = Coverage(market, {s: merged.get(s) for s in SHOWN}, tuple(gaps))
    return out


def _newer(old: SourceState | None, new: SourceState) -> SourceState:
    if old is None:
        return new
    newest = max(filter(None, (old.newest_data_at, new.newest_data_at)), default=None)
    return SourceState(newest, max(old.last_import_at, new.last_import_at))
