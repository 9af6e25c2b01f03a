"""Writing canonical records: upsert by natural key, only with the fields a row carries."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Boolean, Float, Integer, String, insert, select, update
from sqlalchemy.orm import Session

from monitor import accounts, db
from monitor.counting import Distinct, counted_orders
from monitor.domain import ORDER_SOURCES, Source
from monitor.ingest import pgbinary
from monitor.ingest.frames import STAMP, STORED_COLUMNS, db_text
from monitor.ingest.records import defect_key
from monitor.models import Account, AccountSource, Defect, Feedback, ImportAccount, Order, UTCDateTime
from monitor.timeutil import to_utc

log = logging.getLogger(__name__)
T = TypeVar("T")
IN_CHUNK = 500
# Item rows of one order add up; any other field takes the latest non-empty value.
_ADDITIVE = ("quantity", "order_total")
_LISTED = ("sku", "asin", "product_name")
_ITEM_FIELDS = (*_ADDITIVE, *_LISTED)


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
    """Writes one import's records; notes which sources of which accounts and marketplaces it
    brought (account_sources), and accounts for every row it was given: each one inserted (a
    new record), updated (it changed a stored one), skipped (the stored one already said the
    same) or a duplicate (folded into another row of the same file)."""

    session: Session
    import_id: int
    default_account: str
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates: int = 0
    _accounts: dict[str, int] = field(default_factory=dict)
    _touched_accounts: set[int] = field(default_factory=set)
    _written: set[tuple[int, str]] = field(default_factory=set)  # orders of item-row files, for folding
    _sources: dict[tuple[int, str, Source], str | None] = field(default_factory=dict)  # -> newest data time
    _fresh: dict[int, bool] = field(default_factory=dict)  # account id -> no order stored before this import
    _straight: bool = True  # PostgreSQL: new orders of fresh accounts are COPied into orders (see _copied_straight)
    feedback_seen: dict[int, dict[str, tuple[int, datetime]]] = field(default_factory=dict)  # account -> order

    def account_id(self, key: str | None) -> int:
        key = key or self.default_account
        if key not in self._accounts:
            self._accounts[key] = accounts.account_id(self.session, key)
        account_id = self._accounts[key]
        if account_id not in self._touched_accounts:
            self._touched_accounts.add(account_id)
            self.session.execute(insert(ImportAccount).values(import_id=self.import_id, account_id=account_id))
            self.session.execute(  # its data changed: the next check and dashboard look at it again
                update(Account).where(Account.id == account_id).values(data_version=Account.data_version + 1)
            )
        return account_id

    def write(self, kind: str, batch: list[dict[str, Any]], counted: bool = True) -> None:
        """Upsert defect or feedback records; `counted`: one record per row of the file (a
        feedback row's defect is not: its feedback is counted)."""
        if batch:
            {"defect": self._defects, "feedback": self._feedback}[kind](batch, counted)

    # ------------------------------------------------------------ sources
    def note(self, account_id: int, marketplace: str, source: Source, newest: str | datetime | None) -> None:
        """This import brought `source` for an account and marketplace, its newest data at `newest`."""
        text = newest.isoformat(sep=" ") if isinstance(newest, datetime) else newest
        key = (account_id, marketplace, source)
        old = self._sources.get(key)
        self._sources[key] = max(filter(None, (old, text)), default=None)

    def flush_sources(self, now: datetime) -> None:
        """Write what the import brought into account_sources (newest data times only move forward)."""
        for (account_id, marketplace, source), newest in self._sources.items():
            moment = datetime.fromisoformat(newest) if newest else None
            row = self.session.get(AccountSource, (account_id, marketplace, str(source)))
            if row is None:
                self.session.add(
                    AccountSource(
                        account_id=account_id,
                        marketplace=marketplace,
                        source=str(source),
                        newest_data_at=moment,
                        last_import_id=self.import_id,
                        last_import_at=now,
                    )
                )
                continue
            if moment is not None and (row.newest_data_at is None or to_utc(moment) > row.newest_data_at):
                row.newest_data_at = moment
            row.last_import_id, row.last_import_at = self.import_id, now

    # ------------------------------------------------------------ orders
    def write_orders(
        self, batch: OrderBatch | StagedOrders | EncodedOrders, item_rows: bool, fill_only: tuple[str, ...] = ()
    ) -> None:
        """Upsert a chunk of orders made ready by `order_batch` (or staged or encoded by another
        process, see `staged` and `encoded`) in one statement; the `fill_only` columns only fill a
        stored order's empty fields."""
        self.duplicates += batch.duplicates
        if isinstance(batch, StagedOrders):
            self._write_staged(batch, item_rows, fill_only)
            return
        if isinstance(batch, EncodedOrders):
            self._write_encoded(batch, fill_only)
            return
        frame = batch.frame
        if frame.empty:
            return
        accounts = batch.accounts  # none missing: order_batch put in the default
        ids = self._account_ids(accounts.values, batch.notes)
        frame = frame.drop(columns="account").assign(account_id=np.array(ids, dtype=np.int64)[accounts.codes])
        own = pd.Series(False, index=frame.index)
        if item_rows:
            own = self._fold_items_written_before(frame)
        columns = [*batch.carried, "account_id"]
        connection = self.session.connection()
        cursor = connection.connection.cursor()
        try:
            merge = _Merge(self, cursor, connection.dialect, columns, fill_only)
            for part, counted in ((frame[~own], True), (frame[own], False)):
                if part.empty:
                    continue
                values = _values(part, columns)
                if counted and merge.postgres:
                    stamped = [*values, *[[self.import_id] * len(part)] * len(_STAMPS)]
                    if self._copied_straight(
                        cursor, ids, len(part), partial(_copy, cursor, "orders", columns + _STAMPS, stamped)
                    ):
                        continue
                _stage(cursor, connection.dialect.name, columns, values)
                merge.run(STAGE, "true", len(part), counted)
                # emptied for the next chunk (PostgreSQL: TRUNCATE, or the dead rows pile up in every scan)
                cursor.execute(f"{'TRUNCATE' if merge.postgres else 'DELETE FROM'} {STAGE}")
        finally:
            cursor.close()

    def _write_staged(self, batch: StagedOrders, item_rows: bool, fill_only: tuple[str, ...]) -> None:
        """Orders another process staged (SQLite): its database opened here as the `staged` schema
        and merged as `write_orders` merges, each row's account position read as its account's id."""
        if not batch.rows:
            return
        ids = self._account_ids(batch.accounts, batch.notes)
        connection = self.session.connection()
        raw = db.driver_connection(connection)
        if not raw.execute("SELECT 1 FROM pragma_database_list WHERE name = ?", (db.STAGED,)).fetchone():
            raw.execute(f"ATTACH ':memory:' AS {db.STAGED}")  # let go when the connection is (see db.py)
        raw.deserialize(batch.database, name=db.STAGED)
        table = f"{db.STAGED}.{STAGE}"
        cursor = raw.cursor()
        try:
            own = self._fold_staged_items(cursor, table, batch, ids) if item_rows else 0
            merge = _Merge(self, cursor, connection.dialect, [*batch.carried, "account_id"], fill_only, ids)
            if batch.rows > own:
                merge.run(table, "own IS NULL", batch.rows - own, True)
            if own:
                merge.run(table, "own IS NOT NULL", own, False)
        finally:
            cursor.close()

    def _write_encoded(self, batch: EncodedOrders, fill_only: tuple[str, ...]) -> None:
        """Orders another process encoded for PostgreSQL's binary COPY (see `encoded`), their
        accounts' ids and this import's id put in: COPied straight into orders (see
        `_copied_straight`), or into the staging table and merged, as `write_orders` does."""
        if not batch.rows:
            return
        ids = self._account_ids(batch.accounts, batch.notes)
        data = batch.with_ids(np.array(ids, dtype=np.int64)[batch.codes], self.import_id)
        columns = [*_STAMPS, "account_id", *batch.carried]
        connection = self.session.connection()
        cursor = connection.connection.cursor()
        try:
            if self._copied_straight(cursor, ids, batch.rows, partial(_copy_binary, cursor, "orders", columns, data)):
                return
            _stage_table(cursor)
            _copy_binary(cursor, STAGE, columns, data)
            merged = [*batch.carried, "account_id"]
            _Merge(self, cursor, connection.dialect, merged, fill_only).run(STAGE, "true", batch.rows, True)
            cursor.execute(f"TRUNCATE {STAGE}")
        finally:
            cursor.close()

    def _copied_straight(self, cursor, ids: list[int], rows: int, copy: Callable[[], None]) -> bool:
        """PostgreSQL: a chunk's rows COPied straight into orders (by `copy`) when none of its accounts
        (`ids`) had an order stored as this import began (an account's first import, its
        backfill, which is the biggest file it has): a page of rows at a time, where the merge
        inserts row by row (a million rows: about 3.3 s, against 1.8 s of COPY into the staging
        table and 5.6 to 6.1 s of merge). In a savepoint: a row already stored (an order an
        earlier chunk of this file wrote, or another writer's) undoes it and returns False, and
        the rest of the import merges."""
        if not self._straight:
            return False
        for account in ids:
            if account not in self._fresh:
                cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM orders WHERE account_id = %s)", (account,))
                self._fresh[account] = bool(cursor.fetchone()[0])
            if not self._fresh[account]:
                return False
        from psycopg import errors as psycopg_errors  # PostgreSQL's driver: an optional dependency

        cursor.execute("SAVEPOINT straight")
        try:
            copy()
        except psycopg_errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT straight")
            self._straight = False
            return False
        cursor.execute("RELEASE SAVEPOINT straight")
        self.inserted += rows
        return True

    def _account_ids(self, keys: list[str], notes: dict[tuple[str, str, Source], str | None]) -> list[int]:
        """The ids of a chunk's accounts (by key), with what the chunk brought noted for each."""
        ids = [self.account_id(key) for key in keys]
        for (key, marketplace, source), newest in notes.items():
            self.note(ids[keys.index(key)], marketplace, source, newest)
        return ids

    def _fold_items_written_before(self, frame: pd.DataFrame) -> pd.Series:
        """Items of an order that an earlier chunk of this file wrote add to what it wrote (see
        _items_written_before): which rows of `frame` are such items, their fields folded."""
        keys = list(zip(frame["account_id"].tolist(), frame["order_id"].tolist(), strict=True))
        columns = frame[list(_ITEM_FIELDS)]
        folded = self._items_written_before(keys, lambda rows: columns.iloc[rows].itertuples(index=False))
        for position, values in folded.items():
            for name, value in zip(_ITEM_FIELDS, values, strict=True):
                frame.at[frame.index[position], name] = value
        return pd.Series(np.isin(np.arange(len(frame)), list(folded)), index=frame.index)

    def _fold_staged_items(self, cursor, table: str, batch: StagedOrders, ids: list[int]) -> int:
        """The same for staged orders: such rows of the staged `table` get their fields folded and
        are marked `own`. How many."""
        assert batch.keys is not None
        keys = [(ids[position], order_id) for position, order_id in batch.keys]

        def items(rows: list[int]) -> Iterable[tuple[Any, ...]]:  # rowid 1 is the batch's first row
            for part in _chunks([row + 1 for row in rows], IN_CHUNK):
                marks = ", ".join("?" * len(part))
                sql = f"SELECT {', '.join(_ITEM_FIELDS)} FROM {table} WHERE rowid IN ({marks}) ORDER BY rowid"
                yield from cursor.execute(sql, part).fetchall()

        folded = self._items_written_before(keys, items)
        setting = "".join(f"{name} = ?, " for name in _ITEM_FIELDS)
        cursor.executemany(
            f"UPDATE {table} SET {setting}own = 1 WHERE rowid = ?", [[*v, row + 1] for row, v in folded.items()]
        )
        return len(folded)

    def _items_written_before(
        self, keys: list[tuple[int, str]], items: Callable[[list[int]], Iterable[Sequence[Any]]]
    ) -> dict[int, list[Any]]:
        """Of a chunk's rows (`keys`: each one's account id and order id), those of orders an
        earlier chunk of this file wrote, by position, each with its item fields folded into
        what that chunk wrote; `items(positions)` gives those rows' own fields (_ITEM_FIELDS)."""
        rows = [position for position, key in enumerate(keys) if key in self._written]
        self._written.update(keys)
        if not rows:
            return {}
        stored = self._existing(Order, Order.order_id, {keys[row]: None for row in rows})
        folded = {}
        for row, values in zip(rows, items(rows), strict=True):
            merged = {name: getattr(stored[keys[row]], name) for name in _ITEM_FIELDS}
            _fold(merged, {name: v for name, v in zip(_ITEM_FIELDS, values, strict=True) if pd.notna(v)})
            folded[row] = list(merged.values())
        return folded

    # ------------------------------------------------------------ defects and feedback
    def _defects(self, batch: list[dict[str, Any]], counted: bool) -> None:
        rows: dict[tuple[int, str], dict[str, Any]] = {}
        for record in batch:
            record = dict(record)
            account = self.account_id(record.pop("account", None))
            key = record.pop("defect_key", None) or defect_key(record)
            record.pop("defect_id", None)
            rows[(account, key)] = record
            source = Source.FEEDBACK if record["defect_type"] == "negative_feedback" else Source.CLAIMS
            self.note(account, "", source, record["received_at"].replace(tzinfo=None))
        self._upsert(Defect, rows, "defect_key", Defect.defect_key, len(batch) if counted else None)

    def _feedback(self, batch: list[dict[str, Any]], counted: bool) -> None:
        rows = {}
        for r in batch:
            account = self.account_id(r.get("account"))
            rows[(account, r["order_id"])] = {k: v for k, v in r.items() if k != "account"}
            self.note(account, "", Source.FEEDBACK, r["received_at"].replace(tzinfo=None))
            self.feedback_seen.setdefault(account, {})[r["order_id"]] = (r["rating"], r["received_at"])
        self._upsert(Feedback, rows, "order_id", Feedback.order_id, len(batch) if counted else None)

    # ------------------------------------------------------------ the upsert
    def _upsert(
        self, model, rows: dict[tuple[int, str], dict[str, Any]], key_name: str, key_column, given: int | None
    ) -> None:
        """Insert or update `rows`; `given`: how many rows of the file they came from (None: not
        counted), several rows of one key being duplicates."""
        existing = self._existing(model, key_column, rows)
        inserts, updates = [], []
        updated = skipped = duplicates = 0
        for (account_id, key), record in rows.items():
            row = existing.get((account_id, key))
            if row is None:
                values = {**record, "account_id": account_id, key_name: key, "last_import_id": self.import_id}
                if hasattr(model, "first_import_id"):
                    values["first_import_id"] = self.import_id
                inserts.append(values)
                continue
            own = row.last_import_id == self.import_id
            changes = {
                name: value for name, value in record.items() if name != key_name and getattr(row, name) != value
            }
            if changes:
                updates.append({"id": row.id, **changes, "last_import_id": self.import_id})
            # a row this import already wrote (inserted or updated) is not counted twice
            if own:
                duplicates += 1
            elif changes:
                updated += 1
            else:
                skipped += 1
        if inserts:
            self.session.execute(insert(model), inserts)
        if updates:
            self.session.execute(update(model), updates)
        if given is not None:
            self.inserted += len(inserts)
            self.updated += updated
            self.skipped += skipped
            self.duplicates += duplicates + given - len(rows)

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


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ------------------------------------------------------------------ order upsert helpers
@dataclass
class OrderBatch:
    """A chunk of converted orders made ready to write, without the database (so that another
    process can make it): rows of one order folded into one, each row's account key (the
    default where the file names none) in `account`, and what the chunk brings."""

    frame: pd.DataFrame
    duplicates: int  # rows folded into another row of the chunk
    notes: dict[tuple[str, str, Source], str | None]  # (account key, marketplace, source) -> newest data
    carried: list[str]  # the stored columns some row carries: the others are left out of the upsert
    accounts: Distinct  # the frame's account keys, found once for every step that needs them


