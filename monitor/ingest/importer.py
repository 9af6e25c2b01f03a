"""Importing one report file: detect, read in chunks, upsert, quarantine, record in the ledger.

A file is imported in one transaction: it lands whole (good rows stored, bad
rows quarantined) or, when it cannot be read at all, not at all, with a
`rejected` entry in the ledger saying why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, AnyStr

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from monitor.config import Settings
from monitor.domain import Source
from monitor.errors import FileRejected, MonitorError, UsageError
from monitor.gcpause import gc_paused
from monitor.ingest import formats, performance
from monitor.ingest.feedback import apply_snapshot
from monitor.ingest.frames import Zones, order_frame
from monitor.ingest.reader import WHOLE, Chunk, ColumnChunk, DelimitedFile, FileFacts, Share, inspect_file
from monitor.ingest.records import RowError
from monitor.ingest.store import (
    EncodedOrders,
    OrderBatch,
    StagedOrders,
    Store,
    binary_ready,
    encoded,
    order_batch,
    staged,
    staging_elsewhere,
)
from monitor.ingest.worker import can_fork, in_turn
from monitor.models import ImportRecord, QuarantinedRow
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)
QUARANTINE_RAW_CHARS = 4096  # of a bad row's text kept in the quarantine; the rest is counted
READERS = 2  # forked readers of a big order file (see _made_ahead)
# their chunks are IMPORT_CHUNK_ROWS divided by this, by database (see _made_ahead)
READER_CHUNK_PARTS = {"sqlite": 4, "postgresql": 1}
_LOCAL_PART = re.compile(r"[\w.+-]+")  # matched on the reversed text before an "@"
_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+")


def scrub_emails(text: str) -> str:
    """E-mail addresses replaced, in time linear in the text (a regular expression searched from
    every position of a long run of letters is quadratic: minutes on a 1 MB field)."""
    if "@" not in text:
        return text
    pieces = text.split("@")
    done: list[str] = []
    current = pieces[0]
    for piece in pieces[1:]:
        local = _LOCAL_PART.match(current[::-1])
        domain = _DOMAIN.match(piece)
        if local and domain:
            done += [current[: len(current) - local.end()], "[e-mail removed]"]
            current = piece[domain.end() :]
        else:
            done += [current, "@"]
            current = piece
    return "".join([*done, current])


def capped(text: str) -> str:
    """A bad row's text as the quarantine keeps it: at most QUARANTINE_RAW_CHARS characters."""
    if len(text) <= QUARANTINE_RAW_CHARS:
        return text
    return f"{text[:QUARANTINE_RAW_CHARS]}... [{len(text) - QUARANTINE_RAW_CHARS} more characters]"


@dataclass(frozen=True)
class ReportContext:
    """What a report's source knows beyond the file: the period a feedback report was asked for,
    and when Amazon created a performance report."""

    period: tuple[datetime, datetime] | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ImportResult:
    """What importing one file did."""

    file: str
    status: str  # ok, partial (some rows quarantined), duplicate, rejected
    format: str | None = None
    encoding: str | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    error: str | None = None
    import_id: int | None = None
    skipped: int = 0  # rows that changed nothing: the database already said the same
    duplicates: int = 0  # rows folded into another row of the same file (an order's item rows)

    @property
    def failed(self) -> bool:
        """Rejected, or every row read was quarantined: nothing of the file is in."""
        return self.status == "rejected" or (self.quarantined > 0 and self.quarantined == self.rows_read)

    @property
    def changed(self) -> bool:
        return self.status in ("ok", "partial") and bool(self.inserted or self.updated)


