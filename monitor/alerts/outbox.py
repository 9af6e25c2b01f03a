"""The outbox: every message is stored before it is sent, and marked sent only after the
channel accepted it. What fails stays pending for the next run (at least once, never
silently dropped); a channel found dead stops being tried until its settings change."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.channels import Channel, ChannelError, redact
from monitor.alerts.message import Message
from monitor.models import Account, ChannelHealth, Delivery, Notification

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
    dead_channels: list[str] = field(default_factory=list)


def enqueue(session: Session, account_id: int, message: Message, channels: list[str], now: datetime) -> Notification:
    """Store a message and one pending delivery per channel."""
    notification = Notification(account_id=account_id, created_at=now, level=message.level,
                                subject=message.subject, text=message.text, html=message.html,
                                slack=message.slack_json())
    session.add(notification)
    session.flush()
    for name in channels:
        session.add(Delivery(notification_id=notification.id, channel=name, status="pending", attempts=0))
    return notification


def dead_channels(session: Session, channels: dict[str, Channel]) -> dict[str, str]:
    """Channels known dead with their current settings -> why (a channel whose settings
    changed since it died is forgiven)."""
    dead = {}
    for row in session.scalars(select(ChannelHealth).where(ChannelHealth.dead.is_(True))):
        channel = channels.get(row.name)
        if channel is not None and channel.fingerprint() != row.fingerprint:
            session.execute(delete(ChannelHealth).where(ChannelHealth.name == row.name))
            continue
        dead[row.name] = row.reason or "dead"
    return dead


def deliver(sessions: sessionmaker[Session], channels: dict[str, Channel], secrets: list[str],
            now: Callable[[], datetime], sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
    """Try every pending delivery, oldest first; commit each outcome as it happens."""
    report = DeliveryReport()
    with sessions.begin() as session:
        dead = dead_channels(session, channels)
        pending = session.execute(select(Delivery.id, Delivery.channel).where(Delivery.status == "pending")
                                  .order_by(Delivery.id)).all()
    failing: set[str] = set()  # a channel that failed this run is not hammered with the rest
    for delivery_id, name in pending:
        channel = channels.get(name)
        if channel is None:
            _record(sessions, delivery_id, "pending", f"channel {name} is not configured now", now())
            report.pending += 1
            continue
        if name in dead:
            _record(sessions, delivery_id, "dead", f"channel dead: {dead[name]}", now())
            report.dead += 1
            continue
        if name in failing:
            report.pending += 1
            continue
        outcome, error, attempts = _attempt(sessions, delivery_id, channel, sleep)
        error = redact(error, secrets) if error else None
        _record(sessions, delivery_id, outcome, error, now(), attempts)
        if outcome == "sent":
            report.sent += 1
        elif outcome == "dead":
            report.dead += 1
            dead[name] = error or "dead"
            _mark_dead(sessions, channel, error or "dead", now())
            report.dead_channels.append(name)
        else:
            report.pending += 1
            failing.add(name)
        if error:
            report.errors.append(f"{name}: {error}")
            log.warning("delivery %d by %s: %s", delivery_id, name, error)
    return report


def _attempt(sessions: sessionmaker[Session], delivery_id: int, channel: Channel,
             sleep: Callable[[float], None]) -> tuple[str, str | None, int]:
    with sessions() as session:
        notification, account = session.execute(
            select(Notification, Account.key).join(Delivery).join(Account, Account.id == Notification.account_id)
            .where(Delivery.id == delivery_id)).one()
        message = Message(account, notification.level, notification.subject, notification.text,
                          notification.html, json.loads(notification.slack))
    wait = BACKOFF_SECONDS
    error = None
    for attempt in range(1, ATTEMPTS_PER_RUN + 1):
        try:
            channel.send(message)
            return "sent", None, attempt
        except ChannelError as exc:
            error = str(exc)
            if exc.permanent:
                return "dead", error, attempt
            if attempt < ATTEMPTS_PER_RUN:
                sleep(min(exc.retry_after if exc.retry_after is not None else wait, MAX_WAIT_SECONDS))
                wait *= 2
    return "pending", error, ATTEMPTS_PER_RUN


def _record(sessions: sessionmaker[Session], delivery_id: int, status: str, error: str | None, when: datetime,
            attempts: int = 0) -> None:
    with sessions.begin() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.status = status
        delivery.attempts += attempts
        delivery.last_error = error
        if status == "sent":
            delivery.sent_at = when


def _mark_dead(sessions: sessionmaker[Session], channel: Channel, reason: str, when: datetime) -> None:
    with sessions.begin() as session:
        row = session.get(ChannelHealth, channel.name)
        if row is None:
            session.add(ChannelHealth(name=channel.name, dead=True, reason=reason, since=when,
                                      fingerprint=channel.fingerprint()))
        else:
            row.dead, row.reason, row.since, row.fingerprint = True, reason, when, channel.fingerprint()
