"""Accounts as a user manages them: list, rename, merge (a typo's account into the right one),
delete. Every change is one transaction and leaves a row in the `account_events` ledger."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from monitor.accounts import find_accounts, require_account
from monitor.errors import UsageError
from monitor.models import (
    Account,
    AccountEvent,
    AccountSource,
    AlertState,
    AppealAction,
    CaseEntry,
    Defect,
    Evidence,
    Feedback,
    ImportAccount,
    ImportRecord,
    MetricSnapshot,
    Notification,
    Order,
    PerformanceReport,
    Review,
    SyncCursor,
)

# rows that simply belong to the account, and rows keyed within it (a key both accounts hold is
# merged: the most recently imported row wins, the other fills its gaps)
OWNED = (PerformanceReport, Notification, CaseEntry, Evidence, AppealAction)
KEYED = (
    (Order, ("order_id",)),
    (Defect, ("defect_key",)),
    (Feedback, ("order_id",)),
    (Review, ("marketplace", "review_key")),
)
RECOMPUTED = (MetricSnapshot, AlertState)  # the merged account's are recomputed by the next refresh and check


@dataclass(frozen=True)
class AccountSummary:
    key: str
    created_at: datetime
    orders: int
    newest_order: datetime | None
    last_import: datetime | None


def summaries(session: Session) -> list[AccountSummary]:
    """Every account with its order count, newest order and last import."""
    counts = {
        row[0]: (row[1], row[2])
        for row in session.execute(
            select(Order.account_id, func.count(), func.max(Order.purchase_date)).group_by(Order.account_id)
        )
    }
    imports = dict(
        session.execute(
            select(ImportAccount.account_id, func.max(ImportRecord.finished_at))
            .join(ImportRecord, ImportRecord.id == ImportAccount.import_id)
            .group_by(ImportAccount.account_id)
        ).all()
    )
    out = []
    for account in find_accounts(session):
        orders, newest = counts.get(account.id, (0, None))
        out.append(AccountSummary(account.key, account.created_at, orders, newest, imports.get(account.id)))
    return out


def _event(session: Session, action: str, key: str, other: str | None, detail: dict[str, Any], now: datetime) -> None:
    session.add(
        AccountEvent(at=now, action=action, account_key=key, other_key=other, detail=json.dumps(detail, sort_keys=True))
    )


def rename(session: Session, old: str, new: str, now: datetime) -> None:
    account = require_account(session, old)
    new = new.strip()
    if not new or len(new) > 100:
        raise UsageError("a new account name needs 1 to 100 characters")
    if session.scalar(select(func.count()).select_from(Account).where(Account.key == new)):
        raise UsageError(f"account {new} exists already: `account merge {old} {new}` moves {old}'s data into it")
    account.key = new
    account.paged_version = None  # its pages get new names: written again
    _event(session, "rename", old, new, {}, now)


def merge(session: Session, source: str, into: str, now: datetime) -> dict[str, int]:
    """Move everything of `source` into `into`, then delete `source`; returns rows moved per table."""
    if source == into:
        raise UsageError("an account cannot be merged into itself")
    src, dst = require_account(session, source).id, require_account(session, into).id
    moved: dict[str, int] = {}
    for keyed, keys in KEYED:
        moved[keyed.__tablename__] = _merge_keyed(session, cast(Table, keyed.__table__), keys, src, dst)
    for owned in OWNED:
        table = cast(Table, owned.__table__)
        moved[owned.__tablename__] = (
            session.scalar(select(func.count()).select_from(table).where(table.c.account_id == src)) or 0
        )
        session.execute(update(table).where(table.c.account_id == src).values(account_id=dst))
    _merge_imports(session, src, dst)
    _merge_sources(session, src, dst)
    _merge_cursors(session, src, dst)
    for recomputed in RECOMPUTED:
        table = cast(Table, recomputed.__table__)
        session.execute(delete(table).where(table.c.account_id == src))
    session.execute(delete(Account).where(Account.id == src))
    session.execute(update(Account).where(Account.id == dst).values(data_version=Account.data_version + 1))
    _event(session, "merge", source, into, moved, now)
    return moved


def _merge_keyed(session: Session, table: Table, keys: Sequence[str], src: int, dst: int) -> int:
    """Rows of `src` whose key `dst` also holds are merged into `dst`'s row (the one imported
    last wins, the other fills its empty fields); the rest change account."""
    columns = [c.name for c in table.columns if c.name not in ("id", "account_id", *keys)]
    theirs = {
        tuple(r[k] for k in keys): r for r in session.execute(select(table).where(table.c.account_id == src)).mappings()
    }
    if not theirs:
        return 0
    ours = {
        tuple(r[k] for k in keys): r
        for r in session.execute(select(table).where(table.c.account_id == dst)).mappings()
        if tuple(r[k] for k in keys) in theirs
    }
    for key, mine in ours.items():
        other = theirs[key]
        newer, older = (
            (other, mine) if (other.get("last_import_id") or 0) > (mine.get("last_import_id") or 0) else (mine, other)
        )
        values = {c: newer[c] if newer[c] is not None else older[c] for c in columns}
        session.execute(update(table).where(*_is_row(table, keys, dst, key)).values(**values))
    for key in ours:  # one by one: a row is found by its key (orders have no id), as it is updated
        session.execute(delete(table).where(*_is_row(table, keys, src, key)))
    session.execute(update(table).where(table.c.account_id == src).values(account_id=dst))
    return len(theirs)


def _is_row(table: Table, keys: Sequence[str], account: int, key: tuple[Any, ...]) -> list[ColumnElement[bool]]:
    """The conditions that find an account's row of `table` by its key."""
    return [table.c.account_id == account, *(table.c[k] == v for k, v in zip(keys, key, strict=True))]


