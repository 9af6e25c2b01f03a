"""Reading SQLite a column at a time (columnar.py) gives exactly the objects that fetching the rows
gives, or declines (None) and the rows are read; loading an account either way gives the same
frames and the same metrics."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from monitor import columnar, db, health
from monitor import counting as cnt
from monitor.columnar import Column, Kind
from monitor.metrics import Targets
from monitor.models import Account
from tests.conftest import import_orders_and_claims

COLUMNS = [
    Column("order_id", "order_id", Kind.TEXT),
    Column("marketplace", "marketplace", Kind.LABEL),
    Column("carrier", "carrier", Kind.LABEL),
    Column("purchase_date", "purchase_date", Kind.STORED_TEXT),
    Column("shipped_at", "shipped_at", Kind.STORED_TEXT),
    Column("quantity", "quantity", Kind.INTEGER),
    Column("tracking_valid", "tracking_valid", Kind.INTEGER),
    Column("product_name", "product_name", Kind.TEXT),
    Column(cnt.FLAGS_SQL, cnt.FLAGS, Kind.INTEGER),
]
SOURCE = "FROM orders WHERE account_id = 1"
STAMP = "2026-11-20 14:02:11.000000"


@pytest.fixture
def database(migrated_template: Path, tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "c.db"
    path.write_bytes(migrated_template.read_bytes())
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO accounts (id, key, created_at) VALUES (1, 'acme', '2026-01-01 00:00:00.000000')")
    return connection


def add(connection: sqlite3.Connection, n: int, **values: object) -> None:
    row = {
        "account_id": 1,
        "order_id": f"O-{n}",
        "purchase_date": STAMP,
        "fulfillment_channel": "MFN",
        "order_status": "Shipped",
        **values,
    }
    names = ", ".join(row)
    connection.execute(f"INSERT INTO orders ({names}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


def rows_of(connection: sqlite3.Connection, columns: list[Column] = COLUMNS) -> pd.DataFrame:
    fetched = connection.execute(f"SELECT {', '.join(c.sql for c in columns)} {SOURCE}").fetchall()
    return pd.DataFrame(
        {c.name: pd.Series([r[i] for r in fetched], dtype=object) for i, c in enumerate(columns)}, dtype=object
    )


def assert_same_objects(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for name in a.columns:
        left, right = list(a[name]), list(b[name])
        assert [(type(v), v) for v in left] == [(type(v), v) for v in right], name


def test_every_kind_of_value_reads_as_the_rows_give_it(database: sqlite3.Connection) -> None:
    """NULLs, quotes, commas, line breaks, emoji, big and negative integers, booleans: the same
    values of the same types, in the same order, as fetching the rows."""
    add(
        database,
        0,
        marketplace="amazon.com",
        shipped_at=STAMP,
        quantity=3,
        tracking_valid=True,
        product_name='a "b", c',
        carrier="UPS",
    )
    add(
        database,
        1,
        marketplace=None,
        shipped_at=None,
        quantity=None,
        tracking_valid=None,
        product_name="p",
        carrier="UPS",
    )
    add(
        database,
        2,
        marketplace="amazon.de",
        quantity=-7,
        tracking_valid=False,
        product_name="two\nlines 🎉 ü",
        carrier="DHL",
    )
    add(
        database,
        3,
        marketplace="x\ny 🎉",
        quantity=2**62,
        product_name="",
        order_status="Canceled",
        tracking_id="1Z",
        carrier="UPS",
    )
    add(database, 4, marketplace="amazon.com", quantity=3, product_name="q", carrier="")
    add(database, 5, marketplace="amazon.de", quantity=3, product_name="r", carrier="UPS")
    database.commit()
    got = columnar.read(database, SOURCE, COLUMNS)
    assert got is not None
    assert_same_objects(got, rows_of(database))
    assert got["product_name"].tolist() == ['a "b", c', "p", "two\nlines 🎉 ü", "", "q", "r"]  # no NULLs: '' stays ''
    assert got["quantity"].tolist() == [3, None, -7, 2**62, 3, 3]
    assert got["carrier"].tolist() == ["UPS", "UPS", "DHL", "UPS", "", "UPS"]  # no NULL beside it: '' stays ''


def test_a_label_is_one_object_however_many_rows_carry_it(database: sqlite3.Connection) -> None:
    """A column of few distinct values (LABEL, and integers) holds one object per distinct value:
    a million orders of one marketplace are not a million copies of its name."""
    for n in range(50):
        add(database, n, marketplace=("amazon.com", "amazon.de")[n % 2], quantity=n % 3)
    database.commit()
    got = columnar.read(database, SOURCE, COLUMNS)
    assert got is not None
    assert_same_objects(got, rows_of(database))
    assert len({id(v) for v in got["marketplace"]}) == 2
    assert len({id(v) for v in got["order_id"]}) == 50


def test_no_rows_read_as_an_empty_frame(database: sqlite3.Connection) -> None:
    got = columnar.read(database, SOURCE, COLUMNS)
    assert got is not None and got.empty and list(got.columns) == [c.name for c in COLUMNS]


@pytest.mark.parametrize(
    "values",
    [
        {"product_name": "a\x1fb"},  # the separator inside a value
        {"marketplace": "a\x1fb"},  # the same in a label
        {"marketplace": ""},  # an empty text beside a NULL (row 1): which is which cannot be told
        {"product_name": ""},  # the same in a plain text
        {"shipped_at": "20261120"},  # a number in the timestamp column (numeric affinity)
        {"quantity": 2.5},  # a real in an integer column: its text would not round-trip
        {"quantity": "abc"},  # a text in an integer column
    ],
    ids=[
        "separator",
        "separator in a label",
        "empty beside null",
        "empty beside null in a text",
        "number as timestamp",
        "real",
        "text as integer",
    ],
)
def test_values_it_cannot_give_exactly_make_it_decline(database: sqlite3.Connection, values: dict) -> None:
    add(database, 0, **values)
    add(database, 1, marketplace=None, product_name=None, quantity=4)
    database.commit()
    assert columnar.read(database, SOURCE, COLUMNS) is None


def test_a_column_longer_than_sqlite_allows_makes_it_decline(database: sqlite3.Connection) -> None:
    for n in range(50):
        add(database, n, product_name="x" * 30)
    database.commit()
    assert columnar.read(database, SOURCE, COLUMNS) is not None
    database.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1000)  # the 50 names joined are 1,549 characters
    assert columnar.read(database, SOURCE, COLUMNS) is None


def test_loading_an_account_either_way_gives_the_same_frames_and_metrics(
    sqlite_settings, migrated_template, tmp_path, monkeypatch
):
    """Through health.load: the columnar frames equal the rows' frames (timestamps converted the
    same way), and so do the metrics and their history; a value the reader declines (an empty
    text beside NULLs) sends that load down the rows' path with the same outcome."""
    settings = sqlite_settings
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    sessions = db.session_factory(engine)
    lines = [
        f"A-{n},2026-10-{n % 28 + 1:02d}T{n % 24:02d}:15:00+02:00,{'MFN' if n % 4 else 'AFN'},"
        f"{'Canceled' if n % 17 == 0 else 'Shipped' if n % 5 else 'Unshipped'},2026-10-{n % 28 + 1:02d}T23:00:00Z,"
        f"{'' if n % 5 == 0 else f'2026-10-{n % 28 + 1:02d}T{(n * 7) % 24:02d}:00:00Z'},,"
        f"{'seller' if n % 17 == 0 else ''},{'true' if n % 3 else ''},UPS,SKU-{n % 9}"
        for n in range(300)
    ]
    claims = [f"A-{n},2026-11-0{n % 9 + 1}T08:00:00Z" for n in range(0, 300, 23)]
    import_orders_and_claims(sessions, settings, tmp_path, lines, claims)
    targets = Targets.from_settings(settings)
    as_of = datetime(2026, 11, 10, tzinfo=UTC)
    read = columnar.read
    answers: list[bool] = []

    def counted(*args):
        frame = read(*args)
        answers.append(frame is not None)
        return frame

    def load_and_measure(declined: bool) -> tuple[list, list, list]:
        answers.clear()
        monkeypatch.setattr(columnar, "read", (lambda *_a: None) if declined else counted)
        with sessions() as session:
            account = session.scalars(select(Account)).one()
            loads = [
                health.load(session, account, targets, fields, since)
                for fields in (health.ORDER_FIELDS, health.DETAIL_FIELDS)
                for since in (None, health.since_for(as_of, 30))
            ]
            values = [v.__dict__ for v in health.current(session, targets, as_of, days=30)]
        return loads, values, list(answers)

    fast, fast_values, used = load_and_measure(declined=False)
    slow, slow_values, _ = load_and_measure(declined=True)
    assert used and all(used)  # every load of the first pass was columnar
    for a, b in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(a.orders, b.orders)
        pd.testing.assert_frame_equal(a.defects, b.defects)
        assert_same_objects(
            a.orders.drop(columns=list(health.ORDER_TIMESTAMPS)), b.orders.drop(columns=list(health.ORDER_TIMESTAMPS))
        )
    assert fast_values == slow_values and len(fast_values) > 100
    with engine.begin() as connection:  # an empty text beside NULLs: that load reads rows
        connection.exec_driver_sql("UPDATE orders SET carrier = '' WHERE order_id = 'A-1'")
        connection.exec_driver_sql("UPDATE orders SET carrier = NULL WHERE order_id = 'A-2'")
    again, _, used = load_and_measure(declined=False)
    assert False in used
    assert again[2].orders.loc[again[2].orders["order_id"] == "A-1", "carrier"].tolist() == [""]
    engine.dispose()