def order_batch(frame: pd.DataFrame, item_rows: bool, default_account: str) -> OrderBatch:
    """`frame` (see frames.order_frame) made ready for Store.write_orders."""
    if frame.empty:
        return OrderBatch(frame, 0, {}, [], Distinct(np.zeros(0, dtype=np.int64), []))
    frame, accounts = _with_accounts(frame, default_account)
    folded = fold_duplicates(frame, item_rows, accounts)
    if len(folded) < len(frame):
        accounts = Distinct.of(folded["account"])
    # columns no row of the chunk carries are left out: the upsert never writes a NULL over a value
    carried = [c for c in STORED_COLUMNS if c == "order_id" or _carried(folded[c])]
    return OrderBatch(folded, len(frame) - len(folded), _order_notes(folded, accounts), carried, accounts)


def _with_accounts(frame: pd.DataFrame, default_account: str) -> tuple[pd.DataFrame, Distinct]:
    """The frame with `default_account` for the rows that name no account, and its account keys.
    Most files name none (a seller's own report): then the column is made whole, not searched."""
    named = Distinct.of(frame["account"])
    if not named.values:
        column = pd.Series(
            np.full(len(frame), default_account, dtype=object), dtype=frame["account"].dtype, index=frame.index
        )
        return frame.assign(account=column), Distinct(np.zeros(len(frame), dtype=np.int64), [default_account])
    if (named.codes >= 0).all():
        return frame, named
    frame = frame.assign(account=frame["account"].where(frame["account"].notna(), default_account))
    return frame, Distinct.of(frame["account"])


