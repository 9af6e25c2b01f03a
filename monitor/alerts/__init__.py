"""Alerts: `check_once` turns metric statuses into alert states, messages and deliveries.

    metrics (health.load + metrics.evaluate)
      -> state.step per (account, metric, channel), plus a stale-data key per account
      -> message.build: one message per account with every firing alert
      -> outbox.enqueue (stored with the new state, in one transaction)
      -> outbox.deliver: every pending delivery, each outcome committed as it happens
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor import health
from monitor import metrics as m
from monitor.alerts import message as msg
from monitor.alerts import outbox, state
from monitor.alerts.channels import Channel
from monitor.config import secret_values
from monitor.models import Account, AlertState, ImportAccount, ImportRecord

STALE = "stale"


@dataclass
class Transition:
    account: str
    metric: str
    channel: str
    level: str
    event: str | None


@dataclass
class CheckResult:
    """What one check saw and did."""

    transitions: list[Transition] = field(default_factory=list)
    messages: list[msg.Message] = field(default_factory=list)
    stale_accounts: list[str] = field(default_factory=list)
    delivery: outbox.DeliveryReport = field(default_factory=outbox.DeliveryReport)
    dry_run: bool = False

    @property
    def firing(self) -> list[Transition]:
        return [t for t in self.transitions if t.level in state.FIRING]

    @property
    def failed(self) -> bool:
        """The work failed: data is stale, or a message could not be delivered."""
        return bool(self.stale_accounts or self.delivery.pending or self.delivery.dead)


def check_once(sessions: sessionmaker[Session], settings, channels: dict[str, Channel], as_of: datetime,
               now: datetime, dry_run: bool = False, sleep: Callable[[float], None] = time.sleep) -> CheckResult:
    """Evaluate every account, update alert state, queue and deliver due messages."""
    result = CheckResult(dry_run=dry_run)
    session = sessions()
    try:
        for account in health.accounts(session):
            _check_account(session, settings, account, as_of, now, channels, result, dry_run)
        _follow_up_reminders(session, settings, now, channels, result, dry_run)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    finally:
        session.close()
    if not dry_run:
        result.delivery = outbox.deliver(sessions, channels, secret_values(settings), lambda: now, sleep)
    return result


def _follow_up_reminders(session: Session, settings, now: datetime, channels: dict[str, Channel],
                         result: CheckResult, dry_run: bool) -> None:
    """Each due follow-up of the case log, reminded once."""
    from monitor import appeal

    for key, entry in appeal.due_follow_ups(session, now.date()):
        message = msg.reminder(key, entry.case_id, entry.summary, entry.occurred_at, entry.follow_up_on.isoformat(),
                               dashboard_url(settings))
        result.messages.append(message)
        entry.reminded_at = now
        if not dry_run:
            outbox.enqueue(session, entry.account_id, message, list(channels), now)


def _last_import(session: Session, account_id: int) -> datetime | None:
    return session.scalar(select(func.max(ImportRecord.finished_at)).join(
        ImportAccount, ImportAccount.import_id == ImportRecord.id).where(
        ImportAccount.account_id == account_id, ImportRecord.status.in_(("ok", "partial"))))


def _observation(value: m.MetricValue, targets: m.Targets, margin: float) -> state.Observation:
    if value.rate is None:
        return state.Observation(value.status)
    allowance = value.limit if value.direction == "max" else 1 - value.limit
    bad_share = value.rate if value.direction == "max" else 1 - value.rate
    return state.Observation(value.status, bad_share, max(targets.warn_ratio - margin, 0) * allowance)


def _check_account(session: Session, settings, account: Account, as_of: datetime, now: datetime,
                   channels: dict[str, Channel], result: CheckResult, dry_run: bool) -> None:
    targets = m.Targets.from_settings(settings)
    data = health.load(session.connection(), account, health.ORDER_FIELDS, health.since_for(as_of))
    prepared = m.prepare(data.orders, data.defects, data.present)
    values = m.evaluate(data.orders, data.defects, as_of, targets, account.key, present=data.present)
    last_import = _last_import(session, account.id)
    stale = last_import is None or now - last_import > timedelta(hours=settings.stale_hours)
    if stale:
        result.stale_accounts.append(account.key)
    observed: dict[tuple[str, str], tuple[state.Observation, m.MetricValue | None]] = {
        (v.metric, v.channel): (_observation(v, targets, settings.alert_clear_margin), v) for v in values}
    observed[(STALE, "")] = (state.Observation("stale" if stale else "good"), None)
    rows = {(r.metric, r.channel): r for r in session.scalars(select(AlertState).where(
        AlertState.account_id == account.id))}
    repeat = timedelta(hours=settings.alert_repeat_hours)
    steps = []
    for key, (observation, value) in observed.items():
        row = rows.get(key)
        previous = state.Previous(row.level, row.since, row.notified_level, row.last_notified_at) if row else None
        step = state.step(previous, observation, now, repeat)
        result.transitions.append(Transition(account.key, key[0], key[1], step.level, step.event))
        steps.append((step, value))
        rows[key] = _save(session, account.id, key, row, step, value, now)
    if not any(step.event for step, _ in steps):
        return
    items = []
    for step, value in steps:
        if step.level in state.FIRING:
            offenders = _offenders(data, prepared, value, as_of, targets) if value else ()
            items.append(msg.Item(step.level, step.event, value, offenders, last_import if value is None else None))
        elif step.event == "resolved":
            items.append(msg.Item("resolved", step.event, value))
    marketplaces = sorted({str(x) for x in data.orders["marketplace"].dropna().unique()})
    message = msg.build(account.key, marketplaces, items, dashboard_url(settings))
    result.messages.append(message)
    for row in rows.values():  # everything in the message counts as notified now
        if row.level in state.FIRING:
            row.notified_level, row.last_notified_at = row.level, now
        row.last_message = message.subject if row.level in state.FIRING else row.last_message
    if not dry_run:
        outbox.enqueue(session, account.id, message, list(channels), now)


def _offenders(data: health.AccountData, prepared: m.Prepared, value: m.MetricValue, as_of: datetime,
               targets: m.Targets) -> list[msg.Offending]:
    found = health.offenders_of(data, prepared, m.METRICS_BY_ID[value.metric], value.channel, as_of, targets)
    return [msg.Offending(o.order_id, o.reason, o.sku) for o in found[::-1]]  # the most recent first


def _save(session: Session, account_id: int, key: tuple[str, str], row: AlertState | None, step: state.Step,
          value: m.MetricValue | None, now: datetime) -> AlertState:
    if row is None:
        row = AlertState(account_id=account_id, metric=key[0], channel=key[1])
        session.add(row)
    row.level, row.since = step.level, step.since
    row.notified_level, row.last_notified_at = step.notified_level, step.last_notified_at
    if value is not None:
        row.last_rate, row.last_numerator, row.last_denominator = value.rate, value.numerator, value.denominator
    row.updated_at = now
    return row


def dashboard_url(settings) -> str:
    return (Path(settings.reports_dir).resolve() / "index.html").as_uri()
