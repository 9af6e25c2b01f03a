"""What the database knows of an account besides its orders, for the metrics: Amazon's windows
and figures from its newest performance report of each marketplace, which sources the
account's data carries, and whether any defect source was ever imported."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from monitor import counting as cnt
from monitor import metrics as m
from monitor.coverage import coverage_of
from monitor.domain import DEFECT_SOURCES, ORDER_SOURCES, Channel, Direction, Family, Source, Status
from monitor.marketplaces import UNKNOWN, normalize
from monitor.models import AccountSource, PerformanceMetric, PerformanceReport, Review
from monitor.timeutil import to_utc

# BELOW_STANDARD, TOP_RATED and ABOVE_STANDARD are eBay's levels; URGENT and MONITOR Walmart's risk levels
MISSED_STATUSES = {"BAD", "POOR", "CRITICAL", "AT_RISK", "FAILING", "BELOW_STANDARD", "URGENT"}
KEPT_STATUSES = {"GOOD", "NORMAL", "GREAT", "FAIR", "NONE", "HEALTHY", "TOP_RATED", "ABOVE_STANDARD", "MONITOR"}
FIELD_OF_SOURCE = {source: carried for source, (carried, _, _) in ORDER_SOURCES.items()}


@dataclass(frozen=True)
class ReportFigure:
    """One of Amazon's figures that matches one of our metrics."""

    metric: m.MetricDef
    channel: Channel
    figure: PerformanceMetric
    start: datetime
    end: datetime  # exclusive: the day after Amazon's inclusive last day

    @property
    def days(self) -> int:
        return round((self.end - self.start) / timedelta(days=1))


def range_of(figure: PerformanceMetric) -> tuple[datetime, datetime] | None:
    """[start, end) of an Amazon figure: Amazon writes inclusive last days (23:59 or 23:59:59)."""
    if figure.date_from is None or figure.date_to is None:
        return None
    start, last = to_utc(figure.date_from), to_utc(figure.date_to)
    end = (
        datetime.combine(last.date() + timedelta(days=1), time(0), tzinfo=UTC)
        if (last.hour, last.minute) == (23, 59)
        else last
    )
    return start, end


def metric_of(figure: PerformanceMetric, span: tuple[datetime, datetime] | None) -> str | None:
    """Which of our metrics an Amazon figure is, if any."""
    name = figure.name
    if name == "orderDefectRate":
        return "odr"
    if name == "lateShipmentRate":
        days = round((span[1] - span[0]) / timedelta(days=1)) if span else None
        return {10: "lsr_10d", 30: "lsr_30d"}.get(days) if days else None
    return {
        "DEFECTIVE_TRANSACTION_RATE": "ebay_defect_rate",  # eBay's seller_standards_profile
        "SHIPPING_MISS_RATE": "ebay_late_shipment_rate",
        "CLAIMS_SAF_RATE": "ebay_cases_closed_rate",
        "VALID_TRACKING_UPLOADED_WITHIN_HANDLING_RATE": "ebay_tracking_on_time_rate",
        "walmart:otd": "walmart_otd_rate",  # Walmart's Insights summaries
        "walmart:vtr": "walmart_vtr_rate",
        "walmart:cancellations": "walmart_cancel_rate",
        "walmart:srr": "walmart_response_rate",
        "walmart:refunds": "walmart_refund_rate",
        "walmart:negativeFeedback": "walmart_negative_feedback_rate",
        "walmart:returns": "walmart_return_rate",
        "walmart:itemNotReceived": "walmart_inr_rate",
        "preFulfillmentCancellationRate": "cr_7d",
        "validTrackingRate": "vtr_30d",
        "unitOnTimeDeliveryRate": "otdr_14d",
        "onTimeDeliveryRate": "otdr_14d",
    }.get(name)


def report_figures(session: Session, report: PerformanceReport) -> list[ReportFigure]:
    """The figures of a report that match our metrics (OTDR in units when Amazon gives it)."""
    found: dict[tuple[str, Channel], ReportFigure] = {}
    for figure in session.scalars(
        select(PerformanceMetric).where(PerformanceMetric.report_id == report.id).order_by(PerformanceMetric.id)
    ):
        span = range_of(figure)
        metric_id = metric_of(figure, span)
        if metric_id is None or span is None:
            continue
        key = (metric_id, Channel(figure.channel or "mfn"))
        if key in found and figure.name == "onTimeDeliveryRate":
            continue  # unitOnTimeDeliveryRate is the enforced one
        found[key] = ReportFigure(m.METRICS_BY_ID[metric_id], key[1], figure, *span)
    return list(found.values())