@dataclass
class StagedOrders:
    """An OrderBatch staged by another process into an SQLite database of its own, sent as that
    database's bytes: the writing process opens them (sqlite3's deserialize) and merges them
    without making a Python value of any row, and neither side pickles one. The staged rows
    keep the batch's order (rowid 1 is its first row) and each one's `account_id` is its
    account's position in `accounts`."""

    database: bytes
    rows: int
    duplicates: int
    accounts: list[str]
    notes: dict[tuple[str, str, Source], str | None]
    carried: list[str]
    keys: list[tuple[int, str]] | None  # item-row files: each row's (account position, order id)


@dataclass
class EncodedOrders:
    """An OrderBatch encoded by another process for PostgreSQL's binary COPY (see pgbinary): its
    rows' bytes, each row's first three fields (first and last import id, account id) left at 0
    for the writing process to fill in (`with_ids`), the account id being each row's account's
    (position in `accounts`: `codes`). Neither side makes a Python value of a row."""

    data: np.ndarray  # bytes (see pgbinary.encode)
    starts: np.ndarray  # where each row begins in data
    codes: np.ndarray  # each row's account, as its position in accounts
    rows: int
    duplicates: int
    accounts: list[str]
    notes: dict[tuple[str, str, Source], str | None]
    carried: list[str]

    def with_ids(self, account_ids: np.ndarray, import_id: int) -> np.ndarray:
        """The data with each row's account id and the import's id in its first three fields
        (each field: a 4-byte length, then the value; after the row's 2-byte count of fields),
        put in place where the data may be written to (as it arrives from a reader)."""
        stamp = np.full(self.rows, import_id)
        return pgbinary.put_integers(
            self.data, [(self.starts + 6, stamp), (self.starts + 14, stamp), (self.starts + 22, account_ids)]
        )


