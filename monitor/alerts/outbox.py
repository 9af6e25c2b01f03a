"""The outbox: every message is stored, with each notifier's rendered payload, before it is
sent, and marked sent only after the notifier's medium accepted it. What fails stays
pending for the next run (at least once, never silently dropped); a notifier found dead
stops being tried until its settings change or it is reset, and is then sent the newest
message it missed for each account."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.message import Message
from monitor.models import Delivery, Notification, NotifierHealth
from monitor.notifiers import Notifier, NotifierDead
from monitor.present import alerts as words
from monitor.retry import TransientError, with_retries

log = logging.getLogger(__name__)

ATTEMPTS_PER_RUN = 3
BACKOFF_SECONDS = 2.0  # doubled after each failed attempt
MAX_WAIT_SECONDS = 60.0  # the longest Retry-After honoured within one run


@dataclass
class DeliveryReport:
    sent: int = 0
    pending: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)
    dead_notifiers: list[str] = field(default_factory=list)


def redact(text: str, secrets: list[str]) -> str:
    """Never let a secret (webhook URL, password) reach a log line or the database."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def enqueue(
    session: Session, account_id: int, message: Message, notifiers: Mapping[str, Notifier], now: datetime
) -> Notification:
    """Store a message and one pending delivery per notifier, with that notifier's payload."""
    notification = Notification(
        account_id=account_id,
        created_at=now,
        level=message.level,
        subject=words.subject(message),
        text=words.text(message),
    )
    session.add(notification)
    session.flush()
    for kind, notifier in notifiers.items():
        session.add(
            Delivery(
                notification_id=notification.id,
                notifier=kind,
                payload=notifier.render(message),
                status="pending",
                attempts=0,
            )
        )
    return notification


def dead_notifiers(session: Session, notifiers: Mapping[str, Notifier]) -> dict[str, str]:
    """Notifiers known dead with their current settings -> why. One whose settings changed
    since it died is revived (see `revive`)."""
    dead = {}
    for row in session.scalars(select(NotifierHealth).where(NotifierHealth.dead.is_(True))):
        notifier = notifiers.get(row.kind)
        if notifier is not None and notifier.fingerprint != row.fingerprint:
            revive(session, row.kind)
            continue
        dead[row.kind] = row.reason or "dead"
    return dead


def revive(session: Session, kind: str) -> int:
    """Forget that a notifier is dead, and queue again, for each account, the newest message it
    missed; returns how many were queued again."""
    health = session.get(NotifierHealth, kind)
    if health is not None:
        session.delete(health)
    newest = (
        select(func.max(Delivery.id))
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.notifier == kind, Delivery.status == "dead")
        .group_by(Notification.account_id)
    )
    ids = list(session.scalars(newest))
    if ids:
        session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(status="pending"))
    if health is not None:
        log.warning("notifier %s revived: %d missed messages queued again", kind, len(ids))
    return len(ids)


def deliver(
    sessions: sessionmaker[Session],
    notifiers: Mapping[str, Notifier],
    secrets: list[str],
    now: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Try every pending delivery, oldest first; commit each outcome as it happens."""
    report = DeliveryReport()
    with sessions.begin() as session:
        dead = dead_notifiers(session, notifiers)
        pending = session.execute(
            select(Delivery.id, Delivery.notifier, Delivery.payload)
            .where(Delivery.status == "pending")
            .order_by(Delivery.id)
        ).all()
    failing: set[str] = set()  # a notifier that failed this run is not hammered with the rest
    for delivery_id, kind, payload in pending:
        notifier = notifiers.get(kind)
        if notifier is None:
            _record(sessions, delivery_id, "pending", f"notifier {kind} is not configured now", now())
            report.pending += 1
            continue
        if kind in dead:
            _record(sessions, delivery_id, "dead", f"notifier dead: {dead[kind]}", now())
            report.dead += 1
            continue
        if kind in failing:
            report.pending += 1
            continue
        with sessions.begin() as session:
            # several daemons (PostgreSQL): the one that locks the row sends it, the others skip it;
            # the lock is held until the outcome is stored (a daemon killed mid-send leaves it pending)
            claimed = session.scalar(
                select(Delivery.id)
                .where(Delivery.id == delivery_id, Delivery.status == "pending")
                .with_for_update(skip_locked=True)
            )
            if claimed is None:
                continue
            outcome, error, attempts = _attempt(notifier, payload, sleep)
            error = redact(error, secrets) if error else None
            _store(session, delivery_id, outcome, error, now(), attempts)
        if outcome == "sent":
            report.sent += 1
        elif outcome == "dead":
            report.dead += 1
            dead[kind] = error or "dead"
            _mark_dead(sessions, notifier, error or "dead", now())
        else:
            report.pending += 1
            failing.add(kind)
        if error:
            report.errors.append(f"{kind}: {error}")
            log.warning("delivery %d by %s: %s", delivery_id, kind, error)
    report.dead_notifiers = sorted(k for k in dead if k in notifiers)  # named on every run until fixed
    return report


def _attempt(notifier: Notifier, payload: str, sleep: Callable[[float], None]) -> tuple[str, str | None, int]:
    """("sent" | "dead" | "pending", error, attempts made)."""
    attempts = 0

    def once() -> None:
        nonlocal attempts
        attempts += 1
        notifier.send(payload)

    try:
        with_retries(
            once,
            attempts=ATTEMPTS_PER_RUN,
            backoff=BACKOFF_SECONDS,
            max_wait=MAX_WAIT_SECONDS,
            sleep=sleep,
            what=f"notifier {notifier.kind}",
        )
    except NotifierDead as exc:
        return "dead", str(exc), attempts
    except TransientError as exc:
        return "pending", str(exc), attempts
    return "sent", None, attempts


def _record(
    sessions: sessionmaker[Session], delivery_id: int, status: str, error: str | None, when: datetime, attempts: int = 0
) -> None:
    with sessions.begin() as session:
        _store(session, delivery_id, status, error, when, attempts)


def _store(session: Session, delivery_id: int, status: str, error: str | None, when: datetime, attempts: int) -> None:
    delivery = session.get_one(Delivery, delivery_id)
    delivery.status = status
    delivery.attempts += attempts
    delivery.last_error = error
    if status == "sent":
        delivery.sent_at = when


def _mark_dead(sessions: sessionmaker[Session], notifier: Notifier, reason: str, when: datetime) -> None:
    with sessions.begin() as session:
        row = session.get(NotifierHealth, notifier.kind)
        if row is None:
            session.add(
                NotifierHealth(
                    kind=notifier.kind, dead=True, reason=reason, since=when, fingerprint=notifier.fingerprint
                )
            )
        else:
            row.dead, row.reason, row.since, row.fingerprint = True, reason, when, notifier.fingerprint