STAMPS = [Column("shipped_at", "shipped_at", Kind.TIMESTAMP), Column("purchase_date", "purchase_date", Kind.TIMESTAMP)]


def test_timestamps_in_the_stored_form_are_parsed_as_numpy_reads_their_texts(database: sqlite3.Connection) -> None:
    """NULL and empty are NaT; "T" or " " between date and time; the first and last of days,
    a leap day, microseconds: the values numpy gives for the rows' strings."""
    texts = [STAMP, None, "", "2024-02-29T23:59:59.999999", "1970-01-01 00:00:00.000000", "2099-12-31 00:00:00.000001"]
    for n, text in enumerate(texts):
        add(database, n, shipped_at=text)
    database.commit()
    got = columnar.read(database, SOURCE, STAMPS)
    assert got is not None and got["shipped_at"].dtype == "datetime64[us]"
    expected = rows_of(database, STAMPS)["shipped_at"].to_numpy(dtype=object).astype("datetime64[us]")
    assert got["shipped_at"].to_numpy().tolist() == expected.tolist()
    assert got["purchase_date"].dtype == "datetime64[us]"


@pytest.mark.parametrize(
    "text",
    ["2026-11-20T14:02:11Z", "2026-11-20 14:02:11+02:00", "2026-11-20", "2026-02-30 14:02:11.000000", "a\rb, c"],
    ids=["zone", "offset", "date only", "impossible date", "carriage return and comma"],
)
def test_a_timestamp_in_another_form_leaves_its_column_as_text(database: sqlite3.Connection, text: str) -> None:
    """Such a column is handed over as the rows' strings, NULL as None (health reads those as
    before, offsets and warnings included); the other timestamp column is still parsed."""
    add(database, 0, shipped_at=STAMP)
    add(database, 1, shipped_at=text)
    add(database, 2, shipped_at=None)
    database.commit()
    got = columnar.read(database, SOURCE, STAMPS)
    assert got is not None
    assert_same_objects(got[["shipped_at"]], rows_of(database, STAMPS)[["shipped_at"]])
    assert got["shipped_at"].tolist()[2] is None
    assert got["purchase_date"].dtype == "datetime64[us]"