def import_file(
    sessions: sessionmaker[Session],
    path: Path,
    settings: Settings,
    account: str | None = None,
    forced_format: str | None = None,
    mapping: formats.MappedFormat | None = None,
    context: ReportContext | None = None,
    force: bool = False,
) -> ImportResult:
    """Import one file; never raises for a bad file, returns a `rejected` result instead.

    The same content imported before for the same account is a duplicate, unless `force`: then
    it is applied again, with a ledger row of its own (after a mapping was fixed, say).

    Every file ends ok, partial (bad rows quarantined) or rejected (nothing stored), with a
    ledger row and a one-line reason; a file already imported (same content) is a duplicate of
    that import. Only the database failing raises (MonitorError): the file is not at fault."""
    name = str(path)
    try:
        facts = inspect_file(path)
    except OSError as exc:
        return _record_rejection(
            sessions, name, "", forced_format, None, account, f"cannot read the file: {exc.strerror or exc}"
        )
    if facts.problem:
        return _record_rejection(sessions, name, facts.sha256, forced_format, None, account, facts.problem)
    with sessions() as session:
        done = session.scalar(
            select(ImportRecord)
            .where(
                ImportRecord.sha256 == facts.sha256,
                ImportRecord.status.in_(("ok", "partial")),
                ImportRecord.account_key.is_(None) if account is None else ImportRecord.account_key == account,
            )
            .limit(1)
        )
    if done is not None and not force:
        return ImportResult(name, "duplicate", done.format, facts.encoding, error=None, import_id=done.id)
    try:
        with gc_paused(), sessions.begin() as session:
            return _import(session, path, facts, settings, account, forced_format, mapping, context or ReportContext())
    except FileRejected as exc:
        return _record_rejection(sessions, name, facts.sha256, forced_format, facts.encoding, account, str(exc))
    except (OSError, UnicodeError) as exc:
        return _record_rejection(
            sessions, name, facts.sha256, forced_format, facts.encoding, account, f"cannot read the file: {exc}"
        )
    except UsageError:
        raise
    except OperationalError as exc:  # the database is down, locked or full: not the file's fault
        raise MonitorError(f"database error while importing {name}: {_first_line(getattr(exc, 'orig', exc))}") from None
    except Exception as exc:  # noqa: BLE001 (a file must never stop the files after it)
        log.debug("importing %s failed", name, exc_info=True)
        return _record_rejection(
            sessions,
            name,
            facts.sha256,
            forced_format,
            facts.encoding,
            account,
            f"internal error: {type(exc).__name__}: {_first_line(exc)}",
        )


def _first_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else "")[:300]


def _import(
    session: Session,
    path: Path,
    facts: FileFacts,
    settings: Settings,
    account: str | None,
    forced_format: str | None,
    mapping: formats.MappedFormat | None,
    context: ReportContext,
) -> ImportResult:
    db.without_foreign_key_checks(session)  # the keys written are the ledger's and looked-up accounts'
    ledger = ImportRecord(
        file_name=path.name[:500],
        sha256=facts.sha256,
        encoding=facts.encoding,
        account_key=account,
        rows_read=0,
        inserted=0,
        updated=0,
        quarantined=0,
        skipped=0,
        duplicates=0,
        status="running",
        started_at=utcnow(),
    )
    session.add(ledger)
    session.flush()
    store = Store(session, ledger.id, account or settings.default_account)
    if facts.looks_like_json and forced_format in (None, formats.PERFORMANCE) and mapping is None:
        entries, bad, ledger.format = performance.import_report(
            session, path, facts.encoding, store, context.created_at
        )
        ledger.rows_read = entries
        _quarantine_texts(session, ledger, bad, False)
    else:
        adapter = _import_rows(session, path, facts, settings, store, ledger, forced_format, mapping)
        _finish_records(session, store, adapter, context)
    store.flush_sources(utcnow())
    ledger.inserted, ledger.updated = store.inserted, store.updated
    ledger.skipped, ledger.duplicates = store.skipped, store.duplicates
    accounted = ledger.inserted + ledger.updated + ledger.quarantined + ledger.skipped + ledger.duplicates
    if accounted != ledger.rows_read:  # never silent: the whole file is refused instead
        raise RuntimeError(
            f"{ledger.rows_read} rows read but {accounted} accounted for (inserted {ledger.inserted}, updated "
            f"{ledger.updated}, quarantined {ledger.quarantined}, skipped {ledger.skipped}, duplicates "
            f"{ledger.duplicates})"
        )
    ledger.status = "partial" if ledger.quarantined else "ok"
    ledger.finished_at = utcnow()
    # a changed account's snapshots are refreshed after the commit; until then this stays empty
    ledger.refreshed_at = None if (ledger.inserted or ledger.updated) else ledger.finished_at
    log.info(
        "imported %s as %s: %d rows, %d inserted, %d updated, %d quarantined",
        path.name,
        ledger.format,
        ledger.rows_read,
        ledger.inserted,
        ledger.updated,
        ledger.quarantined,
    )
    return ImportResult(
        str(path),
        ledger.status,
        ledger.format,
        facts.encoding,
        ledger.rows_read,
        ledger.inserted,
        ledger.updated,
        ledger.quarantined,
        None,
        ledger.id,
        ledger.skipped,
        ledger.duplicates,
    )


