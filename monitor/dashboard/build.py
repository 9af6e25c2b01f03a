"""Static HTML dashboards: an index of every account, and one page per account.

The pages work opened from disk with no network: plotly.js is written once
beside them (`plotly.min.js`) and shared. Charts are plain Plotly figure specs
(dicts) serialised to JSON, which is much faster than building plotly.py figure
objects. Every string from a report reaches the page through the templates'
autoescaping (monitor/present/templates).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pandas as pd
from plotly.offline import get_plotlyjs
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import amazon, appeal, health
from monitor import metrics as m
from monitor.accounts import AccountFault, Freshness, find_accounts, freshness, isolated, require_account
from monitor.coverage import coverage
from monitor.domain import FIRING, Status
from monitor.headline import HISTORY_DAYS, Headline, account_headline, daily_series
from monitor.models import (
    Account,
    AlertState,
    CaseEntry,
    ImportAccount,
    ImportRecord,
    Notification,
    PerformanceMetric,
    PerformanceReport,
)
from monitor.present import pages
from monitor.slugs import appeal_page_name, draft_pattern, page_name, unique_slug
from monitor.status import SourceStatus, source_states

log = logging.getLogger(__name__)

OFFENDERS_SHOWN = 25


@dataclass
class DashboardRun:
    """What a dashboard build wrote."""

    index: Path
    pages: list[Path] = field(default_factory=list)
    faults: list[AccountFault] = field(default_factory=list)  # accounts whose page says it could not be built
    headlines: list[Headline] = field(default_factory=list)  # every account's, the most urgent first
    unchanged: int = 0  # accounts whose pages were still right (an incremental build)

    @property
    def failed(self) -> bool:
        return bool(self.faults)


def write_plotly(out: Path) -> Path:
    """plotly.js once beside the pages (rewritten only when the bundled version changes)."""
    target = out / "plotly.min.js"
    bundle = get_plotlyjs()
    if not target.exists() or target.stat().st_size != len(bundle.encode()):
        target.write_text(bundle, encoding="utf-8")
    return target


def build(
    session: Session,
    targets: m.Targets,
    out: Path,
    as_of: datetime,
    stale_hours: float,
    base_url: str = "",
    only: frozenset[int] | None = None,
    incremental: bool = False,
    loads: health.SharedLoads | None = None,
) -> DashboardRun:
    """Write index.html and one page per account into `out`; links start with `base_url` (DASHBOARD_BASE_URL)
    when it is set, else they are relative.

    `incremental`: only the pages of accounts whose data changed since their pages were written
    (or that were sent a message: a check clears `paged_version`), and of every account on a new
    day, are written again; the index is made of every account's tile, kept beside the pages
    (tiles/)."""
    out.mkdir(parents=True, exist_ok=True)
    write_plotly(out)
    result = DashboardRun(out / "index.html")
    fresh = freshness(session, as_of, stale_hours)
    tiles: list[Tile] = []
    views = []
    for account in [a for a in find_accounts(session) if only is None or a.id in only]:
        account_id, key = account.id, account.key
        settings = _page_settings(targets, base_url)
        kept = _kept_tile(out, account, as_of, settings) if incremental else None
        if kept is not None:
            tiles.append(kept)
            result.unchanged += 1
            continue
        faults: list[AccountFault] = []
        version = account.data_version
        with isolated(session, key, faults):  # one account that fails must not take the others' pages
            found = session.get(Account, account_id)
            assert found is not None
            view = account_view(session, found, targets, as_of, fresh[account_id], out, loads)
            view.base_url = base_url
            _write(out, view, result)
            found.paged_version, found.paged_on, found.paged_settings = version, as_of.date(), settings
            session.commit()
        for fault in faults:
            result.faults.append(fault)
            view = failed_view(key, as_of, fault.error, fresh[account_id], targets.warn_ratio)
            view.base_url = base_url
            _write(out, view, result)
        views.append(view)
        tiles.append(_save_tile(out, view))
    tiles.sort(key=lambda t: (tuple(t.rank), t.key))  # the most urgent first
    result.index.write_text(pages.index_page([t.html for t in tiles], as_of), encoding="utf-8")
    views.sort(key=lambda v: (v.headline.rank if v.headline else (9, 0.0), v.key))
    result.headlines = [v.headline for v in views if v.headline is not None]
    return result


@dataclass(frozen=True)
class Tile:
    """An account's tile on the index, as written with its pages."""

    key: str
    rank: tuple[float, float]
    html: str


def _tile_path(out: Path, key: str) -> Path:
    return out / "tiles" / f"{page_name(key).removesuffix('.html')}.json"


