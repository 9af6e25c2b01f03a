"""PostgreSQL's binary COPY, made by numpy (monitor.ingest.pgbinary): what PostgreSQL stores from
it is exactly what it stores from psycopg's own text COPY of the same values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from monitor.ingest import pgbinary
from tests.conftest import POSTGRES_URL, skip_without_postgres

pytestmark = pytest.mark.postgres

COLUMNS = {  # name: (PostgreSQL type, the kind pgbinary writes)
    "t": ("varchar(100)", "text"),
    "u": ("text", "text"),
    "ts": ("timestamp", "timestamp"),
    "b": ("boolean", "boolean"),
    "i": ("integer", "integer"),
    "big": ("bigint", "bigint"),
    "f": ("double precision", "double"),
    "c": ("varchar(10)", "text"),  # a categorical (an order frame's few-valued columns)
}


@pytest.fixture(scope="module")
def cursor() -> Iterator:
    skip_without_postgres()
    import psycopg

    with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")) as connection:
        cur = connection.cursor()
        for table in ("by_text", "by_binary"):
            columns = ", ".join(f"{name} {sql_type}" for name, (sql_type, _) in COLUMNS.items())
            cur.execute(f"CREATE TEMP TABLE {table} (n integer, {columns})")
        yield cur


def _stored(cursor, rows: int, columns: dict[str, pd.Series | np.ndarray]) -> tuple[list, list]:
    """The rows stored from a text COPY of the values (psycopg's write_row) and from pgbinary's."""
    names = ["n", *COLUMNS]
    values = {"n": np.arange(rows), **columns}
    cursor.execute("TRUNCATE by_text, by_binary")
    with cursor.copy(f"COPY by_text ({', '.join(names)}) FROM STDIN") as copy:
        for n in range(rows):
            copy.write_row([_python(values[name], n) for name in names])
    data, starts = pgbinary.encode(["integer", *(kind for _, kind in COLUMNS.values())], list(values.values()), rows)
    with cursor.copy(f"COPY by_binary ({', '.join(names)}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(memoryview(data))
    assert len(starts) == rows and all(data[s : s + 2].tobytes() == len(names).to_bytes(2, "big") for s in starts)
    found = []
    for table in ("by_text", "by_binary"):
        cursor.execute(f"SELECT * FROM {table} ORDER BY n")
        found.append(cursor.fetchall())
    return found[0], found[1]


def _python(column: pd.Series | np.ndarray, n: int):
    value = column.iloc[n] if isinstance(column, pd.Series) else column[n]
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def test_every_kind_with_nulls_empty_text_and_edges(cursor) -> None:
    texts = np.array(
        ["plain", "", None, "Café \u65e5\u672c", 'tab\tquote"back\\slash\nline', "\\N", "NULL"], dtype=object
    )
    rows = len(texts)
    by_text, by_binary = _stored(
        cursor,
        rows,
        {
            "t": texts,
            "u": pd.Series(texts[::-1], dtype=object),
            "ts": np.array(
                [
                    "2026-10-01T10:00:00.000000",
                    "NaT",
                    "1970-01-01T00:00:00.000000",
                    "1999-12-31T23:59:59.999999",
                    "2000-01-01T00:00:00.000001",
                    "2099-12-31T23:59:59.999999",
                    "1969-07-20T20:17:40.000000",
                ],
                dtype="datetime64[us]",
            ),
            "b": np.array([True, False, None, True, None, False, True], dtype=object),
            "i": pd.array([0, -1, None, 2**31 - 1, -(2**31), 7, 1000], dtype="Int64"),
            "big": np.array([2**40, -(2**40), 0, 1, -1, 2**62, 5], dtype=np.int64),
            "f": pd.array([0.1, -12.34, None, 1e300, -0.0, 19.99, np.nan], dtype="Float64"),
            "c": pd.Series(pd.Categorical(["MFN", "AFN", "MFN", "MFN", "AFN", "AFN", "MFN"])),  # one width
        },
    )
    assert by_binary == by_text
    assert by_binary[1][1:3] == ("", "\\N") and by_binary[2][1] is None  # empty text is not NULL


def test_the_ids_put_in_later_land_in_their_fields(cursor) -> None:
    data, starts = pgbinary.encode(
        ["integer", "text"], [np.zeros(3, dtype=np.int64), np.array(["a", None, "ccc"], dtype=object)], 3
    )
    data = pgbinary.put_integers(data, [(starts + 6, np.array([7, -8, 2**31 - 1]))])
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS put (i integer, t text)")
    cursor.execute("TRUNCATE put")
    with cursor.copy("COPY put FROM STDIN (FORMAT binary)") as copy:
        copy.write(memoryview(data))
    cursor.execute("SELECT * FROM put")
    assert cursor.fetchall() == [(7, "a"), (-8, None), (2**31 - 1, "ccc")]


texts = st.one_of(st.none(), st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=20))


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            texts,
            texts,
            st.one_of(st.none(), st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31))),
            st.one_of(st.none(), st.booleans()),
            st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
            st.integers(-(2**63), 2**63 - 1),
            st.one_of(st.none(), st.floats(allow_nan=False)),
        ),
        min_size=1,
        max_size=30,
    ),
    st.lists(st.one_of(st.none(), st.sampled_from(["MFN", "AFN", "", "Café", "€"])), min_size=30, max_size=30),
    st.booleans(),
)
def test_random_rows_are_stored_as_by_text(cursor, rows, few, pandas_kinds) -> None:
    """Every kind, with NULLs; a categorical column of few values (one width or several, NULL
    or not); text and booleans as an order frame may hold them (a categorical, pandas' own)."""
    columns = list(zip(*rows, strict=True))
    u = np.array(columns[1], dtype=object)
    b = np.array(columns[3], dtype=object)
    by_text, by_binary = _stored(
        cursor,
        len(rows),
        {
            "t": np.array([None if v is None else v[:100] for v in columns[0]], dtype=object),
            "u": pd.Series(pd.Categorical(u)) if pandas_kinds else u,
            "ts": np.array(["NaT" if v is None else v for v in columns[2]], dtype="datetime64[us]"),
            "b": pd.array(b, dtype="boolean") if pandas_kinds else b,
            "i": pd.array(columns[4], dtype="Int64"),
            "big": np.array(columns[5], dtype=np.int64),
            "f": pd.array(columns[6], dtype="Float64"),
            "c": pd.Series(pd.Categorical(few[: len(rows)])),
        },
    )
    assert by_binary == by_text
