"""Amazon's own figures (its performance report) set beside ours over Amazon's ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import health
from monitor import metrics as m
from monitor.accounts import find_accounts
from monitor.domain import Channel, Status
from monitor.models import PerformanceMetric, PerformanceReport
from monitor.timeutil import to_utc

AMAZON_NAMES = {
    "orderDefectRate": "odr",
    "lateShipmentRate": "lsr_30d",
    "preFulfillmentCancellationRate": "cr_7d",
    "validTrackingRate": "vtr_30d",
    "onTimeDeliveryRate": "otdr_14d",
}
MARKETPLACES = {
    "ATVPDKIKX0DER": "amazon.com",
    "A2EUQ1WTGCTBG2": "amazon.ca",
    "A1AM78C64UM0Y8": "amazon.com.mx",
    "A1PA6795UKMFR9": "amazon.de",
    "A1F83G8C2ARO7P": "amazon.co.uk",
    "A13V1IB3VIYZZH": "amazon.fr",
    "APJ6JRA9NG5V4": "amazon.it",
    "A1RKKUPIHCS9HS": "amazon.es",
    "A1VC38T7YXB528": "amazon.co.jp",
    "A21TJRUUN4KGV": "amazon.in",
    "A39IBJ37TRP1C6": "amazon.com.au",
}
POLICY_NAMES = (
    "listingPolicyViolations",
    "productAuthenticityCustomerComplaints",
    "productConditionCustomerComplaints",
    "productSafetyCustomerComplaints",
    "receivedIntellectualPropertyComplaints",
    "restrictedProductPolicyViolations",
    "suspectedIntellectualPropertyViolations",
    "foodAndProductSafetyIssues",
    "otherPolicyViolations",
    "documentRequests",
    "policyViolationWarnings",
)


@dataclass(frozen=True)
class Comparison:
    """One of Amazon's figures beside ours, recomputed over Amazon's range."""

    JSON_EXTRA = ("count_difference", "denominator_difference")

    account: str
    marketplace: str | None
    metric: str
    channel: Channel
    date_from: datetime
    date_to: datetime
    amazon_numerator: int | None
    amazon_denominator: int | None
    amazon_rate: float | None
    amazon_status: str | None
    numerator: int
    denominator: int
    rate: float | None
    status: Status

    @property
    def count_difference(self) -> int | None:
        """Our bad (or good) orders minus Amazon's: usually orders or defects not imported."""
        return None if self.amazon_numerator is None else self.numerator - self.amazon_numerator

    @property
    def denominator_difference(self) -> int | None:
        """Our eligible orders minus Amazon's: orders missing from the imports, or extra ones."""
        return None if self.amazon_denominator is None else self.denominator - self.amazon_denominator


def newest_reports(session: Session, account_id: int) -> list[PerformanceReport]:
    """The newest performance report of each marketplace of an account."""
    newest: dict[str | None, PerformanceReport] = {}
    for report in session.scalars(
        select(PerformanceReport)
        .where(PerformanceReport.account_id == account_id)
        .order_by(PerformanceReport.id.desc())
    ):
        newest.setdefault(report.marketplace_id, report)
    return list(newest.values())


def policy_figures(session: Session, reports: list[PerformanceReport]) -> list[PerformanceMetric]:
    """The policy-violation counts of these reports."""
    return list(
        session.scalars(
            select(PerformanceMetric).where(
                PerformanceMetric.report_id.in_([r.id for r in reports]), PerformanceMetric.name.in_(POLICY_NAMES)
            )
        )
    )


def _range_end(moment: datetime) -> datetime:
    """Amazon writes inclusive ends (23:59 or 23:59:59): the exclusive end is the next midnight."""
    moment = to_utc(moment)
    if moment.hour == 23 and moment.minute == 59:
        return datetime.combine(moment.date() + timedelta(days=1), time(0), tzinfo=UTC)
    return moment


def compare_with_amazon(session: Session, targets: m.Targets, key: str | None = None) -> list[Comparison]:
    """Our figure over exactly Amazon's reporting range, beside Amazon's, for the newest
    performance report of each account and marketplace."""
    out: list[Comparison] = []
    for account in find_accounts(session, key):
        reports = newest_reports(session, account.id)
        if not reports:
            continue
        data = health.load(session.connection(), account, health.ORDER_FIELDS)
        for report in reports:
            out += _compare_report(session, account.key, report, data, targets)
    return out


def _compare_report(
    session: Session, key: str, report: PerformanceReport, data: health.AccountData, targets: m.Targets
) -> list[Comparison]:
    orders = data.orders
    domain = MARKETPLACES.get(report.marketplace_id or "")
    if domain and orders["marketplace"].isin([domain, report.marketplace_id]).any():
        orders = orders[orders["marketplace"].isin([domain, report.marketplace_id])]
    rows = []
    for figure in session.scalars(select(PerformanceMetric).where(PerformanceMetric.report_id == report.id)):
        metric_id = AMAZON_NAMES.get(figure.name)
        if metric_id is None or figure.date_from is None or figure.date_to is None:
            continue
        metric = m.METRICS_BY_ID[metric_id]
        channel = Channel(figure.channel or "mfn")
        end = _range_end(figure.date_to)
        (ours,) = [
            v
            for v in m.evaluate(orders, data.defects, end, targets, key, [metric], figure.date_from)
            if v.channel == channel
        ]
        rows.append(
            Comparison(
                key,
                report.marketplace_id,
                metric_id,
                channel,
                figure.date_from,
                end,
                figure.numerator,
                figure.denominator,
                figure.rate,
                figure.status,
                ours.numerator,
                ours.denominator,
                ours.rate,
                ours.status,
            )
        )
    return rows
