"""Alerts: `check_once` turns metric statuses into alert states, messages and deliveries.

metrics (health.load + metrics.evaluate)
  -> state.step per (account, metric, channel), plus a stale-data key per account
  -> one typed Message per account with every firing alert
  -> outbox.enqueue: each notifier's payload (stored with the new state, in one transaction)
  -> outbox.deliver: every pending delivery, each outcome committed as it happens
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from monitor import coverage, health
from monitor import metrics as m
from monitor.accounts import AccountFault, Freshness, find_accounts, freshness, isolated
from monitor.alerts import outbox, state
from monitor.alerts.message import NOTICE_LEVEL, RESOLVED, Item, Message, Notice, Offending, Reminder
from monitor.config import Settings
from monitor.domain import FIRING, AlertLevel, Family
from monitor.facts import amazon_signals
from monitor.fleet import Lease, holds
from monitor.headline import HISTORY_DAYS, account_headline, daily_series
from monitor.marketplaces import UNKNOWN
from monitor.models import Account, AlertState
from monitor.notifiers import Notifier

STALE = "stale"  # the alert key (metric) of an account whose data went stale
FAULT = "fault"  # the alert key (metric) of an account the monitor could not evaluate
GAP = "gap"  # (marketplace, GAP, source): a source that stopped while orders kept coming
NOTICE = "notice"  # (marketplace, NOTICE, metric): told once which data would let a metric be computed
AlertKey = tuple[str, str, str]  # (marketplace, metric, channel); ("", STALE, "") for the account's data


@dataclass(frozen=True)
class Transition:
    """What one alert key did in a check."""

    account: str
    marketplace: str  # "" for the account as a whole
    metric: str  # a metric id, or STALE
    channel: str  # afn, mfn, or "" for the account
    level: AlertLevel
    event: str | None


@dataclass
class CheckRun:
    """What one check saw and did."""

    transitions: list[Transition] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    stale_accounts: list[str] = field(default_factory=list)
    delivery: outbox.DeliveryReport = field(default_factory=outbox.DeliveryReport)
    dry_run: bool = False
    faults: list[AccountFault] = field(default_factory=list)  # accounts that could not be evaluated
    evaluated: int = 0  # accounts evaluated
    unchanged: int = 0  # accounts left alone: no new data, the same day, nothing firing

    @property
    def firing(self) -> list[Transition]:
        return [t for t in self.transitions if t.level.firing]

    @property
    def failed(self) -> bool:
        """The work failed: data is stale, an account could not be evaluated, or a message could
        not be delivered."""
        d = self.delivery
        return bool(self.stale_accounts or self.faults or d.pending or d.dead or d.dead_notifiers)

    def merge(self, part: CheckRun) -> None:
        self.transitions += part.transitions
        self.messages += part.messages
        self.stale_accounts += part.stale_accounts


@dataclass(frozen=True)
class CheckContext:
    settings: Settings
    targets: m.Targets
    notifiers: Mapping[str, Notifier]
    as_of: datetime
    now: datetime
    dashboard_url: str
    dry_run: bool
    all_firing: bool = False  # a message for every account with a firing alert, sent before or not
    incremental: bool = False  # evaluate only the accounts whose data changed, each once a day, and firing ones
    account_url: Callable[[str], str] | None = None  # the link to an account's page
    loads: health.SharedLoads | None = None  # the daemon's cycle: loads kept for its dashboards


def check_once(
    sessions: sessionmaker[Session],
    settings: Settings,
    notifiers: Mapping[str, Notifier],
    as_of: datetime,
    now: datetime,
    dashboard_url: str,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    all_firing: bool = False,
    account_url: Callable[[str], str] | None = None,
    lease: Lease | None = None,
    incremental: bool = False,
    loads: health.SharedLoads | None = None,
) -> CheckRun:
    """Evaluate every account, update alert state, queue and deliver due messages.

    Each account is checked in a transaction of its own: one that cannot be evaluated (a bug, a
    value nobody foresaw) is reported in `faults` and alerted as a monitor fault, and every
    other account is still checked and alerted."""
    run = CheckRun(dry_run=dry_run)
    context = CheckContext(
        settings,
        m.Targets.from_settings(settings),
        notifiers,
        as_of,
        now,
        dashboard_url,
        dry_run,
        all_firing,
        incremental,
        account_url,
        loads,
    )
    with sessions() as session:
        fresh = freshness(session, as_of, settings.stale_hours)  # judged on the newest order, at the check's time
        found = find_accounts(session)
        accounts = [(account.id, account.key) for account in found]
        due = _due(session, found, fresh, context) if incremental else {i for i, _ in accounts}
    if lease is not None:  # several daemons: this one checks the accounts it holds
        accounts = [(i, k) for i, k in accounts if i in lease.account_ids]
    for account_id, key in accounts:
        if account_id not in due:  # nothing of it can have changed: not even a session for it
            run.unchanged += 1
            continue
        with sessions() as session:
            part = CheckRun(dry_run=dry_run)
            faults: list[AccountFault] = []
            if lease is not None and not holds(session, lease.owner, account_id, now):
                session.rollback()
                continue  # its lease lapsed: another daemon may check it now, never both
            with isolated(session, key, faults):
                account = session.get(Account, account_id)
                assert account is not None
                _check_account(session, context, account, fresh[account_id], part)
                account.evaluated_version, account.evaluated_on = account.data_version, as_of.date()
                account.evaluated_settings = context.targets.fingerprint
                _finish(session, dry_run)
                run.merge(part)
                run.evaluated += 1
            for fault in faults:
                run.faults.append(fault)
                _fault_alert(session, context, account_id, fault, run)
    with sessions() as session:
        _follow_up_reminders(session, context, run)
        _finish(session, dry_run)
    if not dry_run:
        run.delivery = outbox.deliver(sessions, notifiers, settings.secrets(), lambda: now, sleep)
    return run


def _due(session: Session, accounts: list[Account], fresh: Mapping[int, Freshness], context: CheckContext) -> set[int]:
    """The accounts an incremental check evaluates (in two queries for the whole fleet): those whose
    data changed since their last evaluation, on a new day (Amazon's windows move at midnight), with a
    firing alert due to be repeated, or whose data is stale (the stale alert). Between those their
    values do not change: Amazon's windows are whole days, and what is known of the orders changes
    only with an import (one that lands while the cycle runs is seen by the next)."""
    repeat_before = context.now - timedelta(hours=context.settings.alert_repeat_hours)
    repeating = set(
        session.scalars(
            select(AlertState.account_id)
            .where(
                AlertState.level.in_(FIRING),
                or_(AlertState.last_notified_at.is_(None), AlertState.last_notified_at <= repeat_before),
            )
            .distinct()
        )
    )
    return {
        account.id
        for account in accounts
        if account.evaluated_version != account.data_version
        or account.evaluated_on != context.as_of.date()
        or account.evaluated_settings != context.targets.fingerprint  # a limit, lag or rule changed
        or fresh[account.id].stale
        or account.id in repeating
    }


def _finish(session: Session, dry_run: bool) -> None:
    if dry_run:
        session.rollback()
    else:
        session.commit()


def _fault_alert(session: Session, context: CheckContext, account_id: int, fault: AccountFault, run: CheckRun) -> None:
    """The monitor could not evaluate an account: that is an alert of its own (the seller is blind
    to it until it is fixed), through the same state machine as any other."""
    key: AlertKey = ("", FAULT, "")
    row = session.scalar(
        select(AlertState).where(
            AlertState.account_id == account_id,
            AlertState.marketplace == key[0],
            AlertState.metric == key[1],
            AlertState.channel == key[2],
        )
    )
    previous = (
        state.Previous(AlertLevel(row.level), row.since, row.notified_level, row.last_notified_at) if row else None
    )
    step = state.step(
        previous, state.Observation("critical"), context.now, timedelta(hours=context.settings.alert_repeat_hours)
    )
    run.transitions.append(Transition(fault.account, *key, step.level, step.event))
    row = _save(session, account_id, key, row, step, None, context.now)
    if step.event:
        message = Message(fault.account, (), (Item(step.level, step.event, fault=fault.error),), context.dashboard_url)
        run.messages.append(message)
        row.notified_level, row.last_notified_at = row.level, context.now
        if not context.dry_run:
            outbox.enqueue(session, account_id, message, context.notifiers, context.now)
    _finish(session, context.dry_run)


def _follow_up_reminders(session: Session, context: CheckContext, run: CheckRun) -> None:
    """Each due follow-up of the case log, reminded once."""
    from monitor import appeal

    for key, entry in appeal.due_follow_ups(session, context.now.date()):
        assert entry.follow_up_on is not None
        message = Message(
            key,
            dashboard_url=context.dashboard_url,
            reminder=Reminder(entry.case_id, entry.summary, entry.occurred_at, entry.follow_up_on),
        )
        run.messages.append(message)
        entry.reminded_at = context.now
        if not context.dry_run:
            outbox.enqueue(session, entry.account_id, message, context.notifiers, context.now)


def _observation(value: m.MetricValue, targets: m.Targets, margin: float) -> state.Observation:
    if value.bad_share is None:
        return state.Observation(value.status)
    return state.Observation(value.status, value.bad_share, max(targets.warn_ratio - margin, 0) * value.allowance)


def _check_account(session: Session, context: CheckContext, account: Account, fresh: Freshness, run: CheckRun) -> None:
    settings, targets, as_of, now = context.settings, context.targets, context.as_of, context.now
    data = (
        context.loads.load(session, account, targets, as_of, keep=True)
        if context.loads is not None
        else health.load(session, account, targets, health.DETAIL_FIELDS, health.since_for(as_of))
    )
    prepared = m.account_groups(data.orders, data.defects, targets, account.key, m.ALL_METRICS, data.facts)
    groups = {(g.marketplace, g.metric.id, str(g.channel)): g for g in prepared.groups}
    values = m.evaluate(data.orders, data.defects, as_of, targets, account.key, facts=data.facts)
    if fresh.stale:
        run.stale_accounts.append(account.key)
    observed: dict[AlertKey, tuple[state.Observation, m.MetricValue | None]] = {
        (v.marketplace, v.metric, str(v.channel)): (_observation(v, targets, settings.alert_clear_margin), v)
        for v in values
    }
    observed[("", STALE, "")] = (state.Observation("stale" if fresh.stale else "good"), None)
    observed[("", FAULT, "")] = (state.Observation("good"), None)  # evaluated: a fault of before clears
    signals = {
        (s.marketplace, s.kind, ""): s for s in amazon_signals(session, account.id, as_of, targets.default_marketplace)
    }
    for key, signal in signals.items():
        observed[key] = (state.Observation(signal.status), None)
    covered = coverage.coverage(session, account.id, targets.stale_hours, targets.default_marketplace)
    gaps = {(g.marketplace, GAP, str(g.source)): g for c in covered.values() for g in c.gaps}
    for market in covered:  # a gap is a data alert of its own; one that closes is said to have closed
        for source in coverage.GAP_SOURCES:
            key = (market, GAP, str(source))
            observed[key] = (state.Observation("stale" if key in gaps else "good"), None)
    rows = {
        (r.marketplace, r.metric, r.channel): r
        for r in session.scalars(select(AlertState).where(AlertState.account_id == account.id))
    }
    for key, gone in rows.items():  # a key no longer observed (an older contract's, a marketplace gone) closes quietly
        if key not in observed and AlertLevel(gone.level).firing:
            gone.level, gone.since, gone.updated_at = AlertLevel.OK, now, now
    repeat = timedelta(hours=settings.alert_repeat_hours)
    steps = []
    for key, (observation, value) in observed.items():
        row: AlertState | None = rows.get(key)
        previous = (
            state.Previous(AlertLevel(row.level), row.since, row.notified_level, row.last_notified_at) if row else None
        )
        step = state.step(previous, observation, now, repeat)
        run.transitions.append(Transition(account.key, key[0], key[1], key[2], step.level, step.event))
        steps.append((key, step, value))
        rows[key] = _save(session, account.id, key, row, step, value, now)
    notices = _notices(session, account.id, groups.values(), covered, rows, now)
    if not any(step.event for _, step, _ in steps) and not notices and not context.all_firing:
        return
    if context.all_firing and not any(step.level.firing for _, step, _ in steps) and not notices:
        return
    items = list(notices)
    for key, step, value in steps:
        if step.level.firing:
            offenders = (
                _offenders(data, groups[value.marketplace, value.metric, str(value.channel)], as_of) if value else ()
            )
            said = signals.get(key)
            stale_since = fresh.newest_order if key[1] == STALE else None
            items.append(Item(step.level, step.event, value, offenders, stale_since, said, gap=gaps.get(key)))
        elif step.event == RESOLVED:
            fixed = "the account is evaluated again" if key[1] == FAULT else None
            closed = coverage.GapKey(key[0], coverage.Source(key[2])) if key[1] == GAP else None
            items.append(Item(RESOLVED, step.event, value, signal=signals.get(key), fault=fixed, gap=closed))
    marketplaces = tuple(sorted({v.marketplace for v in values} - {UNKNOWN}))
    history = daily_series(
        session,
        account,
        lambda: health.load(session, account, targets, health.DETAIL_FIELDS, health.since_for(as_of, HISTORY_DAYS)),
        targets,
        as_of,
        HISTORY_DAYS,
    )
    stale_since = fresh.newest_order if fresh.stale else None
    head = account_headline(account.key, values, history, groups, data.orders, as_of, stale_since)
    url = context.dashboard_url if context.account_url is None else context.account_url(account.key)
    message = Message(account.key, marketplaces, tuple(items), url, headline=head)
    run.messages.append(message)
    from monitor.present.alerts import subject

    for row in rows.values():  # everything in the message counts as notified now
        if AlertLevel(row.level).firing:
            row.notified_level, row.last_notified_at = row.level, now
            row.last_message = subject(message)
    if not context.dry_run:
        outbox.enqueue(session, account.id, message, context.notifiers, now)
        account.paged_version = None  # its page lists the messages sent: written again


def _notices(
    session: Session,
    account_id: int,
    groups: Iterable[m.Group],
    covered: Mapping[str, coverage.Coverage],
    rows: dict[AlertKey, AlertState],
    now: datetime,
) -> list[Item]:
    """Once per (marketplace, metric) the marketplace enforces but this account cannot compute (data it
    needs was never imported, and the marketplace's own figure neither): which report or export would
    supply it. Never repeated."""
    items = []
    for group in groups:
        key = (group.marketplace, NOTICE, group.metric.id)
        if group.blocked is None or group.marketplace == UNKNOWN or key in rows:
            continue
        if group.metric.market != "amazon" and (group.metric.id, group.channel) in group.facts.amazon:
            continue  # the marketplace's own figure stands in for ours (metrics.judge)
        seen = covered.get(group.marketplace)
        missing = [s for s in coverage.RESTS_ON[group.metric.family] if seen is None or seen.sources.get(s) is None]
        if group.metric.family is Family.ODR:  # any one defect source will do
            missing = [s for s in missing if s in coverage.DEFECT_SOURCES] or missing
        if group.metric.exactness == "scorecard":  # no data of the seller's would supply it
            missing = []
        notice = Notice(group.marketplace, group.metric.name, group.blocked, tuple(missing))
        items.append(Item(NOTICE_LEVEL, "notice", notice=notice))
        rows[key] = AlertState(
            account_id=account_id,
            marketplace=key[0],
            metric=key[1],
            channel=key[2],
            level=AlertLevel.OK,
            since=now,
            notified_level=NOTICE,
            last_notified_at=now,
            updated_at=now,
        )
        session.add(rows[key])
    return items


def _offenders(data: health.AccountData, group: m.Group, as_of: datetime) -> list[Offending]:
    found = health.offenders_of(data, group, as_of)
    return [Offending(o.order_id, o.reason, o.sku) for o in found[::-1]]  # the most recent first


def _save(
    session: Session,
    account_id: int,
    key: AlertKey,
    row: AlertState | None,
    step: state.Step,
    value: m.MetricValue | None,
    now: datetime,
) -> AlertState:
    if row is None:
        row = AlertState(account_id=account_id, marketplace=key[0], metric=key[1], channel=key[2])
        session.add(row)
    row.level, row.since = step.level, step.since
    row.notified_level, row.last_notified_at = step.notified_level, step.last_notified_at
    if value is not None:
        row.last_rate, row.last_numerator, row.last_denominator = value.rate, value.numerator, value.denominator
    row.updated_at = now
    return row
