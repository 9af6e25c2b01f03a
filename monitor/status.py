"""`account-health status`: is the monitor alive and is its data fresh? (a monitoring probe)"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.accounts import find_accounts, freshness
from monitor.config import Settings
from monitor.coverage import SHOWN, Coverage, coverage
from monitor.domain import FIRING
from monitor.fleet import DaemonState, daemons
from monitor.models import AlertState, CheckLog, Delivery, Heartbeat, NotifierHealth

DAEMON_GRACE_SECONDS = 180


@dataclass
class SourceStatus:
    """One source of one marketplace: its newest data (not its import time) and last import."""

    source: str
    newest_data_at: datetime | None
    last_import_at: datetime | None
    state: str  # ok, never (never imported), stopped (it had data, orders went on without it)


@dataclass
class AccountStatus:
    account: str
    last_import: datetime | None
    stale: bool
    open_alerts: list[str]
    newest_order: datetime | None = None
    coverage: dict[str, list[SourceStatus]] = field(default_factory=dict)  # marketplace -> sources


@dataclass
class StatusReport:
    """The monitor's health, for people and for probes."""

    JSON_EXTRA = ("ok",)

    now: datetime
    daemon: str  # running, stale, stopped, never
    daemon_detail: str
    last_check: datetime | None
    accounts: list[AccountStatus] = field(default_factory=list)
    dead_notifiers: dict[str, str] = field(default_factory=dict)
    pending_deliveries: int = 0
    sync: str = "off"
    failing_jobs: dict[str, str] = field(default_factory=dict)  # daemon job -> its last failure
    daemons: list[DaemonState] = field(default_factory=list)  # several on PostgreSQL: each with its accounts

    @property
    def failing(self) -> bool:
        return (
            self.daemon != "running"
            or any(a.stale for a in self.accounts)
            or bool(self.dead_notifiers)
            or bool(self.failing_jobs)
        )

    @property
    def ok(self) -> bool:
        return not self.failing


def read_status(session: Session, settings: Settings, now: datetime) -> StatusReport:
    beat = session.get(Heartbeat, 1)
    daemon, detail = _daemon(beat, now)
    last_check = session.scalar(select(func.max(CheckLog.checked_at)))  # by the daemon or a command
    report = StatusReport(now, daemon, detail, last_check or (beat.last_check_at if beat else None))
    report.failing_jobs = json.loads(beat.failing) if beat and beat.failing else {}
    alerts: dict[int, list[str]] = {}
    for row in session.scalars(select(AlertState).where(AlertState.level.in_(FIRING))):
        where = f" {row.marketplace}" if row.marketplace else ""
        alerts.setdefault(row.account_id, []).append(
            f"{row.level} {row.metric}{'/' + row.channel if row.channel else ''}{where}"
        )
    fresh = freshness(session, now, settings.stale_hours)
    for account in find_accounts(session):
        covered = coverage(session, account.id, settings.stale_hours, settings.default_marketplace)
        report.accounts.append(
            AccountStatus(
                account.key,
                fresh[account.id].last_import,
                fresh[account.id].stale,
                sorted(alerts.get(account.id, [])),
                fresh[account.id].newest_order,
                {market: source_states(c) for market, c in covered.items()},
            )
        )
    report.dead_notifiers = {
        r.kind: r.reason or "dead" for r in session.scalars(select(NotifierHealth).where(NotifierHealth.dead.is_(True)))
    }
    report.pending_deliveries = (
        session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending")) or 0
    )
    report.daemons = daemons(session, now, settings.lease_seconds)
    report.sync = (
        "on"
        if settings.spapi_refresh_token or settings.spapi_accounts_file
        else "off (no Selling Partner API credentials)"
    )
    return report


def source_states(covered: Coverage) -> list[SourceStatus]:
    """Each shown source of a marketplace with its state (the one rule for `status` and the pages)."""
    stopped = {g.source for g in covered.gaps}
    out = []
    for source in SHOWN:
        state = covered.sources.get(source)
        out.append(
            SourceStatus(
                str(source),
                state.newest_data_at if state else None,
                state.last_import_at if state else None,
                "never" if state is None else "stopped" if source in stopped else "ok",
            )
        )
    return out


def _daemon(beat: Heartbeat | None, now: datetime) -> tuple[str, str]:
    if beat is None:
        return "never", "no daemon has run on this database (account-health run)"
    where = f"pid {beat.pid} on {beat.host}"
    if beat.stopped_at is not None:
        return "stopped", f"{where} stopped at {beat.stopped_at:%Y-%m-%d %H:%M:%S} UTC"
    grace = timedelta(seconds=max(3 * beat.interval_seconds, DAEMON_GRACE_SECONDS))
    if now - beat.beat_at > grace:
        return "stale", f"{where}: no heartbeat since {beat.beat_at:%Y-%m-%d %H:%M:%S} UTC"
    return "running", f"{where}, last heartbeat {beat.beat_at:%H:%M:%S} UTC; last job: {beat.last_job or '-'}"
