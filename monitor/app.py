"""The library's front door: what each command does, with the database opened from settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor import alerts, db, health
from monitor.alerts.channels import configured
from monitor.config import Settings
from monitor.ingest import ImportResult, import_paths
from monitor.metrics import MetricValue, Targets
from monitor.models import ImportAccount
from monitor.timeutil import utcnow


@contextmanager
def open_database(settings: Settings, migrate: bool = False) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database; it must be migrated (or `migrate=True`)."""
    engine = db.make_engine(settings.database_url)
    try:
        if migrate:
            db.migrate(engine)
        else:
            db.require_current(engine)
        yield db.session_factory(engine)
    finally:
        engine.dispose()


def init_database(settings: Settings) -> tuple[str | None, str | None]:
    """Create or upgrade the schema; returns (revision before, revision after)."""
    engine = db.make_engine(settings.database_url)
    try:
        return db.migrate(engine)
    finally:
        engine.dispose()


def import_files(settings: Settings, paths: list[Path], account: str | None = None,
                 forced_format: str | None = None, mapping: Path | None = None) -> list[ImportResult]:
    """`account-health import`: import each file, one result per file; then bring the daily
    metric snapshots of the accounts whose data changed up to date."""
    with open_database(settings) as sessions:
        results = import_paths(sessions, paths, settings, account, forced_format, mapping)
        refresh_after_import(sessions, settings, results)
        return results


def refresh_after_import(sessions: sessionmaker[Session], settings: Settings, results: list[ImportResult]) -> int:
    """Recompute the snapshots of every account that an import changed; returns rows written."""
    changed = [r.import_id for r in results if r.status in ("ok", "partial") and (r.inserted or r.updated)]
    if not changed:
        return 0
    with sessions.begin() as session:
        account_ids = set(session.scalars(select(ImportAccount.account_id).where(ImportAccount.import_id.in_(changed))))
        return health.refresh_snapshots(session, Targets.from_settings(settings), account_ids, settings.snapshot_days)


def metric_values(settings: Settings, account: str | None, as_of: datetime | None,
                  history_days: int | None) -> list[MetricValue]:
    """`account-health metrics`: every metric now (or at `as_of`), or its daily history."""
    with open_database(settings) as sessions, sessions() as session:
        return health.current(session, Targets.from_settings(settings), as_of or utcnow(), account, history_days)


def offenders(settings: Settings, metric: str, account: str | None, channel: str | None,
              as_of: datetime | None) -> list[health.Offender]:
    """`account-health metrics --explain`: the orders that count against a metric."""
    with open_database(settings) as sessions, sessions() as session:
        return health.explain(session, Targets.from_settings(settings), as_of or utcnow(), metric, account, channel)


def amazon_comparison(settings: Settings, account: str | None) -> list[health.Comparison]:
    """`account-health metrics --amazon`: Amazon's figures beside ours, over Amazon's ranges."""
    with open_database(settings) as sessions, sessions() as session:
        return health.compare_with_amazon(session, Targets.from_settings(settings), account)


def run_check(settings: Settings, as_of: datetime | None = None, dry_run: bool = False, printer=None,
              client: httpx.Client | None = None) -> alerts.CheckResult:
    """`account-health check`: evaluate, update alert state, send what is due."""
    now = utcnow()
    owned = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(10.0))
    try:
        with open_database(settings) as sessions:
            channels = configured(settings, client, printer)
            return alerts.check_once(sessions, settings, channels, as_of or now, now, dry_run)
    finally:
        if owned:
            client.close()


def build_dashboards(settings: Settings, out: Path | None = None, as_of: datetime | None = None):
    """`account-health dashboard`: write the HTML pages; returns what was written."""
    from monitor.dashboard.build import build

    with open_database(settings) as sessions, sessions() as session:
        return build(session, Targets.from_settings(settings), Path(out or settings.reports_dir), as_of or utcnow(),
                     settings.stale_hours)


def run_sync(settings: Settings, account: str | None = None, client: httpx.Client | None = None,
             sleep=time.sleep) -> list:
    """`account-health sync`: orders and reports from the Selling Partner API, then snapshots."""
    from monitor.spapi.sync import make_client, sync_account, sync_accounts

    targets = [a for a in sync_accounts(settings) if account is None or a.key == account]
    owned = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(60.0))
    try:
        with open_database(settings) as sessions:
            results = []
            folder = Path(settings.inbox_dir).parent / "sync"
            for target in targets:
                result = sync_account(make_client(settings, target, client, sleep), sessions, settings, target,
                                      folder, sleep)
                refresh_after_import(sessions, settings, result.imports)
                results.append(result)
            return results
    finally:
        if owned:
            client.close()


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """One committed transaction on the configured (migrated) database."""
    with open_database(settings) as sessions, sessions.begin() as session:
        yield session


def draft_appeal(settings: Settings, account: str, metric: str, channel: str | None = None,
                 as_of: datetime | None = None) -> tuple[Path, Path]:
    """`account-health appeal draft`: the plan of action as Markdown and HTML files."""
    from monitor.appeal.draft import build_draft, write_draft

    moment = as_of or utcnow()
    with session_scope(settings) as session:
        draft = build_draft(session, Targets.from_settings(settings), account, metric, moment, channel)
    return write_draft(draft, Path(settings.reports_dir) / "appeals", moment.date().isoformat())


def read_status(settings: Settings):
    """`account-health status`: daemon heartbeat, data freshness, alerts, channels."""
    from monitor.status import read_status as read

    with open_database(settings) as sessions, sessions() as session:
        return read(session, settings, utcnow())


def run_demo(settings: Settings, directory: Path) -> Iterator[str]:
    """`account-health demo`: sample reports for two accounts, imported; yields progress lines."""
    from monitor import demo

    files = demo.write_sample_reports(directory)
    yield f"wrote {len(files)} sample reports to {directory}/"
    with open_database(settings, migrate=True) as sessions:
        results = []
        for path, account in files:
            (result,) = import_paths(sessions, [path], settings, account=account)
            results.append(result)
            yield (f"  {path.name}: {result.status}, {result.rows_read} rows, {result.inserted} inserted, "
                   f"{result.updated} updated, {result.quarantined} quarantined")
        refresh_after_import(sessions, settings, results)