def _import_rows(
    session: Session,
    path: Path,
    facts: FileFacts,
    settings: Settings,
    store: Store,
    ledger: ImportRecord,
    forced_format: str | None,
    mapping: formats.MappedFormat | None,
) -> formats.Adapter:
    table = DelimitedFile(path, facts.encoding, lines=facts.lines)
    if mapping is not None:
        mapping.check_header(table.header)
        adapter: formats.Adapter = mapping
    else:
        adapter = formats.choose(table.header, formats.adapters(settings), forced_format)
    ledger.format = adapter.name
    ledger.header, ledger.delimiter = table.delimiter.join(table.header)[:20_000], table.delimiter
    header = formats.unique_header(table.header, adapter)
    width = len(header)
    zones = Zones(settings.default_marketplace, settings.marketplace_timezones)

    def split(chunk: Chunk | ColumnChunk) -> _Split:
        bad = set(chunk.errors)
        if chunk.columns is None:  # a column chunk's rows all have the header's width
            lengths = list(map(len, chunk.fields))
            if lengths.count(width) < len(lengths):
                bad.update(i for i, length in enumerate(lengths) if length != width)
        good = [i for i in range(len(chunk)) if i not in bad] if bad else list(range(len(chunk)))
        reasons = {i: chunk.errors.get(i) or f"has {len(chunk.fields[i])} fields, the header has {width}" for i in bad}
        if not adapter.orders:
            return _Split(chunk, good, reasons)
        return _prepare_orders(adapter, header, chunk, good, reasons, table.delimiter, zones, store.default_account)

    def parts(rows: int, share: Share = WHOLE) -> Iterator[_Split]:
        return map(split, table.chunks(rows, share))

    for part in _made_ahead(parts, session, adapter, facts, settings):
        ledger.rows_read += len(part.chunk)
        if part.orders is not None:
            store.skipped += part.filtered_out
            store.write_orders(part.orders, adapter.item_rows, adapter.fill_only)
        elif not adapter.orders:
            assert not isinstance(part.chunk, _BadRows)  # only converted orders come from another process
            _records_chunk(store, adapter, header, part.chunk, part.good, part.reasons)
        _quarantine(session, ledger, part.chunk, part.reasons, adapter.private)
        del part  # let go before the next is waited for: no chunk outlives its writing
    return adapter