def newest_reports(session: Session, account_id: int, cycle: str | None = None) -> list[PerformanceReport]:
    """The newest performance report of each marketplace of an account, by its day (not by
    when it was imported); their documents unread. eBay's profiles of its last evaluation
    (cycle CURRENT) only when `cycle` asks for them, and then only those."""
    query = select(PerformanceReport).where(PerformanceReport.account_id == account_id)
    if cycle is None:
        query = query.where(PerformanceReport.cycle.is_(None) | (PerformanceReport.cycle != EVALUATED))
    else:
        query = query.where(PerformanceReport.cycle == cycle)
    reports = session.scalars(query.options(defer(PerformanceReport.document)))
    newest: dict[str | None, PerformanceReport] = {}
    for report in reports:
        key = normalize(report.marketplace_id)
        held = newest.get(key)
        if held is None or _order(report) > _order(held):
            newest[key] = report
    return sorted(newest.values(), key=lambda r: normalize(r.marketplace_id) or "")


EVALUATED = "CURRENT"  # eBay's cycle of its last monthly evaluation


def recent_reports(session: Session, newest: PerformanceReport) -> list[PerformanceReport]:
    """The reports of the newest one's account and marketplace that are still fresh beside it
    (AMAZON_FRESH_DAYS: older figures are not shown), the newest first; their documents unread."""
    query = select(PerformanceReport).where(
        PerformanceReport.account_id == newest.account_id,
        PerformanceReport.marketplace_id == newest.marketplace_id,
    )
    if newest.report_date is not None:
        query = query.where(PerformanceReport.report_date >= newest.report_date - timedelta(days=m.AMAZON_FRESH_DAYS))
    reports = session.scalars(query.options(defer(PerformanceReport.document)))
    return sorted(reports, key=_order, reverse=True)


def _order(report: PerformanceReport) -> tuple[datetime, int]:
    if report.report_date is not None:
        return datetime.combine(report.report_date, time(0), tzinfo=UTC), report.id
    return to_utc(report.imported_at), report.id


def known_at(report: PerformanceReport) -> datetime:
    """When a report's figures were Amazon's: its creation, else the end of its day."""
    if report.created_at is not None:
        return to_utc(report.created_at)
    if report.report_date is not None:
        return datetime.combine(report.report_date + timedelta(days=1), time(0), tzinfo=UTC)
    return to_utc(report.imported_at)


def amazon_missed(figure: PerformanceMetric, direction: Direction) -> bool:
    """Does Amazon say this figure misses its target? Its status when it says, else its rate
    against its target and condition."""
    status = (figure.status or "").upper()
    if status in MISSED_STATUSES:
        return True
    if status in KEPT_STATUSES or figure.rate is None or figure.target_value is None:
        return False
    condition = (figure.target_condition or "").upper()
    rate, target = figure.rate, figure.target_value
    checks = {
        "LESS_THAN": rate < target,
        "LESS_THAN_OR_EQUAL": rate <= target,
        "GREATER_THAN": rate > target,
        "GREATER_THAN_OR_EQUAL": rate >= target,
    }
    if condition in checks:
        return not checks[condition]
    return rate >= target if direction is Direction.MAX else rate < target


# marketplaces whose own figures come one metric a document (Walmart's Insights answers): each
# metric's newest figure counts, whichever document brought it
PER_METRIC_REPORTS = frozenset({"walmart.com"})


def _from_reports(session: Session, reports: list[PerformanceReport]) -> m.MarketplaceFacts:
    """The facts of a marketplace's reports, newest first: a metric's figure from the newest that has one."""
    windows: dict[str, m.Window] = {}
    figures: dict[tuple[str, Channel], m.AmazonFigure] = {}
    for report in reports:
        found = _from_report(session, report)
        windows = {**found.windows, **windows}
        figures = {**found.amazon, **figures}
    return m.MarketplaceFacts(windows, figures)


def _from_report(session: Session, report: PerformanceReport) -> m.MarketplaceFacts:
    windows: dict[str, m.Window] = {}
    figures: dict[tuple[str, Channel], m.AmazonFigure] = {}
    day = report.report_date
    for found in report_figures(session, report):
        if day is not None:
            lag = (day - found.end.date()).days + 1
            windows[found.metric.id] = m.Window(found.days, max(lag, 0), f"amazon-report {day.isoformat()}")
            figures[(found.metric.id, found.channel)] = m.AmazonFigure(
                found.figure.rate,
                found.figure.status,
                amazon_missed(found.figure, found.metric.direction),
                day,
                known_at(report),
                found.figure.numerator,
                found.figure.denominator,
                bool(found.figure.status) or found.figure.target_value is not None,
            )
    if day is not None:  # the report's day is where the late-shipment ranges end: LSR's lag is 0 by definition
        for metric in m.METRICS:
            if metric.family is Family.LSR and metric.id not in windows:
                windows[metric.id] = m.Window(metric.days, 0, f"amazon-report {day.isoformat()}")
    return m.MarketplaceFacts(windows, figures)


