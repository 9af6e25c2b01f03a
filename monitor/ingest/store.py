"""Writing canonical records: upsert by natural key, only with the fields a row carries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from monitor.ingest.records import defect_key
from monitor.models import Account, Defect, Feedback, ImportAccount, Order
from monitor.timeutil import utcnow

IN_CHUNK = 500
# Item rows of one order add up; any other field takes the latest non-empty value.
_ADDITIVE = ("quantity", "order_total")
_LISTED = ("sku", "asin", "product_name")


def _fold(target: dict[str, Any], item: dict[str, Any]) -> None:
    """Merge another item row of the same order into `target` (same file)."""
    for name, value in item.items():
        old = target.get(name)
        if old is None:
            target[name] = value
        elif name in _ADDITIVE:
            target[name] = round(old + value, 2) if name == "order_total" else old + value
        elif name in _LISTED:
            parts = old.split(", ")
            if value not in parts:
                target[name] = ", ".join([*parts, value])
        else:
            target[name] = value


@dataclass
class Store:
    """Writes one import's records; counts what it inserted and changed."""

    session: Session
    import_id: int
    default_account: str
    inserted: int = 0
    updated: int = 0
    _accounts: dict[str, int] = field(default_factory=dict)
    _touched_accounts: set[int] = field(default_factory=set)

    def account_id(self, key: str | None) -> int:
        key = key or self.default_account
        if key not in self._accounts:
            found = self.session.scalar(select(Account.id).where(Account.key == key))
            if found is None:
                found = self.session.scalar(insert(Account).values(key=key, created_at=utcnow()).returning(Account.id))
            self._accounts[key] = found
        account_id = self._accounts[key]
        if account_id not in self._touched_accounts:
            self._touched_accounts.add(account_id)
            self.session.execute(insert(ImportAccount).values(import_id=self.import_id, account_id=account_id))
        return account_id

    def write(self, kind: str, batch: list[dict[str, Any]]) -> None:
        if batch:
            {"order": self._orders, "defect": self._defects, "feedback": self._feedback}[kind](batch)

    # ------------------------------------------------------------ orders
    def _orders(self, batch: list[dict[str, Any]]) -> None:
        folded: dict[tuple[int, str], dict[str, Any]] = {}
        for record in batch:
            record = dict(record)
            key = (self.account_id(record.pop("account", None)), record["order_id"])
            if key in folded:
                _fold(folded[key], record)
            else:
                folded[key] = record
        self._upsert(Order, folded, "order_id", Order.order_id, fold_items=True)

    # ------------------------------------------------------------ defects and feedback
    def _defects(self, batch: list[dict[str, Any]]) -> None:
        rows: dict[tuple[int, str], dict[str, Any]] = {}
        for record in batch:
            record = dict(record)
            account = self.account_id(record.pop("account", None))
            key = defect_key(record)
            record.pop("defect_id", None)
            rows[(account, key)] = record
        self._upsert(Defect, rows, "defect_key", Defect.defect_key)

    def _feedback(self, batch: list[dict[str, Any]]) -> None:
        rows = {(self.account_id(r.get("account")), r["order_id"]): {k: v for k, v in r.items() if k != "account"}
                for r in batch}
        self._upsert(Feedback, rows, "order_id", Feedback.order_id)

    # ------------------------------------------------------------ the upsert
    def _upsert(self, model, rows: dict[tuple[int, str], dict[str, Any]], key_name: str, key_column,
                fold_items: bool = False) -> None:
        existing = self._existing(model, key_column, rows)
        inserts, updates = [], []
        for (account_id, key), record in rows.items():
            row = existing.get((account_id, key))
            if row is None:
                values = {**record, "account_id": account_id, key_name: key, "last_import_id": self.import_id}
                if hasattr(model, "first_import_id"):
                    values["first_import_id"] = self.import_id
                inserts.append(values)
                continue
            own = row.last_import_id == self.import_id
            if own and fold_items:  # more items of an order this file already wrote
                stored = {name: getattr(row, name) for name in (*_ADDITIVE, *_LISTED)}
                _fold(stored, record)
                record = {**record, **{k: v for k, v in stored.items() if v is not None}}
            changes = {name: value for name, value in record.items()
                       if name != key_name and getattr(row, name) != value}
            if changes or not own:
                # every row the file carries is stamped, so later chunks know it was written
                updates.append({"id": row.id, **changes, "last_import_id": self.import_id})
            # a row this import already wrote (inserted or updated) is not counted twice
            self.updated += bool(changes) and not own
        if inserts:
            self.session.execute(insert(model), inserts)
            self.inserted += len(inserts)
        if updates:
            self.session.execute(update(model), updates)

    def _existing(self, model, key_column, rows: dict[tuple[int, str], Any]) -> dict[tuple[int, str], Any]:
        by_account: dict[int, list[str]] = {}
        for account_id, key in rows:
            by_account.setdefault(account_id, []).append(key)
        found = {}
        for account_id, keys in by_account.items():
            for chunk in _chunks(keys, IN_CHUNK):
                # plain rows, not ORM objects: nothing piles up in the session's identity map
                query = select(model.__table__).where(model.account_id == account_id, key_column.in_(chunk))
                for row in self.session.execute(query):
                    found[(account_id, getattr(row, key_column.key))] = row
        return found


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
