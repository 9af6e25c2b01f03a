"""Static HTML dashboards: an index of every account, and one page per account.

The pages work opened from disk with no network: plotly.js is written once
beside them (`plotly.min.js`) and shared. Charts are plain Plotly figure specs
(dicts) serialised to JSON, which is much faster than building plotly.py figure
objects, and they never carry a string from a report; every such string
(order ids, SKUs, product names, comments, file names) is HTML-escaped into
tables.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from plotly.offline import get_plotlyjs
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import appeal, health
from monitor import metrics as m
from monitor.alerts.state import FIRING
from monitor.dashboard import page
from monitor.models import (
    Account,
    AlertState,
    ImportAccount,
    ImportRecord,
    MetricSnapshot,
    Notification,
    PerformanceMetric,
    PerformanceReport,
)

log = logging.getLogger(__name__)

HISTORY_DAYS = 90
OFFENDERS_SHOWN = 25
POLICY_NAMES = ("listingPolicyViolations", "productAuthenticityCustomerComplaints", "productConditionCustomerComplaints",
                "productSafetyCustomerComplaints", "receivedIntellectualPropertyComplaints",
                "restrictedProductPolicyViolations", "suspectedIntellectualPropertyViolations",
                "foodAndProductSafetyIssues", "otherPolicyViolations", "documentRequests", "policyViolationWarnings")


@dataclass
class BuildResult:
    index: Path
    pages: list[Path] = field(default_factory=list)


def page_name(key: str) -> str:
    """A file name for an account page: safe characters only, unique per key."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")[:60] or "account"
    return f"account-{safe}-{hashlib.sha1(key.encode()).hexdigest()[:6]}.html"


def appeal_page_name(key: str) -> str:
    return page_name(key).replace("account-", "appeal-", 1)


def write_plotly(out: Path) -> Path:
    """plotly.js once beside the pages (rewritten only when the bundled version changes)."""
    target = out / "plotly.min.js"
    bundle = get_plotlyjs()
    if not target.exists() or target.stat().st_size != len(bundle.encode()):
        target.write_text(bundle, encoding="utf-8")
    return target


