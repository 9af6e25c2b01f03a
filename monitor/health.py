"""Metrics of stored accounts: loading their data and facts, evaluating, explaining and
snapshotting. The arithmetic lives in metrics.py and counting.py."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, Connection, Engine, Integer, String, Table, delete, insert, select
from sqlalchemy.orm import Session

from monitor import columnar
from monitor import counting as cnt
from monitor import metrics as m
from monitor.accounts import AccountFault, find_accounts, isolated
from monitor.db import driver_connection
from monitor.domain import ORDER_TIMESTAMPS, REVIEW_FAMILIES, Channel, Family
from monitor.facts import account_facts
from monitor.gcpause import gc_paused
from monitor.models import Account, Base, MetricSnapshot, UTCDateTime
from monitor.printable import printable
from monitor.timeutil import to_utc, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

# what counting needs: the few-valued fields come as the bits of one small integer (cnt.FLAGS_SQL)
ORDER_FIELDS = (
    "order_id",
    "purchase_date",
    "marketplace",
    "sales_channel",
    "latest_ship_date",
    "shipped_at",
    "cancelled_at",
    "latest_delivery_date",
    "delivered_at",
    "quantity",
    cnt.FLAGS_SQL,
)
# what explaining also shows
DETAIL_FIELDS = (
    *ORDER_FIELDS,
    "fulfillment_channel",
    "order_status",
    "cancelled_by",
    "buyer_requested_cancel",
    "tracking_id",
    "tracking_valid",
    "carrier",
    "ship_service_level",
    "sku",
    "product_name",
)
DEFECT_FIELDS = ("order_id", "defect_type", "received_at", "status", "rating", "comment")
# text fields of few distinct values: each is one object however many orders carry it (columnar.Kind.LABEL)
LABELS = frozenset(
    {"marketplace", "sales_channel", "fulfillment_channel", "order_status", "cancelled_by", "carrier"}
    | {"ship_service_level", "defect_type", "status"}
)
ANCHORS = ("purchase_date", "latest_ship_date", "shipped_at", "latest_delivery_date")


@dataclass(frozen=True)
class AccountData:
    key: str
    orders: pd.DataFrame
    defects: pd.DataFrame
    facts: m.AccountFacts


def _timestamps(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    for name in names:
        frame[name] = _utc(frame[name]) if len(frame) else pd.Series(dtype="datetime64[us, UTC]")
    return frame


def _utc(values: pd.Series) -> pd.Series:
    """Stored timestamps as UTC datetimes. SQLite hands over the stored text, naive UTC
    ("2026-11-20 14:02:11.000000"), which numpy reads directly (a third faster than pandas'
    ISO 8601 parser); PostgreSQL hands over datetimes, which pandas reads ten times faster than
    numpy (0.11 against 1.1 µs each); anything else (an offset) goes through pandas."""
    if values.dtype.kind == "M":  # parsed already (columnar.Kind.TIMESTAMP): naive UTC
        return values.dt.as_unit("us").dt.tz_localize("UTC")
    if isinstance(_first_value(values), datetime):
        try:
            return pd.Series(pd.to_datetime(values, utc=True).dt.as_unit("us"), index=values.index)
        except (ValueError, TypeError):
            return _utc_slowly(values)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns about offsets: pandas reads those
            naive = values.to_numpy(dtype=object).astype("datetime64[us]")
    except (ValueError, TypeError, Warning):
        return _utc_slowly(values)
    return pd.Series(naive, index=values.index).dt.tz_localize("UTC")


def _first_value(values: pd.Series) -> object:
    """The first value that is not missing (None if none): usually among the first few, and a
    column of a million empty values is still no Python loop."""
    for value in values.iloc[:16]:
        if value is not None and value == value:  # NaN is not equal to itself
            return value
    at = values.first_valid_index()
    return None if at is None else values[at]


def _utc_slowly(values: pd.Series) -> pd.Series:
    """Through pandas; a stored value it cannot read (a corrupt text an earlier version wrote)
    is missing, with a warning: one bad value must not stop the account's metrics."""
    parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    unreadable = parsed.isna() & values.notna()
    if unreadable.any():
        log.warning(
            "%d stored timestamps cannot be read (the first: %r): taken as missing",
            int(unreadable.sum()),
            str(values[unreadable].iloc[0])[:40],
        )
    return parsed


