"""What one alert message says, as data: the account, its firing and resolved alerts, the
orders behind them. Notifiers turn it into their medium's payload (monitor/present/alerts.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from monitor.coverage import Gap, GapKey
from monitor.domain import AlertLevel, Source
from monitor.facts import AmazonSignal
from monitor.headline import Headline
from monitor.metrics import MetricValue

RESOLVED = "resolved"
NOTICE_LEVEL = "notice"  # told once: which data would let a metric be computed
_ORDER = {AlertLevel.CRITICAL.value: 0, AlertLevel.NO_DATA.value: 1, AlertLevel.WARNING.value: 2, NOTICE_LEVEL: 3}


@dataclass(frozen=True)
class Offending:
    """An order that counts against a metric, and why."""

    order_id: str
    reason: str
    sku: str | None


@dataclass(frozen=True)
class Notice:
    """A metric an account cannot compute on a marketplace, and what would supply it."""

    marketplace: str
    metric: str  # its name
    reason: str
    missing: tuple[Source, ...]


@dataclass(frozen=True)
class Item:
    """One firing (or resolved) alert within a message."""

    level: AlertLevel | str  # a firing level, or RESOLVED
    event: str | None
    value: MetricValue | None = None  # None for a stale-data alert or one of Amazon's signals
    offenders: Sequence[Offending] = ()
    stale_since: datetime | None = None
    signal: AmazonSignal | None = None  # what Amazon itself says (rating, account status)
    fault: str | None = None  # the monitor could not evaluate the account: why (or, resolved, what changed)
    gap: Gap | GapKey | None = None  # a source that stopped while orders kept coming (a GapKey: it closed)
    notice: Notice | None = None  # told once: a metric that cannot be computed, and what would supply it

    @property
    def resolved(self) -> bool:
        return self.level == RESOLVED

    @property
    def order(self) -> int:
        """Critical first, then stale data, then warnings."""
        return _ORDER.get(str(self.level), 4)


@dataclass(frozen=True)
class Reminder:
    """A follow-up of the case log that is due."""

    case_id: str | None
    summary: str
    occurred_at: datetime
    follow_up_on: date


@dataclass(frozen=True)
class Message:
    """One message to a seller: every firing alert of one account (or a case-log reminder)."""

    account: str
    marketplaces: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    dashboard_url: str = ""
    reminder: Reminder | None = None
    headline: Headline | None = None  # the account's worst metric, since when, what to do now
    sorted_items: tuple[Item, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ordered = sorted(self.items, key=lambda i: (i.order, _title_key(i)))
        object.__setattr__(self, "sorted_items", tuple(ordered))

    @property
    def firing(self) -> list[Item]:
        return [i for i in self.sorted_items if not i.resolved]

    @property
    def resolved(self) -> list[Item]:
        return [i for i in self.sorted_items if i.resolved]

    @property
    def level(self) -> str:
        if self.reminder is not None:
            return "reminder"
        return str(self.firing[0].level) if self.firing else RESOLVED


def _title_key(item: Item) -> str:
    if item.signal is not None:
        return f"amazon {item.signal.kind}"
    if item.value is None:
        return ""
    return f"{item.value.definition.name}, {item.value.channel.upper()}"