def test_a_timestamp_column_in_another_form_with_an_empty_text_beside_nulls_declines(
    database: sqlite3.Connection,
) -> None:
    """Parsed, an empty text and NULL are both NaT, as numpy reads them; as texts they differ, and
    which empty line was NULL cannot be told: the rows are read instead."""
    for n, text in enumerate([STAMP, "2026-11-20T14:02:11Z", None, ""]):
        add(database, n, shipped_at=text)
    database.commit()
    assert columnar.read(database, SOURCE, STAMPS) is None
    database.execute("UPDATE orders SET shipped_at = NULL WHERE shipped_at = ''")
    database.commit()
    assert columnar.read(database, SOURCE, STAMPS) is not None


def test_a_column_said_never_null_that_holds_a_null_declines(database: sqlite3.Connection) -> None:
    """An expression said never NULL (the flags) is not counted; were an integer column so
    marked and one value NULL all the same, its empty text is no integer: declined, never a 0."""
    never_null = [Column("quantity", "quantity", Kind.INTEGER, nullable=False)]
    add(database, 0, quantity=2)
    add(database, 1, quantity=3)
    database.commit()
    got = columnar.read(database, SOURCE, never_null)
    assert got is not None and got["quantity"].tolist() == [2, 3]
    add(database, 2, quantity=None)
    database.commit()
    assert columnar.read(database, SOURCE, never_null) is None


