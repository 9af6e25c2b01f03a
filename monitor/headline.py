"""The headline of an account: its worst metric, since when it has been there (from the daily
history), what Amazon will show, and the one thing to do now. The index, the account page and
the alert's subject say the same sentence (monitor/present/headline.py words it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from monitor import counting as cnt
from monitor import metrics as m
from monitor.domain import Family, Status

SEVERITY = {Status.CRITICAL: 0, Status.WARNING: 1, Status.NO_DATA: 2, Status.GOOD: 3}
SAVABLE_LISTED = 3


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
    level = SEVERITY[Status(series[-1][1])]
    since = None
    for day, status in reversed(series):
        if SEVERITY[Status(status)] > level:  # a better day ends the run
            break
        since = day
    first = next((day for day, status in series if status == Status.CRITICAL), None)
    return since, first


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
    since, first = episode(series_of(key), (since_day(value.as_of), value.status))
    ids, count = savable_orders(data_orders, groups[key], as_of) if key in groups else ([], 0)
    return Headline(account, Status(value.status), value, since, first, tuple(ids), count, stale_since)