def encoded(batch: OrderBatch) -> EncodedOrders | OrderBatch:
    """`batch` encoded for `Store.write_orders` in another process (PostgreSQL, by binary COPY);
    the batch itself when a value is one the binary format does not take."""
    frame = batch.frame
    if frame.empty:
        return EncodedOrders(
            np.zeros(0, dtype=np.uint8),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            0,
            batch.duplicates,
            [],
            {},
            [],
        )
    accounts = batch.accounts
    zeros = np.zeros(len(frame), dtype=np.int64)  # the import's id twice, the account's id: see with_ids
    try:
        data, starts = pgbinary.encode(
            [*(_binary_kind(c) for c in [*_STAMPS, "account_id", *batch.carried])],
            [zeros, zeros, zeros, *(frame[c] for c in batch.carried)],
            len(frame),
        )
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        log.debug("a chunk of orders goes unencoded: a value the binary format does not take")
        return batch
    return EncodedOrders(
        data, starts, accounts.codes, len(frame), batch.duplicates, accounts.values, batch.notes, batch.carried
    )


def _binary_kind(column: str) -> pgbinary.Kind:
    """What pgbinary writes for a column of orders, by the model's type of it."""
    sql_type = Order.__table__.c[column].type
    for kind, types in _MODEL_KINDS:
        if isinstance(sql_type, types):
            return kind
    raise ValueError(f"orders.{column}: no binary form for {sql_type}")