class SharedLoads:
    """One cycle's loads, shared by its check and its dashboards: each account's data loaded once
    (over the pages' longer range), kept for the dashboards, then let go. Only the first `capacity`
    accounts of a cycle are kept: about 12 MB for 20,000 orders each (fleet_bench: peak RSS 355 MB
    without, 461 MB with 10 kept), so a full cycle of a fleet never holds them all; a cycle after
    a few accounts changed loads each of them once."""

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._kept: dict[tuple[int, int, str], AccountData] = {}
        self.hits = 0

    def load(self, session: Session, account: Account, targets: m.Targets, as_of: datetime, keep: bool) -> AccountData:
        """The account's data for `as_of` (every field the pages and alerts use); `keep`: the check's
        load, kept for the dashboards; else the dashboards' (taken, and let go)."""
        key = (account.id, account.data_version, as_of.date().isoformat())  # the dashboards come seconds later
        if not keep and key in self._kept:
            self.hits += 1
            return self._kept.pop(key)
        data = load(session, account, targets, DETAIL_FIELDS, since_for(as_of, HISTORY_DAYS))
        if keep and len(self._kept) < self.capacity:
            self._kept[key] = data
        return data


HISTORY_DAYS = 90  # the days of history the pages chart and the headline looks back on


def load(
    session: Session,
    account: Account,
    targets: m.Targets,
    fields: tuple[str, ...] = ORDER_FIELDS,
    since: datetime | None = None,
) -> AccountData:
    """One account's orders, defects and facts (raw SQL, only the fields asked for: loading,
    not counting, is what a million orders cost).

    With `since`, only the orders that can still count at or after it are loaded (an anchor
    at or after `since`), with every order that ever had a defect or a cancellation (the
    completeness of young cohorts is learned from those).
    """
    connection = session.connection()
    facts = account_facts(session, account.id, targets.default_marketplace, targets.stale_hours)
    where = f"account_id = {int(account.id)}"
    recent = where
    if since is not None:
        stamp = f"'{to_utc(since).replace(tzinfo=None):%Y-%m-%d %H:%M:%S.%f}'"  # the stored text form
        # eBay's orders: its low-volume window reaches back a year (WINDOW_EBAY_LOW_VOLUME_DAYS)
        longer = since - timedelta(days=targets.windows.get("window_ebay_low_volume_days", 0))
        ebay = f"'{to_utc(longer).replace(tzinfo=None):%Y-%m-%d %H:%M:%S.%f}'"
        recent += (
            " AND ("
            + " OR ".join(f"{a} >= {stamp}" for a in ANCHORS)
            + f" OR (LOWER(marketplace) LIKE '%ebay%' AND ({' OR '.join(f'{a} >= {ebay}' for a in ANCHORS)}))"
            + f" OR cancelled_at IS NOT NULL OR order_status = 'Canceled' OR order_id IN "
            f"(SELECT order_id FROM defects WHERE {where}))"
        )
    with gc_paused():
        orders = _query(connection, Base.metadata.tables["orders"], recent, fields)
        defects = _query(connection, Base.metadata.tables["defects"], where, DEFECT_FIELDS)
        return AccountData(
            account.key, _timestamps(orders, ORDER_TIMESTAMPS), _timestamps(defects, ("received_at",)), facts
        )


def _query(connection: Connection, table: Table, where: str, fields: tuple[str, ...]) -> pd.DataFrame:
    """The fields of a table's rows as a DataFrame of object columns: no per-row work by
    SQLAlchemy, and no type guessing by pandas over a million cells. SQLite hands each column
    over as one text where that gives exactly the same values (columnar.py); otherwise, and on
    PostgreSQL, the rows come straight from the driver's cursor."""
    source = f"FROM {table.name} WHERE {where}"
    columns = [cnt.FLAGS if c == cnt.FLAGS_SQL else c for c in fields]
    wanted = columnar_columns(table, fields) if connection.dialect.name == "sqlite" else None
    frame = columnar.read(driver_connection(connection), source, wanted) if wanted else None
    if frame is not None:
        return frame
    cursor = driver_connection(connection).cursor()
    try:
        cursor.execute(f"SELECT {', '.join(fields)} {source}")
        rows = cursor.fetchall()
    finally:
        cursor.close()
    cells = np.array(rows, dtype=object).reshape(len(rows), len(columns))
    return pd.DataFrame({name: cells[:, i] for i, name in enumerate(columns)}, dtype=object, copy=False)