def _made_ahead(
    parts: Callable[[int, Share], Iterator[_Split]],
    session: Session,
    adapter: formats.Adapter,
    facts: FileFacts,
    settings: Settings,
) -> Iterator[_Split]:
    """The chunks of `parts(rows, share)`, each read and converted while the one before is
    written. A big order file is read, converted and staged by READERS forked processes, each
    taking every READERS-th chunk (see worker.in_turn): a reader sends its chunk's orders staged
    in an SQLite database of its own (see store.staged), or, for PostgreSQL, as binary COPY data
    (see store.encoded), which this process writes without a Python value made of any row, and,
    of the rows themselves, only the bad ones. Other files on PostgreSQL, which writes in its own
    process, are read ahead by a thread; on SQLite, which binds its values holding Python's
    lock, in this thread. The readers' chunks are a part of the setting (READER_CHUNK_PARTS), so
    that the three processes together hold about what one process did: on SQLite a quarter (a
    third measured 20 to 40 MB more, for 6 % less time); on PostgreSQL, where this process holds
    only the bytes a reader sent, the whole setting (a million rows: 4.37 and 4.82 s and the PSS
    summed 329 and 337 MB, against 4.88 and 5.16 s and 272 and 273 MB in halves, and 303 MB in
    one process; in quarters, before the readers parsed in their own thread and joined each row's
    fields, 5.93 to 6.03 s)."""
    rows = settings.import_chunk_rows
    big = adapter.orders and facts.size >= settings.import_worker_min_mb * 1e6 and can_fork()
    stage: Callable[[OrderBatch], StagedOrders | EncodedOrders | OrderBatch]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        if not (big and not adapter.item_rows and binary_ready(session)):
            return _read_ahead(parts(rows, WHOLE))
        stage = encoded
    # the readers need fork (Linux) and an SQLite built with its serialize interface (Debian's is)
    elif big and staging_elsewhere():
        stage = partial(staged, item_rows=adapter.item_rows)
    else:
        return parts(rows, WHOLE)
    size = max(1, rows // READER_CHUNK_PARTS[dialect])
    return in_turn(
        [partial(_for_the_writer, parts, size, Share(turn, READERS), stage) for turn in range(READERS)],
        name="import-reader",
    )


def _for_the_writer(
    parts: Callable[[int, Share], Iterator[_Split]],
    rows: int,
    share: Share,
    stage: Callable[[OrderBatch], StagedOrders | EncodedOrders | OrderBatch],
) -> Iterator[_Split]:
    """A reader's share of converted chunks with only what writing them needs: the orders staged
    (or encoded) by `stage`, the rows' text left behind but for the bad ones', which go to the
    quarantine."""
    # what pyarrow frees goes back to the C library's allocator: its default one (mimalloc) keeps
    # about 20 MB more in each reader; and pyarrow works in this thread alone, the readers being
    # the parallelism (its threads' own allocator arenas kept 15 to 40 MB more, for no speed)
    pa.set_memory_pool(pa.system_memory_pool())
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    for part in parts(rows, share):
        bad = {i: (part.chunk.line_numbers[i], part.chunk.raw(i)) for i in part.reasons}
        written, orders = _Split(_BadRows(len(part.chunk), bad), [], part.reasons, None, part.filtered_out), part.orders
        del part  # the chunk's text and columns go before its orders are staged
        assert isinstance(orders, OrderBatch)  # only order files have readers
        written.orders = stage(orders)
        del orders  # and its frame before the next chunk is made, while this one waits to be sent
        yield written


class _BadRows:
    """A chunk as a converted one is written: its size, and its bad rows' line numbers and text."""

    def __init__(self, size: int, bad: dict[int, tuple[int, str]]) -> None:
        self._size = size
        self.line_numbers = {i: line for i, (line, _) in bad.items()}
        self._raws = {i: raw for i, (_, raw) in bad.items()}

    def __len__(self) -> int:
        return self._size

    def raw(self, index: int) -> str:
        return self._raws[index]


def _read_ahead(parts: Iterator[_Split]) -> Iterator[_Split]:
    """`parts`, each made (read and converted, which touches no database) in a thread while the
    one before is written: two chunks in memory at most, the one being written
    and the next. PostgreSQL's import of 1,000,000 rows took 16 % less time for 58 MB more
    (25.3 to 25.8 s against 29.8 to 31.2 s); on SQLite, whose writes hold the interpreter's lock
    while they bind, it gained 5 % for 44 MB more, and with 1,800-row INSERTs 13 % (11.9 to 12.3 s
    against 13.8 to 14.3 s) for a peak of 412 MB, over its memory target: not used there."""
    with ThreadPoolExecutor(1, thread_name_prefix="import-read") as pool:
        future = pool.submit(next, parts, None)
        while (part := future.result()) is not None:
            future = pool.submit(next, parts, None)
            yield part
            del part  # before the next one is waited for


@dataclass
class _Split:
    """A chunk's rows sorted: the good ones, the bad ones with their reasons, and (for an order
    file) the good ones converted into storable orders."""

    chunk: Chunk | ColumnChunk | _BadRows
    good: list[int]
    reasons: dict[int, str]
    orders: OrderBatch | StagedOrders | EncodedOrders | None = None
    filtered_out: int = 0  # rows a mapping's filter left out (counted as skipped)


def _finish_records(session: Session, store: Store, adapter: formats.Adapter, context: ReportContext) -> None:
    """A report of feedback or defects says something even when it lists nothing (an empty
    feedback report: no feedback in its period), and a feedback report replaces its period."""
    source = {"amazon-feedback": Source.FEEDBACK, "defects": Source.CLAIMS}.get(adapter.name)
    if isinstance(adapter, formats.MappedFormat) and adapter.target == "defects":
        source = Source.CLAIMS
    if source is not None:
        store.note(store.account_id(None), "", source, None)
    if adapter.name == "amazon-feedback":
        apply_snapshot(session, store.import_id, store.feedback_seen, context.period)


_SPACES = (" ", "\t", "\xa0", "\f", "\v")  # what a field may be padded with


def _padded(chunk: Chunk | ColumnChunk, delimiter: str) -> bool:
    """Does any field start or end with white space? Substring searches over the chunk's text
    (no copy of it made where none is needed: a file without white space costs a scan a space).
    A chunk split by pyarrow whose lines are ASCII is searched in its bytes, not decoded (a
    20,000-line chunk: about 0.4 ms against 3 ms)."""
    if isinstance(chunk, ColumnChunk) and (data := chunk.data).isascii() and delimiter.isascii():
        ascii_spaces = [space.encode() for space in _SPACES if space.isascii() and space != delimiter]
        return _edged(data, delimiter.encode(), ascii_spaces, b"\r\n", b"\n")
    return _edged(chunk.text, delimiter, [space for space in _SPACES if space != delimiter], "\r\n", "\n")


def _edged(text: AnyStr, delimiter: AnyStr, spaces: list[AnyStr], crlf: AnyStr, lf: AnyStr) -> bool:
    """Does one of `spaces` begin or end `text`, or touch a delimiter or a line end in it?"""
    if crlf[:1] in text:
        text = text.replace(crlf, lf)
    return any(
        text.startswith(space) or text.endswith(space) or edge + space in text or space + edge in text
        for space in spaces
        if space in text
        for edge in (delimiter, lf)
    )


def _prepare_orders(
    adapter: formats.Adapter,
    header: list[str],
    chunk: Chunk | ColumnChunk,
    good: list[int],
    reasons: dict[int, str],
    delimiter: str,
    zones: Zones,
    default_account: str,
) -> _Split:
    """Convert a chunk's good rows into orders ready to write (`default_account` for rows that
    name none); rows that cannot be get their reasons. Touches no database, so it can run in
    another process."""
    if not good:
        return _Split(chunk, good, reasons, order_batch(pd.DataFrame(), adapter.item_rows, default_account))
    frame = _frame(chunk, header, good, _padded(chunk, delimiter), adapter.arrow_columns)
    wanted = adapter.keep(frame) if adapter.filtering else np.ones(len(frame), dtype=bool)
    filtered_out = 0
    if not wanted.all():  # a mapping's [filter]: the rows of other shops, a totals row
        filtered_out = int((~wanted).sum())
        good = [i for i, keep in zip(good, wanted, strict=True) if keep]
        frame = frame[wanted].reset_index(drop=True)
    canonical, early = adapter.canonical_orders(frame)
    orders, late = order_frame(canonical.drop(index=list(early)) if early else canonical, zones)
    kept = [p for p in range(len(good)) if p not in early]
    reasons.update({good[p]: reason for p, reason in early.items()})
    reasons.update({good[kept[p]]: reason for p, reason in late.items()})
    return _Split(chunk, good, reasons, order_batch(orders, adapter.item_rows, default_account), filtered_out)


def _frame(chunk: Chunk | ColumnChunk, header: list[str], good: list[int], padded: bool, arrow: bool) -> pd.DataFrame:
    """The good rows of a chunk as a frame of text columns, stripped when a field is padded:
    held by pyarrow (pandas' ArrowDtype) for a format that takes them so (`arrow`, see
    Adapter.arrow_columns), else as Python strings."""
    columns: list[pa.Array] | list[np.ndarray]
    if chunk.columns is not None:
        split = chunk.columns if len(good) == len(chunk) else [c.take(pa.array(good)) for c in chunk.columns]
        columns = [np.array([f.strip() for f in c.to_pylist()], dtype=object) for c in split] if padded else split
    else:
        rows = [chunk.fields[i] for i in good] if len(good) < len(chunk) else chunk.fields
        if padded:
            rows = [[field.strip() for field in row] for row in rows]
        table = np.array(rows, dtype=object)  # rows of equal width: a 2-D array, its columns cheap to take
        columns = [table[:, i] for i in range(len(header))]
    return pd.DataFrame({name: _text(column, arrow) for name, column in zip(header, columns, strict=True)}, copy=False)


def _text(column: pa.Array | np.ndarray, arrow: bool) -> pd.api.extensions.ExtensionArray | pd.Series:
    """A column of text for a frame: pyarrow's (`arrow`) or Python strings (object, never
    pandas' inferred string dtype, whose every isna() loops in Python)."""
    if arrow:
        strings = column if isinstance(column, pa.Array) else pa.array(column, pa.string())
        return pd.arrays.ArrowExtensionArray(strings)
    values = column.to_numpy(zero_copy_only=False) if isinstance(column, pa.Array) else column
    return pd.Series(values, dtype=object, copy=False)


def _records_chunk(
    store: Store,
    adapter: formats.Adapter,
    header: list[str],
    chunk: Chunk | ColumnChunk,
    good: list[int],
    reasons: dict[int, str],
) -> None:
    batches: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    if good and adapter.filtering:
        frame = pd.DataFrame([chunk.fields[i] for i in good], columns=header, dtype=object)
        kept = adapter.keep(frame)
        store.skipped += int((~kept).sum())
        good = [i for i, keep in zip(good, kept, strict=True) if keep]
    for i in good:
        try:
            converted = adapter.convert(dict(zip(header, chunk.fields[i], strict=True)))
        except RowError as exc:
            reasons[i] = str(exc)
            continue
        for position, (kind, record) in enumerate(converted):  # the first record stands for the row
            batches.setdefault((kind, position == 0), []).append(record)
    for (kind, counted), batch in sorted(batches.items(), key=lambda item: not item[0][1]):
        store.write(kind, batch, counted)


def _quarantine(
    session: Session,
    ledger: ImportRecord,
    chunk: Chunk | ColumnChunk | _BadRows,
    reasons: dict[int, str],
    private: bool,
) -> None:
    _quarantine_texts(
        session, ledger, [(chunk.line_numbers[i], reasons[i], chunk.raw(i)) for i in sorted(reasons)], private
    )


def _quarantine_texts(session: Session, ledger: ImportRecord, bad: list[tuple[int, str, str]], private: bool) -> None:
    """Keep bad rows (line number, reason, text): the text capped, e-mail addresses scrubbed
    from a report that holds personal data."""
    if not bad:
        return
    rows = [
        {
            "import_id": ledger.id,
            "line_number": line,
            "reason": reason[:1000],
            "raw": capped(scrub_emails(raw) if private else raw),
        }
        for line, reason, raw in bad
    ]
    session.execute(insert(QuarantinedRow), rows)
    ledger.quarantined += len(rows)


def _record_rejection(
    sessions: sessionmaker[Session],
    name: str,
    sha256: str,
    fmt: str | None,
    encoding: str | None,
    account: str | None,
    reason: str,
) -> ImportResult:
    now = utcnow()
    reason = " ".join(reason.split())[:1000]  # one line
    with sessions.begin() as session:
        ledger = ImportRecord(
            file_name=Path(name).name[:500],
            sha256=sha256,
            format=fmt,
            encoding=encoding,
            account_key=account,
            rows_read=0,
            inserted=0,
            updated=0,
            quarantined=0,
            status="rejected",
            error=reason,
            started_at=now,
            finished_at=now,
            skipped=0,
            duplicates=0,
            refreshed_at=now,
        )
        session.add(ledger)
        session.flush()
        ledger_id = ledger.id
    log.info("rejected %s: %s", name, reason)  # the caller shows the reason: one line, not two
    return ImportResult(name, "rejected", fmt, encoding, error=reason, import_id=ledger_id)