_MODEL_KINDS: list[tuple[pgbinary.Kind, type | tuple[type, ...]]] = [
    ("timestamp", UTCDateTime),
    ("boolean", Boolean),
    ("integer", Integer),
    ("double", Float),
    ("text", String),
]


def binary_ready(session: Session) -> bool:
    """Can encoded orders (see `encoded`) be written through this session? PostgreSQL, in UTF-8
    (a text field's bytes are in the connection's encoding), with orders' columns of the types
    the model gives them (which the migrations made)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql" or db.driver_connection(connection).info.encoding != "utf-8":
        return False
    rows = connection.exec_driver_sql(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
        " WHERE attrelid = 'orders'::regclass AND attnum > 0 AND NOT attisdropped"
    )
    types = {str(name): str(sql_type) for name, sql_type in rows}
    try:
        return all(pgbinary.KINDS.get(types.get(c, "")) == _binary_kind(c) for c in [*_STAMPS, *_UPSERT_COLUMNS])
    except ValueError:
        return False


def staging_elsewhere() -> bool:
    """Can another process stage orders for this one? (SQLite's serialize interface, which a
    build may leave out.)"""
    return hasattr(sqlite3.Connection, "serialize") and hasattr(sqlite3.Connection, "deserialize")


def staged(batch: OrderBatch, item_rows: bool) -> StagedOrders:
    """`batch` staged into a new in-memory SQLite database, for `Store.write_orders` in another process."""
    frame = batch.frame
    if frame.empty:
        return StagedOrders(b"", 0, batch.duplicates, [], {}, [], None)
    accounts = batch.accounts
    frame = frame.drop(columns="account").assign(account_id=accounts.codes)
    columns = [*batch.carried, "account_id"]
    keys = list(zip(accounts.codes.tolist(), frame["order_id"], strict=True)) if item_rows else None
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute(f"CREATE TABLE {STAGE} ({', '.join(_UPSERT_COLUMNS)}, own)")
        _insert_rows(connection.cursor(), STAGE, columns, _values(frame, columns))
        connection.commit()
        database = connection.serialize()
    finally:
        connection.close()
    return StagedOrders(database, len(frame), batch.duplicates, accounts.values, batch.notes, batch.carried, keys)


def _order_notes(frame: pd.DataFrame, accounts: Distinct) -> dict[tuple[str, str, Source], str | None]:
    """Which sources the orders bring for each account (`accounts`: the frame's account keys) and
    marketplace, with their newest data."""
    notes: dict[tuple[str, str, Source], str | None] = {}
    markets = Distinct.of(frame["marketplace"])
    marketplace = markets.map(lambda m: m or "")
    mfn = (frame["fulfillment_channel"] == "MFN").to_numpy()
    # multi-channel orders count nowhere
    counted = counted_orders(Distinct.of(frame["sales_channel"]), markets)
    present = {name: _present(frame[name]) for name in {n for names in ORDER_SOURCES.values() for n in names[:2]}}
    groups: dict[Any, Any]  # (account, marketplace): the rows, as a slice or positions
    if len(accounts.values) == 1 and (marketplace == marketplace[0]).all():  # the common case: one group
        groups = {(accounts.values[0], marketplace[0]): slice(None)}  # a slice takes a view, not a copy
    else:
        groups = frame.groupby([frame["account"], marketplace], sort=False).indices
    for keys, pick in groups.items():
        account, market = cast(tuple[str, str], keys)
        for source, (carried, newest, mfn_only) in ORDER_SOURCES.items():
            rows = present[carried][pick] & counted[pick] & (mfn[pick] if mfn_only else True)
            if not rows.any():
                continue
            times = frame[newest].to_numpy()[pick][rows & present[newest][pick]]
            notes[(str(account), str(market), source)] = db_text(times.max(keepdims=True))[0] if len(times) else None
    return notes


def _present(column: pd.Series) -> np.ndarray:
    """Where a column holds a value, found from what each kind of column keeps: in object
    columns missing is None (see frames.order_frame), found at C speed (pandas' notna looks for
    every kind of missing value, ten times slower); a categorical's code, a timestamp's NaT,
    pyarrow's validity (pandas' notna on each took about 0.1 ms of 20,000 rows, 29 a chunk)."""
    values = column.array
    if column.dtype == object:
        return np.not_equal(column.to_numpy(), cast(Any, None))
    if isinstance(values, pd.Categorical):
        return values.codes >= 0
    if column.dtype == STAMP:
        return ~np.isnat(column.to_numpy())
    if isinstance(values, pd.arrays.ArrowExtensionArray):
        arrow = pa.array(values)
        if not arrow.null_count:
            return np.ones(len(column), dtype=bool)
        return pc.is_valid(arrow).to_numpy(zero_copy_only=False)
    return column.notna().to_numpy()


_UPSERT_COLUMNS = [*STORED_COLUMNS, "account_id"]
_KEYS = ("account_id", "order_id")


STAGE = "order_stage"  # a temporary table: rows are staged there in bulk, then merged in one statement
STAGED_PER_STATEMENT = 500  # values of one INSERT into the staging table (SQLite allows 32,766)


def _stage(cursor, dialect: str, columns: list[str], values: list[list[Any]]) -> None:
    """Put the rows of `values` (one list per column) into the empty staging table, which is made
    on first use in this connection: by COPY on PostgreSQL; on SQLite, by an INSERT of many rows
    at a time into a table without indexes (each statement gives up and takes back the GIL once,
    not once a row)."""
    if dialect == "postgresql":
        _stage_table(cursor)
        _copy(cursor, STAGE, columns, values)
        return
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ({', '.join(_UPSERT_COLUMNS)})")
    _insert_rows(cursor, STAGE, columns, values)


_STAMPS = ["first_import_id", "last_import_id"]


def _stage_table(cursor) -> None:
    """PostgreSQL: the staging table, made on first use in this connection, its columns of orders'
    types (and its import ids, which the merge leaves: encoded rows carry them, see `encoded`)."""
    columns = ", ".join([*_UPSERT_COLUMNS, *_STAMPS])
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} AS SELECT {columns} FROM orders WITH NO DATA")


def _copy_binary(cursor, table: str, columns: list[str], data: np.ndarray) -> None:
    """PostgreSQL: rows encoded by pgbinary into `table`, by a binary COPY."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(data.data)