def columnar_columns(table: Table, fields: tuple[str, ...]) -> list[columnar.Column] | None:
    """How SQLite hands over these fields a column at a time (None: some only as rows)."""
    wanted = [
        columnar.Column(f, cnt.FLAGS, kind, nullable=False) if f == cnt.FLAGS_SQL else columnar.Column(f, f, kind)
        for f in fields
        if (kind := _kind(table, f))
    ]
    return wanted if len(wanted) == len(fields) else None


def _kind(table: Table, field: str) -> columnar.Kind | None:
    """How SQLite hands over a field (None: only as rows)."""
    if field == cnt.FLAGS_SQL:
        return columnar.Kind.INTEGER
    column = table.c.get(field)
    sql_type = None if column is None else column.type
    if isinstance(sql_type, UTCDateTime):
        return columnar.Kind.TIMESTAMP  # DATETIME: numeric affinity, holding the stored text
    if isinstance(sql_type, String):  # Text too
        return columnar.Kind.LABEL if field in LABELS else columnar.Kind.TEXT
    if isinstance(sql_type, Integer | Boolean):
        return columnar.Kind.INTEGER
    return None  # a float, say: its text would not round-trip


def since_for(as_of: datetime, days: int = 1) -> datetime:
    """The earliest anchor that can count for `days` daily values ending at `as_of` (with any
    window Amazon may show: a generous bound)."""
    return as_of - timedelta(days=days - 1 + m.LOOKBACK_DAYS + 60)


@dataclass
class MetricsRun:
    """Metric values, and the accounts that could not be evaluated."""

    values: list[m.MetricValue]
    faults: list[AccountFault]

    @property
    def failed(self) -> bool:
        return bool(self.faults)


def current(
    session: Session,
    targets: m.Targets,
    as_of: datetime,
    key: str | None = None,
    days: int | None = None,
    marketplace: str | None = None,
    faults: list[AccountFault] | None = None,
) -> list[m.MetricValue]:
    """Every metric of every account (or one) at `as_of`, or its daily history. With `faults`,
    an account that cannot be evaluated is recorded there and the others still are."""
    since = since_for(as_of, days or 1)

    def evaluate(apart: Session, account: Account) -> list[m.MetricValue]:
        data = load(apart, account, targets, since=since)
        with gc_paused():  # millions of short-lived objects, no cycles among them
            if days:
                return m.history(data.orders, data.defects, as_of, days, targets, account.key, facts=data.facts)
            return m.evaluate(data.orders, data.defects, as_of, targets, account.key, facts=data.facts)

    values: list[m.MetricValue] = []
    accounts = _accounts(session, key)
    with OneAhead(session, evaluate) as ahead:
        for position, account in enumerate(accounts):
            with _guard(session, account, faults):
                found = ahead.run(account, then=accounts[position + 1] if position + 1 < len(accounts) else None)
                values += [v for v in found if marketplace is None or v.marketplace == marketplace]
    return values


class OneAhead(Generic[T]):
    """Each account's work done one ahead: while the caller's thread works on an account, the next
    one's is done in a thread, on a session of its own. A load is mostly the database's work and
    much of the counting numpy's, both with Python's lock let go, so on two cores two accounts
    overlap (metrics_bench's 1,000,000 orders over two accounts, alternated: 3.3 to 3.6 s against
    3.6 to 3.8 s with the load alone ahead, and against 4.4 to 4.8 s with nothing ahead; on
    PostgreSQL 4.0 to 4.1 s against 4.9 to 5.1 s with nothing ahead). On SQLite it needs the
    columnar read: fetching rows one by one in the thread, each row's step lets the lock go and
    waits for it back, and the same run took 9.3 to 9.8 s. An in-memory SQLite database is one
    connection's alone: there, each account's work is done when it comes. A failure fails when its
    account comes, as it would have without the thread. At most two accounts' data are in memory
    at once."""

    def __init__(self, session: Session, work: Callable[[Session, Account], T]) -> None:
        self.session, self.work = session, work
        bind = session.get_bind()
        apart = isinstance(bind, Engine) and not _in_memory(bind)  # a session bound to one connection: no
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ahead") if apart else None
        self._pending: dict[int, Future[T]] = {}

    def __enter__(self) -> OneAhead[T]:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def run(self, account: Account, then: Account | None = None) -> T:
        """`account`'s work; `then`: the account that comes next, to work on meanwhile."""
        pending = self._pending.pop(account.id, None)
        if then is not None and self._pool is not None:
            self._pending[then.id] = self._pool.submit(self._apart, then)
        if pending is not None:
            return pending.result()
        return self.work(self.session, account)

    def _apart(self, account: Account) -> T:
        bind = self.session.get_bind()
        assert isinstance(bind, Engine)
        with Session(bind) as session:
            return self.work(session, account)