def _merge_imports(session: Session, src: int, dst: int) -> None:
    have = set(session.scalars(select(ImportAccount.import_id).where(ImportAccount.account_id == dst)))
    for import_id in session.scalars(select(ImportAccount.import_id).where(ImportAccount.account_id == src)).all():
        if import_id not in have:
            session.execute(insert(ImportAccount).values(import_id=import_id, account_id=dst))
    session.execute(delete(ImportAccount).where(ImportAccount.account_id == src))


def _merge_sources(session: Session, src: int, dst: int) -> None:
    theirs = list(session.scalars(select(AccountSource).where(AccountSource.account_id == src)))
    for row in theirs:
        mine = session.get(AccountSource, (dst, row.marketplace, row.source))
        if mine is None:
            session.add(
                AccountSource(
                    account_id=dst,
                    marketplace=row.marketplace,
                    source=row.source,
                    newest_data_at=row.newest_data_at,
                    last_import_id=row.last_import_id,
                    last_import_at=row.last_import_at,
                )
            )
            continue
        if row.newest_data_at is not None and (mine.newest_data_at is None or row.newest_data_at > mine.newest_data_at):
            mine.newest_data_at = row.newest_data_at
        if row.last_import_at > mine.last_import_at:
            mine.last_import_id, mine.last_import_at = row.last_import_id, row.last_import_at
    session.flush()
    session.execute(delete(AccountSource).where(AccountSource.account_id == src))


def _merge_cursors(session: Session, src: int, dst: int) -> None:
    mine = {(c.marketplace_id, c.kind) for c in session.scalars(select(SyncCursor).where(SyncCursor.account_id == dst))}
    for cursor in session.scalars(select(SyncCursor).where(SyncCursor.account_id == src)).all():
        if (cursor.marketplace_id, cursor.kind) in mine:
            session.delete(cursor)
        else:
            cursor.account_id = dst


def delete_account(session: Session, key: str, now: datetime) -> dict[str, int]:
    """Delete an account and everything stored for it; the ledger keeps what it held."""
    account = require_account(session, key)
    counts = {
        model.__tablename__: session.scalar(
            select(func.count()).select_from(model).where(model.account_id == account.id)
        )
        or 0
        for model in (Order, Defect, Feedback, Review, *OWNED, MetricSnapshot, AlertState)
    }
    session.delete(account)  # the database cascades to every row of the account
    _event(session, "delete", key, None, counts, now)
    return counts
