"""SQLAlchemy tables. Changes here need an Alembic migration in migrations/versions/."""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from monitor.timeutil import to_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (portable across SQLite and PostgreSQL); read back aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return to_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else to_utc(value)

    def result_processor(self, dialect, coltype):
        """A stored value the driver cannot read back (a corrupt text an earlier version wrote)
        reads as missing, with a warning, rather than failing every query that touches it."""
        inner = super().result_processor(dialect, coltype)
        if inner is None:
            return None

        def process(value):
            try:
                return inner(value)
            except (ValueError, OverflowError, TypeError):
                log.warning("a stored timestamp cannot be read (%r): taken as missing", str(value)[:40])
                return None

        return process


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # work in proportion to change: bumped by every import that touches the account; the version
    # (and the day) its last evaluation and its pages saw
    data_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    evaluated_version: Mapped[int | None] = mapped_column(Integer)
    evaluated_on: Mapped[date | None] = mapped_column(Date)
    paged_version: Mapped[int | None] = mapped_column(Integer)
    paged_on: Mapped[date | None] = mapped_column(Date)
    evaluated_settings: Mapped[str | None] = mapped_column(String(40))  # fingerprint of the targets used
    paged_settings: Mapped[str | None] = mapped_column(String(40))


class ImportRecord(Base):
    """The import ledger: one row per file that was read (or rejected)."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str | None] = mapped_column(String(100))
    encoding: Mapped[str | None] = mapped_column(String(30))
    account_key: Mapped[str | None] = mapped_column(String(100))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # rows that changed nothing stored
    duplicates: Mapped[int] = mapped_column(Integer, default=0)  # rows folded into another of the file
    status: Mapped[str] = mapped_column(String(20))  # ok, partial, rejected
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # when the metric snapshots of the accounts it changed were recomputed (None: still to do)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    header: Mapped[str | None] = mapped_column(Text)  # the header line, to read quarantined rows again
    delimiter: Mapped[str | None] = mapped_column(String(2))


class ImportAccount(Base):
    """Which accounts a successful import touched (for data-freshness per account)."""

    __tablename__ = "import_accounts"

    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)


class QuarantinedRow(Base):
    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)


class Order(Base):
    __tablename__ = "orders"

    # keyed by what identifies an order: a surrogate id's own index cost every write a second
    # B-tree (about 15 % of PostgreSQL's time to store a million rows), and PostgreSQL compares
    # the ids by their bytes, as SQLite does, not by the locale's rules (10 % more; migration 0016)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    order_id: Mapped[str] = mapped_column(
        String(100).with_variant(String(100, collation="C"), "postgresql"), primary_key=True
    )
    marketplace: Mapped[str | None] = mapped_column(String(50))  # its domain (amazon.com)
    sales_channel: Mapped[str | None] = mapped_column(String(50))  # Amazon.com, ..., or Non-Amazon (multi-channel)
    purchase_date: Mapped[datetime] = mapped_column(UTCDateTime)
    fulfillment_channel: Mapped[str] = mapped_column(String(3))
    order_status: Mapped[str] = mapped_column(String(30))
    latest_ship_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(10))
    buyer_requested_cancel: Mapped[bool | None] = mapped_column(Boolean)
    tracking_id: Mapped[str | None] = mapped_column(String(100))
    tracking_valid: Mapped[bool | None] = mapped_column(Boolean)
    carrier: Mapped[str | None] = mapped_column(String(100))
    ship_service_level: Mapped[str | None] = mapped_column(String(100))
    latest_delivery_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sku: Mapped[str | None] = mapped_column(Text)
    asin: Mapped[str | None] = mapped_column(Text)
    product_name: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int | None] = mapped_column(Integer)
    order_total: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    first_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))


class Defect(Base):
    __tablename__ = "defects"
    __table_args__ = (UniqueConstraint("account_id", "defect_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    defect_key: Mapped[str] = mapped_column(String(300))
    order_id: Mapped[str] = mapped_column(String(100), index=True)
    defect_type: Mapped[str] = mapped_column(String(30))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str | None] = mapped_column(String(20))
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    first_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))


class Feedback(Base):
    """Every row of Amazon's feedback report (1-2 stars also become defects)."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("account_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active, or removed (a later report lacks it)
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))


class Review(Base):
    """A buyer's review of a marketplace that judges sellers by their reviews (Etsy: one per
    transaction, from its Open API's getReviewsByShop): the newest rating counts."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("account_id", "marketplace", "review_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    marketplace: Mapped[str] = mapped_column(String(50))  # its domain (etsy.com)
    review_key: Mapped[str] = mapped_column(String(100))  # Etsy: its transaction id
    listing_id: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))


class PerformanceReport(Base):
    """Amazon's own view of one marketplace, from GET_V2_SELLER_PERFORMANCE_REPORT."""

    __tablename__ = "performance_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    marketplace_id: Mapped[str | None] = mapped_column(String(50))
    account_status: Mapped[str | None] = mapped_column(String(50))
    ahr_score: Mapped[int | None] = mapped_column(Integer)
    ahr_status: Mapped[str | None] = mapped_column(String(50))
    report_date: Mapped[date | None] = mapped_column(Date)  # the report's day: the end of its late-shipment range
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when Amazon made it, when known
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    document: Mapped[str] = mapped_column(Text)  # the marketplace's JSON, unknown fields kept
    cycle: Mapped[str | None] = mapped_column(String(20))  # eBay's: CURRENT (its last evaluation) or PROJECTED


