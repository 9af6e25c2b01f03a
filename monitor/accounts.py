"""Seller accounts: looking them up by key, and how fresh their data is (one rule each)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from monitor.domain import Source
from monitor.errors import UsageError
from monitor.models import Account, AccountSource, ImportAccount, ImportRecord
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)
SUCCESSFUL = ("ok", "partial")


def find_accounts(session: Session, key: str | None = None, hint: str = "") -> list[Account]:
    """Every stored account by key, or the one named; an unknown name is a usage error."""
    query = select(Account).order_by(Account.key)
    if key is not None:
        query = query.where(Account.key == key)
    found = list(session.scalars(query))
    if key is not None and not found:
        known = ", ".join(session.scalars(select(Account.key).order_by(Account.key))) or "none yet"
        raise UsageError(f"--account {key}: no such account (known: {known}){hint}")
    return found


@dataclass(frozen=True)
class AccountFault:
    """An account the monitor could not evaluate, and why (one line; the traceback is logged)."""

    account: str
    error: str

    @classmethod
    def of(cls, account: str, exc: BaseException) -> AccountFault:
        lines = str(exc).strip().splitlines()
        return cls(account, f"{type(exc).__name__}: {lines[0][:300] if lines else ''}".rstrip(": "))


@contextmanager
def isolated(session: Session, account: str, faults: list[AccountFault]) -> Iterator[None]:
    """One account's evaluation: a failure is recorded in `faults` and the session rolled back,
    so that every other account is still evaluated (one bad row must not blind the rest)."""
    try:
        yield
    except (UsageError, OperationalError):  # the user's mistake, or the database itself: not the account's
        raise
    except Exception as exc:  # noqa: BLE001
        log.warning("account %s could not be evaluated: %s", account, exc)
        log.debug("account %s", account, exc_info=True)
        session.rollback()
        faults.append(AccountFault.of(account, exc))


def require_account(session: Session, key: str, hint: str = "") -> Account:
    """The account named `key`; a usage error naming the known ones when there is none."""
    return find_accounts(session, key, hint)[0]


def account_id(session: Session, key: str) -> int:
    """The id of the account named `key`, created on first use."""
    found = session.scalar(select(Account.id).where(Account.key == key))
    if found is None:
        found = session.scalar(insert(Account).values(key=key, created_at=utcnow()).returning(Account.id))
    assert found is not None
    return found


@dataclass(frozen=True)
class Freshness:
    """How new an account's data is: judged on the data itself (its newest order), not on when
    it was imported: a file of 24-day-old orders imported today is not fresh."""

    last_import: datetime | None
    stale: bool
    newest_order: datetime | None = None


def freshness(
    session: Session, moment: datetime, stale_hours: float, account_ids: list[int] | None = None
) -> dict[int, Freshness]:
    """Per account id: its last successful import, its newest order, and whether its newest
    order is more than `stale_hours` older than `moment` (or there is none)."""
    query = (
        select(ImportAccount.account_id, func.max(ImportRecord.finished_at))
        .join(ImportRecord, ImportRecord.id == ImportAccount.import_id)
        .where(ImportRecord.status.in_(SUCCESSFUL))
        .group_by(ImportAccount.account_id)
    )
    last: dict[int, datetime | None] = {row[0]: row[1] for row in session.execute(query)}
    newest: dict[int, datetime | None] = dict(
        session.execute(
            select(AccountSource.account_id, func.max(AccountSource.newest_data_at))
            .where(AccountSource.source == Source.ORDERS.value)
            .group_by(AccountSource.account_id)
        ).all()
    )
    ids = account_ids if account_ids is not None else list(session.scalars(select(Account.id)))
    limit = timedelta(hours=stale_hours)
    return {i: Freshness(last.get(i), is_stale(newest.get(i), moment, limit), newest.get(i)) for i in ids}


def is_stale(newest: datetime | None, moment: datetime, limit: timedelta) -> bool:
    return newest is None or moment - newest > limit
