"""The headline of an account: its worst metric, since when it has been there (from the daily
history), what Amazon will show, and the one thing to do now. The index, the account page and
the alert's subject say the same sentence (monitor/present/headline.py words it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import counting as cnt
from monitor import health
from monitor import metrics as m
from monitor.domain import Family, Status
from monitor.models import Account, MetricSnapshot

SEVERITY = {Status.CRITICAL: 0, Status.WARNING: 1, Status.NO_DATA: 2, Status.GOOD: 3}
SAVABLE_LISTED = 3
HISTORY_DAYS = health.HISTORY_DAYS  # the days of history the pages chart and the headline looks back on


@dataclass(frozen=True)
class Headline:
    account: str
    status: Status  # of the worst value (critical first)
    value: m.MetricValue | None  # the worst value; for a good account the tightest one
    since: date | None = None  # the first day of the current run at this status (or worse)
    first_crossed: date | None = None  # the first day in the history the target was missed
    savable: tuple[str, ...] = ()  # LSR: orders still unconfirmed, ship-by passed or due today
    savable_count: int = 0
    stale_since: datetime | None = None  # the newest order, when the data is stale
    fault: str | None = None  # the account could not be evaluated
    warned_since: date | None = None  # critical now: the first day of the warnings that led up to it

    @property
    def rank(self) -> tuple[int, float]:
        """Sorting: the most severe first, then the least headroom."""
        if self.fault is not None:
            return (-1, 0.0)
        headroom = self.value.headroom if self.value is not None and self.value.headroom is not None else 10**9
        return (SEVERITY[self.status], float(headroom))


def worst(values: Iterable[m.MetricValue]) -> m.MetricValue | None:
    """The value a seller must look at first: the most severe, then the one with least headroom,
    then the one nearest its limit."""

    def key(v: m.MetricValue) -> tuple[int, float, float]:
        room = float(v.headroom) if v.headroom is not None else 1e9
        used = (v.bad_share or 0.0) / v.allowance if v.allowance else 0.0
        return (SEVERITY[Status(v.status)], room, -used)

    found = sorted(values, key=key)
    judged = [v for v in found if v.status != Status.NO_DATA]
    if found and found[0].status in (Status.CRITICAL, Status.WARNING):
        return found[0]
    return judged[0] if judged else (found[0] if found else None)


def episode(days: Sequence[tuple[date, str]], today: tuple[date, str] | None = None) -> tuple[date | None, date | None]:
    """(since, first crossed) from a daily status series, oldest first: since = the first day of
    the run that ends today at today's status or worse; first crossed = the first critical day."""
    series = [*days, *([today] if today else [])]
    if not series:
        return None, None
    return run_start(series, Status(series[-1][1])), next(
        (day for day, status in series if status == Status.CRITICAL), None
    )


def run_start(series: Sequence[tuple[date, str]], at_least: Status) -> date | None:
    """The first day of the run that ends the series at `at_least` or worse (None: the last day is better)."""
    level = SEVERITY[at_least]
    since = None
    for day, status in reversed(series):
        if SEVERITY[Status(status)] > level:  # a better day ends the run
            break
        since = day
    return since


def savable_orders(data_orders, group: m.Group, as_of: datetime) -> tuple[list[str], int]:
    """LSR: the orders that can still be confirmed today before they do more harm: not confirmed
    at `as_of`, not cancelled, ship-by passed or due by the end of today (UTC)."""
    if group.metric.family is not Family.LSR or group.blocked:
        return [], 0
    c = group.counting
    known = m.to_us(as_of)
    end_of_today = m.day_start(known) + m.US_PER_DAY
    pending = (c.anchor < end_of_today) & (c.enter < known) & (known <= c.drop) & c.flag & c.judged
    # confirmed late ones are flagged too: only those whose flag is the missing confirmation
    shipped = cnt.to_us(data_orders["shipped_at"].iloc[c.index]) if len(c.index) else np.zeros(0, dtype=np.int64)
    pending &= (shipped == cnt.NEVER) | (shipped >= known)
    pending &= c.anchor >= known - 14 * m.US_PER_DAY  # the recent ones: older ones are past saving
    positions = c.index[pending][np.argsort(c.anchor[pending])]
    ids = [str(data_orders["order_id"].iloc[p]) for p in positions]
    return ids[:SAVABLE_LISTED], len(ids)