def build(session: Session, targets: m.Targets, out: Path, as_of: datetime, stale_hours: int) -> BuildResult:
    """Write index.html and one page per account into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_plotly(out)
    tiles = []
    result = BuildResult(out / "index.html")
    for account in health.accounts(session):
        view = _account_view(session, account, targets, as_of, stale_hours, out)
        path = out / page_name(account.key)
        path.write_text(page.account_page(view), encoding="utf-8")
        (out / appeal_page_name(account.key)).write_text(page.appeal_page(view), encoding="utf-8")
        result.pages.append(path)
        tiles.append(view)
    result.index.write_text(page.index_page(tiles, as_of), encoding="utf-8")
    return result


@dataclass
class AccountView:
    """Everything one account page shows."""

    key: str
    page: str
    as_of: datetime
    values: list[m.MetricValue]
    history: dict[tuple[str, str], list[tuple[str, float | None, str]]]  # (metric, channel) -> (day, rate, status)
    defects_by_day: dict[str, dict[str, int]]  # defect type -> day -> count
    offenders: list[health.Offender]
    open_alerts: list[AlertState]
    alert_history: list[Notification]
    imports: list[ImportRecord]
    last_import: datetime | None
    stale: bool
    amazon: list[health.Comparison]
    reports: list[PerformanceReport]
    policies: list[PerformanceMetric]
    warn_ratio: float
    appeal_page: str = ""
    cases: list = field(default_factory=list)
    checklists: dict = field(default_factory=dict)  # reason -> [ChecklistItem]
    drafts: list[str] = field(default_factory=list)  # file names under appeals/


def _account_view(session: Session, account: Account, targets: m.Targets, as_of: datetime,
                  stale_hours: int, out: Path) -> AccountView:
    data = health.load(session.connection(), account, health.ORDER_FIELDS, health.since_for(as_of, HISTORY_DAYS))
    prepared = m.prepare(data.orders, data.defects, data.present)
    values = m.evaluate(data.orders, data.defects, as_of, targets, account.key, present=data.present)
    offenders: list[health.Offender] = []
    for v in values:
        if v.status in ("warning", "critical"):
            found = health.offenders_of(data, prepared, m.METRICS_BY_ID[v.metric], v.channel, as_of, targets)
            offenders += found[::-1][:OFFENDERS_SHOWN]
    imports = list(session.scalars(select(ImportRecord).join(ImportAccount, ImportAccount.import_id == ImportRecord.id)
                                   .where(ImportAccount.account_id == account.id)
                                   .order_by(ImportRecord.id.desc()).limit(20)))
    last_import = max((i.finished_at for i in imports if i.status in ("ok", "partial") and i.finished_at),
                      default=None)
    reports = _newest_reports(session, account.id)
    view = AccountView(
        account.key, page_name(account.key), as_of, values,
        _history(session, account, data, targets, as_of), _defects_by_day(data.defects, as_of), offenders,
        list(session.scalars(select(AlertState).where(AlertState.account_id == account.id,
                                                      AlertState.level.in_(FIRING)))),
        list(session.scalars(select(Notification).where(Notification.account_id == account.id)
                             .order_by(Notification.id.desc()).limit(20))),
        imports, last_import, last_import is None or as_of - last_import > timedelta(hours=stale_hours),
        health.compare_with_amazon(session, targets, account.key) if reports else [], reports,
        list(session.scalars(select(PerformanceMetric).where(
            PerformanceMetric.report_id.in_([r.id for r in reports]), PerformanceMetric.name.in_(POLICY_NAMES)))),
        targets.warn_ratio)
    view.appeal_page = appeal_page_name(account.key)
    view.cases = [entry for _, entry in appeal.cases(session, account.key)]
    view.checklists = {reason: appeal.checklist(session, account.key, reason) for reason in appeal.CHECKLISTS}
    view.drafts = _drafts(out, account.key)
    return view


def _drafts(out: Path, key: str) -> list[str]:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in key)[:60]
    folder = out / "appeals"
    return sorted((p.name for p in folder.glob(f"plan-of-action-{safe}-*.html")), reverse=True) \
        if folder.is_dir() else []


def _newest_reports(session: Session, account_id: int) -> list[PerformanceReport]:
    newest: dict[str | None, PerformanceReport] = {}
    for report in session.scalars(select(PerformanceReport).where(PerformanceReport.account_id == account_id)
                                  .order_by(PerformanceReport.id.desc())):
        newest.setdefault(report.marketplace_id, report)
    return list(newest.values())


def _history(session: Session, account: Account, data: health.AccountData, targets: m.Targets,
             as_of: datetime) -> dict[tuple[str, str], list[tuple[str, float | None, str]]]:
    """Daily values for the charts: the stored snapshots when they cover the range, else computed."""
    first_day = (as_of - timedelta(days=HISTORY_DAYS)).date()
    rows = session.execute(select(MetricSnapshot.metric, MetricSnapshot.channel, MetricSnapshot.day,
                                  MetricSnapshot.rate, MetricSnapshot.status)
                           .where(MetricSnapshot.account_id == account.id, MetricSnapshot.day >= first_day,
                                  MetricSnapshot.day < as_of.date())
                           .order_by(MetricSnapshot.day)).all()
    series: dict[tuple[str, str], list[tuple[str, float | None, str]]] = {}
    days = {r.day for r in rows}
    if len(days) >= HISTORY_DAYS - 1:
        for r in rows:
            series.setdefault((r.metric, r.channel), []).append((r.day.isoformat(), r.rate, r.status))
        return series
    for v in m.history(data.orders, data.defects, as_of, HISTORY_DAYS, targets, account.key, present=data.present):
        day = (v.as_of - timedelta(microseconds=1)).date().isoformat()
        series.setdefault((v.metric, v.channel), []).append((day, v.rate, v.status))
    return series


def _defects_by_day(defects: pd.DataFrame, as_of: datetime) -> dict[str, dict[str, int]]:
    if defects.empty:
        return {}
    recent = defects[(defects["received_at"] >= as_of - timedelta(days=HISTORY_DAYS))
                     & (defects["received_at"] < as_of)]
    counts = recent.groupby([recent["defect_type"], recent["received_at"].dt.date]).size()
    out: dict[str, dict[str, int]] = {}
    for (kind, day), n in counts.items():
        out.setdefault(kind, {})[day.isoformat()] = int(n)
    return out
