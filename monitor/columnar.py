"""Reading a million rows of SQLite a column at a time.

Python's sqlite3 makes a tuple per row and an object per value, which is most of what loading
an account costs. Here SQLite joins each selected column into one text with `group_concat`,
one aggregate query for all of them, and Python splits each text once: the same values as
the rows would have given (text as str, integers as int, NULL as None). A column of few
distinct values (a marketplace, a status, the flags) is split by pyarrow, and each distinct
value is one object that every row points at: half a million orders of one marketplace do not
make half a million copies of its name (about 60 bytes each, and a page fault in every 70).
A timestamp column comes over as bytes, each value followed by a line break, which pyarrow
parses as they came, to what numpy makes of the same strings (its texts where they are not all
in the stored form). SQLite runs the query with Python's lock let go throughout, where
fetching rows takes and lets go of it for every row: a load in a thread (health.OneAhead)
overlaps with the work on another account only this way.

Each column's values are joined with the unit separator (U+001F; a timestamp column's, with
line breaks) and NULL becomes an empty text, so a value is told apart from NULL by counting:
`count(column)` says how many are not NULL, and when the empty texts are more than the NULLs,
some empty texts were stored, and the column cannot be read this way (`_empty_is_null`).
Counting costs a second read of the column per row, so two are not counted: a timestamp column
parsed as stored timestamps (an empty text and NULL both are NaT there, as numpy reads them;
counted only when it falls back to its texts) and an expression that is never NULL (the flags).
`read` answers None whenever the answer could differ from the rows' in any way, and the caller
reads rows instead:

- a value containing the separator, or a line break in a timestamp column (the pieces do not
  number the rows);
- an empty text stored beside NULLs (as above);
- a number in a column read as text (`min` sorts numbers before texts), or anything but an
  integer in a column read as integers (a real's text would not round-trip);
- a column too long for one SQLite text (SQLITE_MAX_LENGTH), or text that is not UTF-8.

A BLOB in a text column (nothing here writes one) would read as its text.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

SEPARATOR = "\x1f"
_INTEGER = re.compile(r"-?[0-9]+")
SCAN_CACHE_KIB = -2000  # SQLite's default page cache (2,000 KiB), for the length of a scan (see read)
NUMBERS = ("integer", "real")  # what SQLite's typeof says of a number


class Kind(Enum):
    TEXT = "text"  # a TEXT column: str or None
    STORED_TEXT = "stored text"  # text in a column of numeric affinity (SQLite's DATETIME): str or None
    # a TEXT column of few distinct values (a marketplace, a status): str or None, each distinct
    # value one object, split and told apart by pyarrow with Python's lock let go
    LABEL = "label"
    INTEGER = "integer"  # an INTEGER or BOOLEAN column, or an integer expression: int or None (as LABEL)
    # a timestamp stored as text ("2026-11-20 14:02:11.000000"): parsed by pyarrow, as datetime64[us]
    # (NaT where missing), when every value has that form; else its texts, as STORED_TEXT
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Column:
    sql: str  # a column or an expression over the row
    name: str
    kind: Kind
    # False for an expression that is never NULL (the flags): not counted, a second evaluation per
    # row; an INTEGER column that held a NULL all the same would decline (its empty text is no integer)
    nullable: bool = True


def read(connection: sqlite3.Connection, source: str, columns: Sequence[Column]) -> pd.DataFrame | None:
    """The rows of `SELECT <columns> <source>` (source: `FROM ... WHERE ...`, no ORDER BY) as a
    DataFrame of object columns, exactly as fetching the rows would give them (TIMESTAMP columns
    parsed, where they can be); None where it could differ (see the module docstring)."""
    if not columns:
        return None
    select = ["count(*)"]
    for column in columns:
        if column.kind is Kind.TIMESTAMP:
            # bytes, a value a line: what pyarrow's reader takes as it is. The separator a literal:
            # an expression there (char(10)) is evaluated for every row, 0.15 s of 0.5 s an account
            select.append(f"CAST(group_concat(coalesce({column.sql}, ''), '\n') || '\n' AS BLOB)")
            continue  # not counted: asked only when the values are not all stored timestamps
        select.append(f"group_concat(coalesce({column.sql}, ''), '{SEPARATOR}')")
        if column.nullable:
            select.append(f"count({column.sql})")
        if column.kind is Kind.STORED_TEXT:
            select.append(f"typeof(min({column.sql}))")  # numbers sort first
    cursor = connection.cursor()
    try:
        # one pass over the rows reads each page once: a page cache bigger than SQLite's default
        # only costs (metrics_bench's accounts, first run in a process, alternated: 2.92 to 3.17 s
        # against 3.19 to 3.37 s with the connections' 64 MB)
        (cache,) = cursor.execute("PRAGMA cache_size").fetchone()
        cursor.execute(f"PRAGMA cache_size={SCAN_CACHE_KIB}")
        try:
            row = cursor.execute(f"SELECT {', '.join(select)} {source}").fetchone()
        finally:
            cursor.execute(f"PRAGMA cache_size={int(cache)}")
    except (sqlite3.DataError, sqlite3.OperationalError):  # too long for one text, or not UTF-8
        return None
    finally:
        cursor.close()
    rows, at, out = int(row[0]), 1, {}
    for column in columns:
        joined, at = row[at], at + 1
        if column.kind is Kind.TIMESTAMP:
            # parsed, every value was a stored timestamp, which no number's text is; else their
            # texts, unless one is a number (asked only then: a scan of its own)
            stamps = _timestamps(joined, rows)
            if stamps is None:
                present, number = _count_and_least_type(connection, source, column)
                stamps = None if number else _split_lines(joined, rows, present)
            if stamps is None:
                return None
            out[column.name] = stamps
            continue
        present = rows
        if column.nullable:
            present, at = int(row[at]), at + 1
        if column.kind is Kind.STORED_TEXT:
            if row[at] in NUMBERS:
                return None
            at += 1
        if column.kind in (Kind.LABEL, Kind.INTEGER):
            values = _labels(joined, rows, present, column.kind is Kind.INTEGER)
        else:
            values = _split(joined, rows, present)
        if values is None:
            return None
        out[column.name] = values
    if not rows:
        return _empty(columns)
    return pd.DataFrame({name: pd.Series(values, dtype=values.dtype, copy=False) for name, values in out.items()})


def _count_and_least_type(connection: sqlite3.Connection, source: str, column: Column) -> tuple[int, bool]:
    """How many of a column's values are not NULL, and whether one is a number (they sort first)."""
    present, least = connection.execute(f"SELECT count({column.sql}), typeof(min({column.sql})) {source}").fetchone()
    return int(present), least in NUMBERS