def since_day(as_of: datetime) -> date:
    """The day a value at `as_of` speaks for (a value at midnight is the day before's)."""
    return (as_of - timedelta(microseconds=1)).date()


def headline(
    account: str,
    values: Sequence[m.MetricValue],
    series_of: Callable[[tuple[str, str, str]], Sequence[tuple[date, str]]],
    groups: dict[tuple[str, str, str], m.Group],
    data_orders,
    as_of: datetime,
    stale_since: datetime | None = None,
) -> Headline:
    """The headline of one account from its values now, the daily status history of a key
    (`series_of`, oldest first, days before today) and its groups (for the orders to save)."""
    value = worst(values)
    if value is None:
        return Headline(account, Status.NO_DATA, None, stale_since=stale_since)
    key = (value.marketplace, value.metric, str(value.channel))
    series = [*series_of(key), (since_day(value.as_of), str(value.status))]
    since, first = episode(series)
    warned = run_start(series, Status.WARNING) if value.status == Status.CRITICAL else None
    ids, count = savable_orders(data_orders, groups[key], as_of) if key in groups else ([], 0)
    return Headline(
        account, Status(value.status), value, since, first, tuple(ids), count, stale_since, warned_since=warned
    )


Series = dict[tuple[str, str, str], list[tuple[str, float | None, str]]]  # key -> (day, rate, status), oldest first


def daily_series(
    session: Session,
    account: Account,
    load: Callable[[], health.AccountData],
    targets: m.Targets,
    as_of: datetime,
    days: int = 90,
) -> dict[tuple[str, str, str], list[tuple[str, float | None, str]]]:
    """Daily values (charts, the headline's since when): the stored snapshots when they cover
    the range, else computed from the orders `load` returns."""
    first_day = (as_of - timedelta(days=days)).date()
    rows = session.execute(
        select(
            MetricSnapshot.marketplace,
            MetricSnapshot.metric,
            MetricSnapshot.channel,
            MetricSnapshot.day,
            MetricSnapshot.rate,
            MetricSnapshot.status,
        )
        .where(
            MetricSnapshot.account_id == account.id, MetricSnapshot.day >= first_day, MetricSnapshot.day < as_of.date()
        )
        .order_by(MetricSnapshot.day)
    ).all()
    series: dict[tuple[str, str, str], list[tuple[str, float | None, str]]] = {}
    if len({r.day for r in rows}) >= days - 1:
        for r in rows:
            series.setdefault((r.marketplace, r.metric, r.channel), []).append((r.day.isoformat(), r.rate, r.status))
        return series
    data = load()  # only when the snapshots do not cover the days
    for v in m.history(data.orders, data.defects, as_of, days, targets, account.key, facts=data.facts):
        day = (v.as_of - timedelta(microseconds=1)).date().isoformat()
        series.setdefault((v.marketplace, v.metric, str(v.channel)), []).append((day, v.rate, v.status))
    return series


def account_headline(
    account: str,
    values: Sequence[m.MetricValue],
    history: Series,
    groups: dict[tuple[str, str, str], m.Group],
    data_orders,
    as_of: datetime,
    stale_since: datetime | None = None,
) -> Headline:
    """The headline from the daily history of `daily_series` (the days before today's value)."""
    today = since_day(as_of)

    def series_of(key: tuple[str, str, str]) -> list[tuple[date, str]]:
        return [
            (date.fromisoformat(d), status) for d, _, status in history.get(key, []) if date.fromisoformat(d) < today
        ]

    return headline(account, values, series_of, groups, data_orders, as_of, stale_since)