def account_facts(
    session: Session, account_id: int, default_marketplace: str = "", stale_hours: float = 36
) -> m.AccountFacts:
    """Everything the metrics of one account need from the database besides orders and defects."""
    per_marketplace: dict[str, m.MarketplaceFacts] = {}
    for report in newest_reports(session, account_id):
        domain = normalize(report.marketplace_id) or default_marketplace or UNKNOWN
        if domain in PER_METRIC_REPORTS:
            per_marketplace[domain] = _from_reports(session, recent_reports(session, report))
        else:
            per_marketplace[domain] = _from_report(session, report)
    rows = list(session.scalars(select(AccountSource).where(AccountSource.account_id == account_id)))
    present: dict[str, set[str]] = {}
    for row in rows:
        if row.source in FIELD_OF_SOURCE:
            present.setdefault(row.marketplace or default_marketplace or UNKNOWN, set()).add(
                FIELD_OF_SOURCE[Source(row.source)]
            )
    covered = coverage_of(rows, stale_hours, default_marketplace)
    for domain in set(present) | set(per_marketplace) | set(covered):
        base = per_marketplace.get(domain) or m.MarketplaceFacts()
        seen = covered.get(domain)
        per_marketplace[domain] = m.MarketplaceFacts(
            base.windows,
            base.amazon,
            frozenset(present.get(domain, ())),
            {str(s): seen.newest(s) for s in seen.sources} if seen else {},
            {str(g.source): g.since for g in seen.gaps} if seen else {},
        )
    for report in newest_reports(session, account_id, EVALUATED):  # eBay's figures of its last evaluation
        domain = normalize(report.marketplace_id) or default_marketplace or UNKNOWN
        base = per_marketplace.get(domain) or m.MarketplaceFacts()
        per_marketplace[domain] = replace(base, evaluated=_from_report(session, report).amazon)
    for domain, reviews in account_reviews(session, account_id).items():
        per_marketplace[domain] = replace(per_marketplace.get(domain) or m.MarketplaceFacts(), reviews=reviews)
    defect_source = any(row.source in DEFECT_SOURCES for row in rows)
    return m.AccountFacts(per_marketplace, defect_source)


def account_reviews(session: Session, account_id: int) -> dict[str, cnt.Reviews]:
    """The account's reviews per marketplace (a few hundred a year a shop: loaded whole)."""
    rows = session.execute(
        select(Review.marketplace, Review.review_key, Review.received_at, Review.rating, Review.comment)
        .where(Review.account_id == account_id)
        .order_by(Review.marketplace, Review.received_at, Review.review_key)
    ).all()
    out: dict[str, cnt.Reviews] = {}
    for domain in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == domain]
        out[domain] = cnt.Reviews(
            np.array([r[1] for r in mine], dtype=object),
            np.array([m.to_us(r[2]) for r in mine], dtype=np.int64),
            np.array([r[3] for r in mine], dtype=np.int64),
            np.array([r[4] for r in mine], dtype=object),
        )
    return out


@dataclass(frozen=True)
class AmazonSignal:
    """Something Amazon itself says about the account in a marketplace, worth an alert alone."""

    marketplace: str
    kind: str  # "amazon_ahr" or "amazon_status"
    status: Status
    detail: str  # what Amazon says, in words
    report_day: date | None


AHR_AT_RISK = 200  # Amazon: below 200 the account is at risk; below 100, deactivation
AHR_DEACTIVATION = 100
SIGNAL_FRESH_DAYS = 7


def amazon_signals(
    session: Session, account_id: int, as_of: datetime, default_marketplace: str = ""
) -> list[AmazonSignal]:
    """Amazon's Account Health Rating and account status from each marketplace's newest report
    (no older than SIGNAL_FRESH_DAYS at `as_of`)."""
    signals = []
    for report in newest_reports(session, account_id):
        if known_at(report) > as_of or known_at(report) < as_of - timedelta(days=SIGNAL_FRESH_DAYS + 1):
            continue
        domain = normalize(report.marketplace_id) or default_marketplace or UNKNOWN
        if report.ahr_score is not None:
            score = report.ahr_score
            status = Status.CRITICAL if score < AHR_AT_RISK else Status.GOOD
            detail = f"Amazon rates the account's health {score}: " + (
                "in the deactivation range (below 100)"
                if score < AHR_DEACTIVATION
                else "at risk (below 200)"
                if score < AHR_AT_RISK
                else "healthy (200 or more)"
            )
            signals.append(AmazonSignal(domain, "amazon_ahr", status, detail, report.report_date))
        if report.account_status:
            state = report.account_status.upper()
            status = Status.GOOD if state == "NORMAL" else Status.WARNING if state == "AT_RISK" else Status.CRITICAL
            signals.append(
                AmazonSignal(
                    domain,
                    "amazon_status",
                    status,
                    f"Amazon gives the account status {report.account_status}",
                    report.report_date,
                )
            )
    return signals
