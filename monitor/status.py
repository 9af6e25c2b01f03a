"""`account-health status`: is the monitor alive and is its data fresh? (a monitoring probe)"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts.state import FIRING
from monitor.models import (
    Account,
    AlertState,
    ChannelHealth,
    Delivery,
    Heartbeat,
    ImportAccount,
    ImportRecord,
)

DAEMON_GRACE_SECONDS = 180


@dataclass
class AccountStatus:
    account: str
    last_import: datetime | None
    stale: bool
    open_alerts: list[str]


@dataclass
class Status:
    now: datetime
    daemon: str  # running, stale, stopped, never
    daemon_detail: str
    last_check: datetime | None
    accounts: list[AccountStatus] = field(default_factory=list)
    dead_channels: dict[str, str] = field(default_factory=dict)
    pending_deliveries: int = 0
    sync: str = "off"

    @property
    def failing(self) -> bool:
        return self.daemon != "running" or any(a.stale for a in self.accounts) or bool(self.dead_channels)

    def as_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"now": iso(self.now), "ok": not self.failing, "daemon": self.daemon, "daemon_detail": self.daemon_detail,
                "last_check": iso(self.last_check), "pending_deliveries": self.pending_deliveries,
                "dead_channels": self.dead_channels, "sync": self.sync,
                "accounts": [{"account": a.account, "last_import": iso(a.last_import), "stale": a.stale,
                              "open_alerts": a.open_alerts} for a in self.accounts]}


def read_status(session: Session, settings, now: datetime) -> Status:
    beat = session.get(Heartbeat, 1)
    daemon, detail = _daemon(beat, now)
    status = Status(now, daemon, detail, beat.last_check_at if beat else None)
    last_imports = dict(session.execute(
        select(ImportAccount.account_id, func.max(ImportRecord.finished_at))
        .join(ImportRecord, ImportRecord.id == ImportAccount.import_id)
        .where(ImportRecord.status.in_(("ok", "partial"))).group_by(ImportAccount.account_id)).all())
    alerts: dict[int, list[str]] = {}
    for row in session.scalars(select(AlertState).where(AlertState.level.in_(FIRING))):
        alerts.setdefault(row.account_id, []).append(
            f"{row.level} {row.metric}{'/' + row.channel if row.channel else ''}")
    for account in session.scalars(select(Account).order_by(Account.key)):
        last = last_imports.get(account.id)
        stale = last is None or now - last > timedelta(hours=settings.stale_hours)
        status.accounts.append(AccountStatus(account.key, last, stale, sorted(alerts.get(account.id, []))))
    status.dead_channels = {r.name: r.reason or "dead" for r in
                            session.scalars(select(ChannelHealth).where(ChannelHealth.dead.is_(True)))}
    status.pending_deliveries = session.scalar(select(func.count()).select_from(Delivery)
                                               .where(Delivery.status == "pending"))
    status.sync = "on" if settings.spapi_refresh_token else "off (no Selling Partner API credentials)"
    return status


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