def _copy(cursor, table: str, columns: list[str], values: list[list[Any]]) -> None:
    """PostgreSQL: the rows of `values` (one list per column) into `table`, by COPY."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in zip(*values, strict=True):
            copy.write_row(row)


def _insert_rows(cursor, table: str, columns: list[str], values: list[list[Any]]) -> None:
    """SQLite: the rows of `values` (one list per column) into `table`, many rows a statement."""
    names = ", ".join(columns)
    width, rows = len(columns), len(values[0])
    flat: list[Any] = [None] * (width * rows)
    for position, column in enumerate(values):  # row after row, as the statements take them
        flat[position::width] = column
    per = max(1, STAGED_PER_STATEMENT // width)
    whole = rows - rows % per
    one = f"({', '.join('?' * width)})"
    if whole:
        step = per * width
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * per)}",
            [flat[start : start + step] for start in range(0, whole * width, step)],
        )
    if whole < rows:
        rest = flat[whole * width :]
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES {one}", [rest[s : s + width] for s in range(0, len(rest), width)]
        )


def merge_sql(
    dialect,
    columns: list[str],
    import_id: int,
    fill_only: tuple[str, ...] = (),
    source: str = STAGE,
    where: str = "true",
    account_ids: list[int] | None = None,
) -> str:
    """INSERT ... SELECT from the staging table (its rows `where`) ... ON CONFLICT, of `columns`:
    it updates only with the values a file carries (a `fill_only` column only where the stored
    order has none), and only rows that actually change (so the statement's row count is
    inserted + changed). With `account_ids`, a staged account_id is a position in that list."""
    distinct = "IS NOT" if dialect.name == "sqlite" else "IS DISTINCT FROM"
    merged = [c for c in columns if c not in _KEYS]
    stamp = int(import_id)  # written into the statement: two values fewer to stage for every row
    selected = list(columns)
    if account_ids is not None:  # mapped as the rows are read: no pass of its own over them
        cases = " ".join(f"WHEN {position} THEN {int(i)}" for position, i in enumerate(account_ids))
        selected[columns.index("account_id")] = f"CASE account_id {cases} END"

    def value(c: str) -> str:
        return f"COALESCE(orders.{c}, excluded.{c})" if c in fill_only else f"COALESCE(excluded.{c}, orders.{c})"

    return (
        f"INSERT INTO orders ({', '.join(columns)}, first_import_id, last_import_id) "
        f"SELECT {', '.join(selected)}, {stamp}, {stamp} FROM {source} WHERE {where} "  # WHERE: SQLite's upsert parse rule
        "ON CONFLICT (account_id, order_id) DO UPDATE SET "
        + "".join(f"{c} = {value(c)}, " for c in merged)
        + "last_import_id = excluded.last_import_id WHERE "
        + " OR ".join(f"{value(c)} {distinct} orders.{c}" for c in merged)
    )


class _Merge:
    """Merges staged rows into orders and counts them into the store's figures."""

    def __init__(
        self,
        store: Store,
        cursor,
        dialect,
        columns: list[str],
        fill_only: tuple[str, ...],
        account_ids: list[int] | None = None,  # staged account_ids are positions in it (see merge_sql)
    ) -> None:
        self.store, self.cursor, self.dialect, self.columns = store, cursor, dialect, columns
        self.fill_only, self.account_ids = fill_only, account_ids
        self.postgres = dialect.name == "postgresql"
        if not self.postgres:  # SQLite: new rows are those after the newest rowid (asked through the driver:
            # SQLAlchemy's compiling of the two statements took 0.5 s of a million-row import)
            cursor.execute("SELECT max(rowid) FROM orders")
            self.last_id = cursor.fetchone()[0] or 0

    def run(self, source: str, where: str, rows: int, counted: bool) -> None:
        """Merge the `rows` staged rows of `source` that are `where`; `counted`: as inserted,
        updated or skipped, else as duplicates (items of orders an earlier chunk wrote)."""
        store, cursor = self.store, self.cursor
        sql = merge_sql(self.dialect, self.columns, store.import_id, self.fill_only, source, where, self.account_ids)
        if self.postgres:  # one row back: how many rows changed, how many of them are new (no count
            # over the whole table afterwards: a scan of millions of rows where its statistics are young)
            cursor.execute(
                f"WITH merged AS ({sql} RETURNING (xmax = 0) AS new) SELECT count(*), count(*) FILTER (WHERE new) FROM merged"
            )
            changes, new = cursor.fetchone() or (0, 0)
        else:
            cursor.execute(sql)  # one statement in the database's own code: no row passes through Python
            changes = cursor.rowcount
        if not counted:
            store.duplicates += rows
            return
        if not self.postgres:
            cursor.execute("SELECT count(*) FROM orders WHERE rowid > ?", (self.last_id,))
            new = cursor.fetchone()[0]
        inserted = int(new)
        changed = max(changes - inserted, 0)
        store.inserted += inserted
        store.updated += changed
        store.skipped += rows - inserted - changed