class PerformanceMetric(Base):
    """One figure of Amazon's performance report (a metric, or one channel of it)."""

    __tablename__ = "performance_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("performance_reports.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(10))
    numerator: Mapped[int | None] = mapped_column(Integer)
    denominator: Mapped[int | None] = mapped_column(Integer)
    rate: Mapped[float | None] = mapped_column(Float)
    target_value: Mapped[float | None] = mapped_column(Float)
    target_condition: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(40))
    date_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    date_to: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MetricSnapshot(Base):
    """One metric of one account, marketplace and channel at the end of one day: trends and charts read these."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (UniqueConstraint("account_id", "marketplace", "metric", "channel", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    marketplace: Mapped[str] = mapped_column(String(50))
    metric: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(3))
    day: Mapped[date] = mapped_column(Date)
    numerator: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10))
    headroom: Mapped[int | None] = mapped_column(Integer)
    forecast_breach: Mapped[str | None] = mapped_column(String(10))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertState(Base):
    """The alert of one (account, marketplace, metric, channel): survives restarts so nothing is sent twice."""

    __tablename__ = "alert_states"
    __table_args__ = (UniqueConstraint("account_id", "marketplace", "metric", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    marketplace: Mapped[str] = mapped_column(String(50))  # "" for the account as a whole
    metric: Mapped[str] = mapped_column(String(20))  # a metric id, or "stale" for the account's data
    # afn, mfn, "" for the account; for a data gap the source, for a notice the metric
    channel: Mapped[str] = mapped_column(String(30))
    level: Mapped[str] = mapped_column(String(10))  # ok, warning, critical, no_data
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    last_rate: Mapped[float | None] = mapped_column(Float)
    last_numerator: Mapped[int | None] = mapped_column(Integer)
    last_denominator: Mapped[int | None] = mapped_column(Integer)
    notified_level: Mapped[str | None] = mapped_column(String(10))  # level of the firing notice that went out
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    """One message to a seller (one per account per check), kept for the alert history."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[str] = mapped_column(String(10))  # the highest level in it, "resolved" or "reminder"
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)


class Delivery(Base):
    """The outbox: one row per notification and notifier, with the payload that notifier
    rendered; `sent` only once the notifier's medium accepted it."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    notifier: Mapped[str] = mapped_column(String(20))  # a kind of monitor.notifiers.NOTIFIERS
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotifierHealth(Base):
    """A notifier found dead (a Slack webhook answering 404, a refused login): no more tries
    until its settings change or `account-health notifier reset` revives it."""

    __tablename__ = "notifier_health"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    dead: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    fingerprint: Mapped[str] = mapped_column(String(64))  # of the settings it died with: new settings, new chance


class Heartbeat(Base):
    """The daemon's sign of life (one row): `status` reads it to tell a stuck daemon."""

    __tablename__ = "heartbeat"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_seconds: Mapped[float] = mapped_column(Float)
    last_job: Mapped[str | None] = mapped_column(Text)
    last_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing: Mapped[str | None] = mapped_column(Text)  # JSON: job -> what went wrong, until it next succeeds


class DaemonRecord(Base):
    """A daemon sharing the fleet (PostgreSQL): who it is and its last sign of life."""

    __tablename__ = "daemons"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid:random
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountLease(Base):
    """Which daemon works on an account, until when (renewed with its heartbeat)."""

    __tablename__ = "account_leases"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(120), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SyncCursor(Base):
    """Where the last Selling Partner API sync of one account and marketplace stopped."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("account_id", "marketplace_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    marketplace_id: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(30))  # "orders"
    cursor: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseEntry(Base):
    """One interaction with Amazon about an account (the appeal's record of what happened)."""

    __tablename__ = "case_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    medium: Mapped[str] = mapped_column(String(10))  # case, email, phone, chat
    case_id: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Evidence(Base):
    """A document attached for an appeal: a copy kept in a folder the monitor owns."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(30))
    item: Mapped[str] = mapped_column(String(60))
    original_path: Mapped[str] = mapped_column(Text)
    stored_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AppealAction(Base):
    """What the seller did about a metric: a corrective action or a preventive measure."""

    __tablename__ = "appeal_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(12))  # corrective, preventive
    description: Mapped[str] = mapped_column(Text)
    taken_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountSource(Base):
    """What an account's data carries, per marketplace and source (orders, ship-by dates, ship
    confirmations, tracking validity, delivery scans, feedback, claims, Amazon's report): the
    newest data time it holds and the last import that brought it."""

    __tablename__ = "account_sources"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(50), primary_key=True)  # "" when the data names none
    source: Mapped[str] = mapped_column(String(30), primary_key=True)
    newest_data_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    last_import_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountEvent(Base):
    """The ledger of changes to accounts themselves: what was renamed, merged or deleted, with
    the counts of what went (the data of a deleted account is gone; this row says what it was)."""

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(20))  # rename, merge, delete, create
    account_key: Mapped[str] = mapped_column(String(100))
    other_key: Mapped[str | None] = mapped_column(String(100))  # the new name; the account merged into
    detail: Mapped[str | None] = mapped_column(Text)  # JSON: counts of rows moved or deleted


class CheckLog(Base):
    """Every check that changed state (the daemon's and the command's): `status` reads the last."""

    __tablename__ = "check_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    firing: Mapped[int] = mapped_column(Integer)
    messages: Mapped[int] = mapped_column(Integer)
    failed: Mapped[bool] = mapped_column(Boolean)
