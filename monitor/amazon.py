"""Amazon's own figures (its performance report) set beside ours, over Amazon's ranges and with
what was known when Amazon made the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import health
from monitor import metrics as m
from monitor.accounts import find_accounts
from monitor.domain import Channel, Direction, Family, Status
from monitor.facts import known_at, newest_reports, report_figures
from monitor.marketplaces import UNKNOWN, normalize
from monitor.marketplaces import name as marketplace_name
from monitor.models import PerformanceMetric, PerformanceReport

__all__ = ["Comparison", "compare_with_amazon", "newest_reports", "policy_figures"]

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
    """One of Amazon's figures beside ours, recomputed over Amazon's range at the report's time."""

    JSON_EXTRA = ("count_difference", "denominator_difference")

    account: str
    marketplace: str
    metric: str
    channel: Channel
    date_from: datetime
    date_to: datetime  # exclusive: the day after Amazon's last day
    report_day: date | None
    known_at: datetime
    amazon_numerator: int | None
    amazon_denominator: int | None
    amazon_rate: float | None
    amazon_status: str | None
    numerator: int
    denominator: int
    rate: float | None
    status: Status
    cause: str | None  # the likely reason of a count difference

    @property
    def count_difference(self) -> int | None:
        """Our bad (or good) orders minus Amazon's."""
        return None if self.amazon_numerator is None else self.numerator - self.amazon_numerator

    @property
    def denominator_difference(self) -> int | None:
        """Our eligible orders minus Amazon's: orders missing from the imports, or extra ones."""
        return None if self.amazon_denominator is None else self.denominator - self.amazon_denominator


def policy_figures(session: Session, reports: list[PerformanceReport]) -> list[PerformanceMetric]:
    """The policy-violation counts of these reports."""
    return list(
        session.scalars(
            select(PerformanceMetric).where(
                PerformanceMetric.report_id.in_([r.id for r in reports]), PerformanceMetric.name.in_(POLICY_NAMES)
            )
        )
    )


def compare_with_amazon(
    session: Session, targets: m.Targets, key: str | None = None, marketplace: str | None = None
) -> list[Comparison]:
    """Our figure over exactly Amazon's reporting range, with what was known at the report's
    time, beside Amazon's, for the newest performance report of each account and marketplace."""
    out: list[Comparison] = []
    for account in find_accounts(session, key):
        reports = [
            r
            for r in newest_reports(session, account.id)
            if marketplace is None or normalize(r.marketplace_id) == marketplace
        ]
        if not reports:
            continue
        data = health.load(session, account, targets)
        for report in reports:
            out += _compare_report(session, account.key, report, data, targets)
    return out


def _compare_report(
    session: Session, key: str, report: PerformanceReport, data: health.AccountData, targets: m.Targets
) -> list[Comparison]:
    domain = normalize(report.marketplace_id) or targets.default_marketplace or UNKNOWN
    moment = known_at(report)
    rows = []
    for found in report_figures(session, report):
        figure = found.figure
        ours = m.evaluate_range(
            data.orders, data.defects, found.metric, found.channel, domain, found.start, found.end, moment, targets
        )
        comparison = Comparison(
            key,
            domain,
            found.metric.id,
            found.channel,
            found.start,
            found.end,
            report.report_date,
            moment,
            figure.numerator,
            figure.denominator,
            figure.rate,
            figure.status,
            *ours,
            None,
        )
        rows.append(_with_cause(comparison, found.metric))
    return rows


def _with_cause(c: Comparison, metric: m.MetricDef) -> Comparison:
    from dataclasses import replace

    return replace(c, cause=likely_cause(c, metric))


def likely_cause(c: Comparison, metric: m.MetricDef) -> str | None:
    """Why our counts differ from Amazon's, as far as the counts tell."""
    if c.amazon_denominator is None and c.amazon_numerator is None:
        return None
    where = marketplace_name(c.marketplace)
    if c.amazon_denominator is not None and c.denominator == 0 and c.amazon_denominator > 0:
        return f"no {metric.counted} of {where} in this range imported: import its orders"
    missing = -(c.denominator_difference or 0)
    if missing > 0:
        return f"{missing} {metric.counted} Amazon counts are missing from the imports (orders not imported)"
    if missing < 0:
        return f"{-missing} more {metric.counted} counted than Amazon does (orders Amazon leaves out)"
    behind = -(c.count_difference or 0) if metric.direction is Direction.MAX else (c.count_difference or 0)
    if behind > 0:
        if metric.family is Family.ODR:
            return (
                f"{behind} defects Amazon knows and the imports do not (claims and chargebacks have no API: "
                "import a defects file)"
            )
        return f"{behind} {metric.miss_label} Amazon counts that the imported data does not show"
    if behind < 0:
        return f"{-behind} more {metric.miss_label} counted than Amazon does"
    return None