def _in_memory(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


# ------------------------------------------------------------------ drill-down
@dataclass(frozen=True)
class Offender:
    """An order that counts against a metric now, and why."""

    account: str
    marketplace: str
    channel: Channel
    metric: str
    order_id: str
    when: datetime  # the time that puts it in the window
    reason: str
    sku: str | None
    carrier: str | None
    ship_service_level: str | None
    product_name: str | None


def explain(
    session: Session,
    targets: m.Targets,
    as_of: datetime,
    metric_id: str,
    key: str | None = None,
    channel: Channel | None = None,
    marketplace: str | None = None,
    faults: list[AccountFault] | None = None,
) -> list[Offender]:
    """The orders that count as bad for `metric_id` in Amazon's current window, oldest first."""
    metric = m.metric_def(metric_id)
    offenders: list[Offender] = []
    for account in _accounts(session, key):
        with _guard(session, account, faults):
            data = load(session, account, targets, DETAIL_FIELDS, since_for(as_of))
            groups = m.account_groups(data.orders, data.defects, targets, account.key, [metric], data.facts).groups
            for group in groups:
                if (channel is None or group.channel == channel) and (
                    marketplace is None or group.marketplace == marketplace
                ):
                    offenders += offenders_of(data, group, as_of)
    return offenders


def _accounts(session: Session, key: str | None) -> list[Account]:
    """The accounts, detached from the session: a rollback after one's failure leaves the rest usable."""
    found = find_accounts(session, key)
    for account in found:
        session.expunge(account)
    return found


def _guard(session: Session, account: Account, faults: list[AccountFault] | None) -> AbstractContextManager[None]:
    return isolated(session, account.key, faults) if faults is not None else nullcontext()


def offenders_of(data: AccountData, group: m.Group, as_of: datetime) -> list[Offender]:
    """The orders of one group that count against its metric in its window at `as_of`."""
    if group.blocked:
        return []
    c, metric = group.counting, group.metric
    known = m.to_us(as_of)
    window = m.counted_window(
        group.window, cnt.cohorts_at(c, known, m.day_start(known), m.span_of(group.window))
    )  # eBay's, by its volume
    end = m.day_start(known) - window.lag * m.US_PER_DAY
    start = end - window.days * m.US_PER_DAY
    bad = (
        (c.anchor >= start)
        & (c.anchor < end)
        & (c.enter < known)
        & (known <= c.drop)
        & c.judged
        & c.flag
        & (c.flag_from < known)
    )
    if metric.family in REVIEW_FAMILIES:
        return _review_offenders(data, group, np.unique(c.index[bad]))
    positions = c.index[bad]
    order = np.argsort(c.anchor[bad], kind="stable")
    rows = data.orders.iloc[positions[order]]
    anchors = c.anchor[bad][order]
    return [
        Offender(
            data.key,
            group.marketplace,
            group.channel,
            metric.id,
            row["order_id"],
            m.from_us(int(anchor)),
            _reason(metric, row, as_of, data.defects),
            _text(row.get("sku")),
            _text(row.get("carrier")),
            _text(row.get("ship_service_level")),
            _text(row.get("product_name")),
        )
        for (_, row), anchor in zip(rows.iterrows(), anchors, strict=True)
    ]


def _review_offenders(data: AccountData, group: m.Group, positions: np.ndarray) -> list[Offender]:
    """The reviews that count against a review metric (below 5 stars for the average), oldest first."""
    reviews = group.facts.reviews
    if reviews is None:
        return []
    out = []
    for i in positions:
        comment = reviews.comment[i]
        said = f': "{printable(comment)[:80]}"' if isinstance(comment, str) and comment else ""
        out.append(
            Offender(
                data.key,
                group.marketplace,
                group.channel,
                group.metric.id,
                str(reviews.keys[i]),
                m.from_us(int(reviews.received[i])),
                f"{int(reviews.rating[i])}-star review{said}",
                None,
                None,
                None,
                None,
            )
        )
    return out


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _known(value: Any, as_of: datetime) -> bool:
    return value is not None and not pd.isna(value) and value < as_of


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _reason(metric: m.MetricDef, row: pd.Series, as_of: datetime, defects: pd.DataFrame) -> str:
    if (
        metric.family is Family.TRACKED
        and _known(row["shipped_at"], as_of)
        and row["shipped_at"] <= row["latest_ship_date"]
    ):
        return "confirmed on time without a tracking number"
    if metric.family in (Family.LSR, Family.TRACKED):
        if _known(row["shipped_at"], as_of):
            return f"shipped {_span(row['shipped_at'] - row['latest_ship_date'])} after the expected ship date"
        return f"not confirmed, {_span(as_of - row['latest_ship_date'])} past the expected ship date"
    if metric.family is Family.CR:
        by = row["cancelled_by"] or None
        return f"cancelled by {by}" if by else "cancelled, initiator unknown (counted as the seller's)"
    if metric.family is Family.VTR:
        if not isinstance(row.get("tracking_id"), str) or not row.get("tracking_id"):
            return "confirmed without a tracking number"
        return f"tracking {row.get('carrier') or ''} not valid".replace("  ", " ")
    if metric.family is Family.OTDR:
        if _known(row["delivered_at"], as_of):
            return f"delivered {_span(row['delivered_at'] - row['latest_delivery_date'])} after the promised date"
        return f"not delivered, {_span(as_of - row['latest_delivery_date'])} past the promised date"
    return _defect_reason(row, as_of, defects)


def _defect_reason(row: pd.Series, as_of: datetime, defects: pd.DataFrame) -> str:
    counted = cnt.counting_defects(defects[defects["order_id"] == row["order_id"]])
    counted = counted[counted["received_at"] < as_of]
    parts = []
    labels = {"a_to_z_claim": "A-to-z claim", "chargeback": "chargeback", "negative_feedback": "negative feedback"}
    for _, d in counted.sort_values("received_at").iterrows():
        detail = (
            f"{int(d['rating'])} star"
            if d["defect_type"] == "negative_feedback" and pd.notna(d["rating"])
            else (d["status"] or "status unknown")
        )
        comment = f': "{d["comment"][:80]}"' if isinstance(d.get("comment"), str) and d["comment"] else ""
        parts.append(f"{labels[d['defect_type']]} ({detail}) received {d['received_at'].date().isoformat()}{comment}")
    return "; ".join(parts)


# ------------------------------------------------------------------ daily snapshots
def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def refresh_snapshots(
    session: Session, targets: m.Targets, account_ids: Iterable[int], days: int, today: date | None = None
) -> int:
    """Recompute the stored daily values of the last `days` complete days for these accounts
    (late data changes the past: recomputing the whole range is cheap); returns rows written."""
    last_day = (today or utcnow().date()) - timedelta(days=1)
    written = 0
    for account in session.scalars(select(Account).where(Account.id.in_(list(account_ids)))):
        data = load(session, account, targets, since=since_for(end_of(last_day), days))
        series = m.history(data.orders, data.defects, end_of(last_day), days, targets, account.key, facts=data.facts)
        first_day = last_day - timedelta(days=days - 1)
        session.execute(
            delete(MetricSnapshot).where(
                MetricSnapshot.account_id == account.id, MetricSnapshot.day >= first_day, MetricSnapshot.day <= last_day
            )
        )
        now = utcnow()
        rows = [
            {
                "account_id": account.id,
                "marketplace": v.marketplace,
                "metric": v.metric,
                "channel": v.channel,
                "day": (v.as_of - timedelta(days=1)).date(),
                "numerator": v.numerator,
                "denominator": v.denominator,
                "rate": v.rate,
                "status": v.status,
                "headroom": v.headroom,
                "forecast_breach": v.forecast_breach,
                "computed_at": now,
            }
            for v in series
        ]
        if rows:
            session.execute(insert(MetricSnapshot), rows)
        written += len(rows)
    return written