def _save_tile(out: Path, view: AccountView) -> Tile:
    rank = view.headline.rank if view.headline else (9, 0.0)
    tile = Tile(view.key, (float(rank[0]), float(rank[1])), pages.tile_html(view))
    path = _tile_path(out, view.key)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"key": tile.key, "rank": list(tile.rank), "html": tile.html}), encoding="utf-8")
    return tile


def _page_settings(targets: m.Targets, base_url: str) -> str:
    """What else the pages depend on: the targets and the links' base."""
    return hashlib.sha1(f"{targets.fingerprint}|{base_url}".encode()).hexdigest()[:16]


def _kept_tile(out: Path, account: Account, as_of: datetime, settings: str) -> Tile | None:
    """The tile written with the account's pages, when they are still right: the same data, the
    same day, the same settings, no message sent since."""
    if account.paged_version != account.data_version or account.paged_on != as_of.date():
        return None
    if account.paged_settings != settings:
        return None
    try:
        saved = json.loads(_tile_path(out, account.key).read_text(encoding="utf-8"))
        return Tile(saved["key"], (float(saved["rank"][0]), float(saved["rank"][1])), saved["html"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None  # gone or damaged: the pages are written again


def build_account(
    session: Session, targets: m.Targets, out: Path, as_of: datetime, stale_hours: float, key: str, base_url: str = ""
) -> DashboardRun:
    """Rewrite one account's pages (after a draft or an attachment); the index is left as it is."""
    out.mkdir(parents=True, exist_ok=True)
    write_plotly(out)
    result = DashboardRun(out / "index.html")
    account = require_account(session, key)
    view = account_view(session, account, targets, as_of, freshness(session, as_of, stale_hours)[account.id], out)
    view.base_url = base_url
    _write(out, view, result)
    _save_tile(out, view)
    return result


def _write(out: Path, view: AccountView, result: DashboardRun) -> None:
    publish_evidence(out, view)
    path = out / view.page
    path.write_text(pages.account_page(view), encoding="utf-8")
    (out / view.appeal_page).write_text(pages.appeal_page(view), encoding="utf-8")
    if path not in result.pages:
        result.pages.append(path)


@dataclass
class AccountView:
    """Everything one account page shows."""

    key: str
    page: str
    appeal_page: str
    as_of: datetime
    values: list[m.MetricValue]
    history: dict[tuple[str, str, str], list[tuple[str, float | None, str]]]  # (marketplace, metric, channel) -> ...
    defects_by_day: dict[str, dict[str, int]]  # defect type -> day -> count
    offenders: list[health.Offender]
    open_alerts: list[AlertState]
    alert_history: list[Notification]
    imports: list[ImportRecord]
    last_import: datetime | None
    stale: bool
    amazon: list[amazon.Comparison]
    reports: list[PerformanceReport]
    policies: list[PerformanceMetric]
    warn_ratio: float
    cases: list[CaseEntry] = field(default_factory=list)
    checklists: dict[str, list[appeal.ChecklistItem]] = field(default_factory=dict)
    drafts: list[str] = field(default_factory=list)  # file names under appeals/
    fault: str | None = None  # the account could not be evaluated: why
    headline: Headline | None = None  # the one sentence: worst metric, since when, what to do now
    coverage: dict[str, list[SourceStatus]] = field(default_factory=dict)  # marketplace -> its sources
    base_url: str = ""  # DASHBOARD_BASE_URL: links start with it; empty: relative links
    evidence_links: dict[str, str] = field(default_factory=dict)  # stored path -> its link beside the pages

    @property
    def worst(self) -> Status:
        if self.fault is not None:
            return Status.CRITICAL
        return max(
            (v.status for v in self.values),
            key=lambda s: ["no_data", "good", "warning", "critical"].index(s),
            default=Status.NO_DATA,
        )


def failed_view(key: str, as_of: datetime, error: str, fresh: Freshness, warn_ratio: float) -> AccountView:
    """The page of an account that could not be evaluated: it says so, and why."""
    return AccountView(
        key,
        page_name(key),
        appeal_page_name(key),
        as_of,
        [],
        {},
        {},
        [],
        [],
        [],
        [],
        fresh.last_import,
        fresh.stale,
        [],
        [],
        [],
        warn_ratio,
        fault=error,
        headline=Headline(key, Status.CRITICAL, None, fault=error),
    )


def account_view(
    session: Session,
    account: Account,
    targets: m.Targets,
    as_of: datetime,
    fresh: Freshness,
    out: Path,
    loads: health.SharedLoads | None = None,
) -> AccountView:
    data = (
        loads.load(session, account, targets, as_of, keep=False)
        if loads is not None
        else health.load(session, account, targets, health.DETAIL_FIELDS, health.since_for(as_of, HISTORY_DAYS))
    )
    groups = {
        (g.marketplace, g.metric.id, g.channel): g
        for g in m.account_groups(data.orders, data.defects, targets, account.key, m.ALL_METRICS, data.facts).groups
    }
    values = m.evaluate(data.orders, data.defects, as_of, targets, account.key, facts=data.facts)
    history = daily_series(session, account, lambda: data, targets, as_of, HISTORY_DAYS)
    head = account_headline(
        account.key,
        values,
        history,
        {(k[0], k[1], str(k[2])): g for k, g in groups.items()},
        data.orders,
        as_of,
        fresh.newest_order if fresh.stale else None,
    )
    offenders: list[health.Offender] = []
    shown_families: set[tuple[str, str, str]] = set()
    for v in sorted(values, key=lambda v: -v.definition.days):  # a family's longest window holds the others'
        family = (v.marketplace, str(v.definition.family), str(v.channel))
        if v.status in (Status.WARNING, Status.CRITICAL) and family not in shown_families:
            shown_families.add(family)
            found = health.offenders_of(data, groups[(v.marketplace, v.metric, v.channel)], as_of)
            offenders += found[::-1][:OFFENDERS_SHOWN]
    imports = list(
        session.scalars(
            select(ImportRecord)
            .join(ImportAccount, ImportAccount.import_id == ImportRecord.id)
            .where(ImportAccount.account_id == account.id)
            .order_by(ImportRecord.id.desc())
            .limit(20)
        )
    )
    reports = amazon.newest_reports(session, account.id)
    return AccountView(
        account.key,
        page_name(account.key),
        appeal_page_name(account.key),
        as_of,
        values,
        history,
        _defects_by_day(data.defects, as_of),
        offenders,
        list(
            session.scalars(select(AlertState).where(AlertState.account_id == account.id, AlertState.level.in_(FIRING)))
        ),
        list(
            session.scalars(
                select(Notification)
                .where(Notification.account_id == account.id)
                .order_by(Notification.id.desc())
                .limit(20)
            )
        ),
        imports,
        fresh.last_import,
        fresh.stale,
        amazon.compare_with_amazon(session, targets, account.key) if reports else [],
        reports,
        amazon.policy_figures(session, reports),
        targets.warn_ratio,
        [entry for _, entry in appeal.cases(session, account.key)],
        {reason: appeal.checklist(session, account.key, reason) for reason in appeal.CHECKLISTS},
        _drafts(out, account.key),
        None,
        head,
        {
            market: source_states(c)
            for market, c in coverage(session, account.id, targets.stale_hours, targets.default_marketplace).items()
        },
    )


def _drafts(out: Path, key: str) -> list[str]:
    """Every plan-of-action draft page and shipping log of the account under appeals/, newest first."""
    folder = out / "appeals"
    if not folder.is_dir():
        return []
    found = [*folder.glob(draft_pattern(key)), *folder.glob(f"shipping-log-{unique_slug(key)}-*.csv")]
    return [p.name for p in sorted(found, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)]


def publish_evidence(out: Path, view: AccountView) -> None:
    """The attached evidence files, linked from the appeal page: copied (hard-linked when the disk
    allows) under evidence/ beside the pages, so the folder works served, synced or tunnelled."""
    folder = out / "evidence" / unique_slug(view.key)
    for items in view.checklists.values():
        for item in items:
            for f in item.files:
                source = Path(f.stored_path)
                target = folder / source.name
                if not source.is_file():
                    continue  # moved or deleted since: listed without a link
                if not target.exists() or target.stat().st_size != source.stat().st_size:
                    folder.mkdir(parents=True, exist_ok=True)
                    target.unlink(missing_ok=True)
                    try:
                        os.link(source, target)
                    except OSError:
                        shutil.copy2(source, target)
                view.evidence_links[f.stored_path] = f"evidence/{unique_slug(view.key)}/{quote(source.name)}"


def _defects_by_day(defects: pd.DataFrame, as_of: datetime) -> dict[str, dict[str, int]]:
    if defects.empty:
        return {}
    recent = defects[
        (defects["received_at"] >= as_of - timedelta(days=HISTORY_DAYS)) & (defects["received_at"] < as_of)
    ]
    out: dict[str, dict[str, int]] = {}
    for kind, day in zip(recent["defect_type"], recent["received_at"].dt.date, strict=True):
        days = out.setdefault(str(kind), {})
        days[day.isoformat()] = days.get(day.isoformat(), 0) + 1
    return out