def _split_lines(joined: bytes | None, rows: int, present: int) -> np.ndarray | None:
    """_split of a column read as lines of UTF-8 (each value followed by a line break)."""
    if rows == 0:
        return np.empty(0, dtype=object)
    try:
        lines = (joined or b"").decode().split("\n")
    except UnicodeDecodeError:
        return None
    return _objects(lines[:-1], rows, present)  # the last is empty: after the last line break


def _split(joined: str | None, rows: int, present: int) -> np.ndarray | None:
    """One column's values as objects, NULL as None; None if that cannot be told exactly."""
    if rows == 0:
        return np.empty(0, dtype=object)
    return _objects((joined or "").split(SEPARATOR), rows, present)


def _objects(texts: list[str], rows: int, present: int) -> np.ndarray | None:
    """A column's values from its texts, the empty text as NULL when there are as many as NULLs;
    None if the texts do not number the rows, or which empty text is NULL cannot be told."""
    pieces = np.array(texts, dtype=object)
    if len(pieces) != rows:
        return None
    if present < rows:
        empty = pieces == ""
        if not _empty_is_null(int(empty.sum()), rows, present):
            return None
        pieces[empty] = None
    return pieces


def _empty_is_null(empties: int, rows: int, present: int) -> bool:
    """Can the empty texts of a column be read as its NULLs? Only when they are exactly as many:
    one more, and some empty text was stored beside them, and which is which cannot be told."""
    return empties == rows - present


STAMP_LENGTH = len("2026-11-20 14:02:11.000000")


def _timestamps(joined: bytes | None, rows: int) -> np.ndarray | None:
    """A column of stored timestamps parsed by pyarrow straight from SQLite's lines, as
    datetime64[us] with NaT where missing (NULL or empty, as numpy reads them); None unless every
    value is in the stored form. Six columns of 500,000 take 0.14 s, against 0.65 s to split them
    into strings and have numpy read those; the bytes are read as they came, not copied."""
    if not rows or not joined:
        return None
    try:
        table = csv.read_csv(
            pa.BufferReader(joined),
            read_options=csv.ReadOptions(column_names=["at"]),
            parse_options=csv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=csv.ConvertOptions(
                column_types={"at": pa.string()}, null_values=[""], strings_can_be_null=True
            ),
        )
        texts = table.column(0)
        if len(texts) != rows:  # a line break inside a value
            return None
        lengths = pc.min_max(pc.binary_length(texts))
        if texts.null_count < rows and not (lengths["min"].as_py() == lengths["max"].as_py() == STAMP_LENGTH):
            return None
        parsed = pc.cast(texts, pa.timestamp("us"))  # the date and time, with " " or "T": as numpy reads them
    except (pa.ArrowInvalid, ValueError):  # another form, an offset, an impossible date: numpy's way
        return None
    return np.asarray(parsed.to_numpy(zero_copy_only=False), dtype="datetime64[us]")


def _labels(joined: str | None, rows: int, present: int, integers: bool) -> np.ndarray | None:
    """A column of few distinct values as objects, one per distinct value (ints where `integers`),
    NULL as None; None if that cannot be told exactly. pyarrow splits the text and finds the
    distinct values: no Python object per row until the last step, which only points at them."""
    if rows == 0:
        return np.empty(0, dtype=object)
    pieces = pc.split_pattern(pa.array([joined or ""], pa.large_string()), SEPARATOR).flatten()
    if len(pieces) != rows:
        return None
    encoded = pieces.dictionary_encode()
    distinct: list[Any] = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    if present < rows:
        empty = distinct.index("") if "" in distinct else -1
        if empty < 0 or not _empty_is_null(int(np.count_nonzero(codes == empty)), rows, present):
            return None
        distinct[empty] = None
    if integers:
        for position, text in enumerate(distinct):
            if text is not None:
                if not _INTEGER.fullmatch(text):
                    return None
                distinct[position] = int(text)
    table = np.empty(len(distinct), dtype=object)
    table[:] = distinct
    return table[codes]


def _empty(columns: Sequence[Column]) -> pd.DataFrame:
    return pd.DataFrame({column.name: np.empty(0, dtype=object) for column in columns}, dtype=object)