def _carried(column: pd.Series) -> bool:
    """Does any row hold a value? Most often the first does."""
    if column.dtype == object and len(column) and column.iat[0] is not None:
        return True
    return bool(_present(column).any())


def _values(frame: pd.DataFrame, columns: list[str]) -> list[list[Any]]:
    """The frame's columns as lists of Python values, None for missing (timestamps as the
    database's text)."""
    values = []
    for name in columns:
        column = frame[name]
        if column.dtype == object:  # missing is None already
            values.append(column.to_numpy().tolist())
            continue
        if column.dtype == STAMP:
            values.append(db_text(column).tolist())
            continue
        if isinstance(column.dtype, pd.ArrowDtype):  # pyarrow's text: None where missing
            values.append(pa.array(column).to_pylist())
            continue
        array = column.to_numpy(dtype=object, copy=True)
        array[column.isna().to_numpy()] = None
        values.append(array.tolist())
    return values


def fold_duplicates(frame: pd.DataFrame, item_rows: bool, accounts: Distinct | None = None) -> pd.DataFrame:
    """Rows of one order within a chunk become one: items add up (item-row formats),
    otherwise the latest non-empty value of each field wins. With `accounts` (the frame's
    account keys), a chunk of one account whose order ids are distinct is known to hold no
    such rows by one hash of its ids (20,000 rows: 0.9 ms against 2.3 ms for pandas')."""
    one_account = accounts is not None and len(accounts.values) == 1
    ids = frame["order_id"]
    if one_account and isinstance(ids.dtype, pd.ArrowDtype) and len(pc.unique(pa.array(ids))) == len(frame):
        return frame
    keys = ["account", "order_id"]
    duplicated = frame.duplicated(keys, keep=False)
    if not duplicated.any():
        return frame
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for record in frame[duplicated].to_dict("records"):
        values: dict[str, Any] = {
            str(k): v
            for k, v in record.items()
            if v is not None and not (isinstance(v, float) and v != v) and v is not pd.NA and v is not pd.NaT
        }
        key = (str(record["account"]), str(record["order_id"]))
        if key not in merged:
            merged[key] = values
        elif item_rows:
            _fold(merged[key], values)
        else:
            merged[key].update(values)
    folded = pd.DataFrame(list(merged.values()), columns=frame.columns)
    for name in frame.columns:  # object columns hold None for missing values, as order_frame makes them
        if frame[name].dtype == object:
            folded[name] = folded[name].astype(object).where(folded[name].notna(), None)
        elif frame[name].dtype == STAMP or isinstance(
            frame[name].dtype, (pd.ArrowDtype, pd.CategoricalDtype, pd.BooleanDtype)
        ):  # the folded values are the frame's own: a categorical's are among its categories
            folded[name] = folded[name].astype(frame[name].dtype)
    return pd.concat([frame[~duplicated], folded], ignore_index=True)