@pytest.mark.parametrize("value", ["two\nlines", "20261120", 1.5], ids=["line break", "integer", "real"])
def test_a_line_break_or_a_number_in_a_timestamp_column_makes_it_decline(
    database: sqlite3.Connection, value: object
) -> None:
    """SQLite hands a timestamp column over a value a line: a line break inside one would shift
    every value after it; a number (numeric affinity stores "20261120" as one) would come back
    as a text where the rows give a number. Either way the rows are read instead."""
    add(database, 0, shipped_at=STAMP)
    add(database, 1, shipped_at=value)
    database.commit()
    assert columnar.read(database, SOURCE, STAMPS) is None


def test_text_that_is_not_utf8_makes_it_decline(database: sqlite3.Connection) -> None:
    """Bytes that are not UTF-8, stored as text (nothing here writes them; another tool might):
    never read as something else, whether the column comes over as text or as lines of bytes."""
    add(database, 0, shipped_at=STAMP)
    add(database, 1, shipped_at=STAMP)
    database.commit()
    assert columnar.read(database, SOURCE, STAMPS) is not None
    database.execute("UPDATE orders SET shipped_at = CAST(x'32303236ff' AS TEXT) WHERE order_id = 'O-1'")
    database.commit()
    assert columnar.read(database, SOURCE, STAMPS) is None
    database.execute("UPDATE orders SET shipped_at = NULL, marketplace = CAST(x'61ff' AS TEXT)")
    database.commit()
    assert columnar.read(database, SOURCE, STAMPS) is not None
    assert columnar.read(database, SOURCE, COLUMNS) is None


def test_a_scan_leaves_the_connection_s_page_cache_as_it_found_it(database: sqlite3.Connection) -> None:
    """The scan runs with SQLite's default page cache (a bigger one only costs a pass that reads
    each page once); the connection's own, which imports use, is back afterwards, declined or not."""
    for n in range(50):
        add(database, n, product_name="x" * 30)
    database.commit()
    database.execute("PRAGMA cache_size=-65536")
    assert columnar.read(database, SOURCE, COLUMNS) is not None
    assert database.execute("PRAGMA cache_size").fetchone() == (-65536,)
    database.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1000)  # the names joined are too long for one text
    assert columnar.read(database, SOURCE, COLUMNS) is None
    assert database.execute("PRAGMA cache_size").fetchone() == (-65536,)
