"""The fast paths of an import agree with the general ones. The pyarrow block reader gives exactly the rows, line numbers, texts and errors of the csv
module's reader, for every kind of file it may meet, whichever reader ends up splitting it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from monitor.errors import FileRejected
from monitor.ingest import frames
from monitor.ingest.reader import ColumnChunk, DelimitedFile, Share, inspect_file

HEADER = "order-id,purchase-date,sku,quantity\n"
PLAIN = [f"111-{n},2026-01-0{n % 9 + 1}T10:00:00+00:00,SKU-{n},{n % 3 + 1}\n" for n in range(20)]

CASES = {
    "plain": HEADER + "".join(PLAIN),
    "crlf": (HEADER + "".join(PLAIN)).replace("\n", "\r\n"),
    "quoted fields on one line": HEADER
    + "".join(PLAIN[:5])
    + '"111-x","2026-01-01","a, b ""c""",1\n'
    + "".join(PLAIN[5:]),
    "a quoted field over two lines": HEADER
    + "".join(PLAIN[:7])
    + '111-y,2026-01-01,"two\nlines",1\n'
    + "".join(PLAIN[7:]),
    "a stray quote": HEADER + "".join(PLAIN[:4]) + '111-z,2026-01-01,5" screen,1\n' + "".join(PLAIN[4:]),
    "blank lines": HEADER + "".join(PLAIN[:3]) + "\n \n,,,\n" + "".join(PLAIN[3:]),
    "a short and a long row": HEADER
    + "".join(PLAIN[:8])
    + "111-s,2026-01-01\n111-l,2026-01-01,a,1,extra\n"
    + "".join(PLAIN[8:]),
    "a lone carriage return": HEADER + "".join(PLAIN[:6]) + "111-r,2026-01-01,a\rb,1\n" + "".join(PLAIN[6:]),
    "bom and blank lines before the header": "\ufeff\n\n" + HEADER + "".join(PLAIN),
    "padded fields": HEADER + "".join(f" {line.rstrip()} \n" for line in PLAIN),
    "tab separated, unquoted, with quotes": HEADER.replace(",", "\t")
    + "".join(line.replace(",", "\t") for line in PLAIN[:9])
    + '111-q\t2026-01-01\t"wrapped ""x"""\t1\n111-w\t2026-01-01\t12" pipe\t1\n'
    + "".join(line.replace(",", "\t") for line in PLAIN[9:]),
    "no newline at the end": HEADER + "".join(PLAIN).rstrip("\n"),
    "lone carriage returns only": (HEADER + "".join(PLAIN)).replace("\n", "\r"),
    "carriage returns doubled": (HEADER + "".join(PLAIN)).replace("\n", "\r\r\n"),
    "line separators": (HEADER + "".join(PLAIN)).replace("\n", "\u2028"),
    "a field over the csv module's limit": HEADER
    + "".join(PLAIN[:5])
    + f"111-h,2026-01-01,{'x' * 140_000},1\n"
    + "".join(PLAIN[5:]),
}


def _rows(table: DelimitedFile, chunks) -> list[tuple]:
    out = []
    for chunk in chunks:
        for i in range(len(chunk)):
            out.append((chunk.line_numbers[i], list(chunk.fields[i]), chunk.raw(i), chunk.errors.get(i)))
    return out


@pytest.fixture(params=["pyarrow's threads", "one thread"])
def arrow_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    """pyarrow with its CPUs, or with one (as in an import's forked readers, which then parse a
    block whole in their own thread)."""
    before = pa.cpu_count()
    if request.param == "one thread":
        pa.set_cpu_count(1)
    yield
    pa.set_cpu_count(before)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("size", [1, 3, 50])
@pytest.mark.usefixtures("arrow_threads")
def test_blocks_match_the_csv_module(tmp_path: Path, name: str, size: int) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(CASES[name].encode("utf-8"))
    facts = inspect_file(path)
    table = DelimitedFile(path, facts.encoding)
    fast = _rows(table, table.chunks(size))
    if facts.lines is not None:  # a plain file's chunks found by its line index: the same rows
        assert _rows(table, DelimitedFile(path, facts.encoding, lines=facts.lines).chunks(size)) == fast
    slow = _rows(table, table._text_chunks(size, 0, 0))
    assert fast == slow
    assert len(fast) >= (0 if name == "line separators" else 19)  # U+2028 ends no line: all is header


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("size", [1, 3, 50])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_shares_taken_in_turn_are_the_whole_file(tmp_path: Path, name: str, size: int, encoding: str) -> None:
    """Readers in other processes each split one share of a file's chunks; taken in turn, the
    shares are the file's chunks, whichever reader splits the file and wherever it changes."""
    path = tmp_path / "orders.csv"
    path.write_bytes(
        CASES[name].encode(encoding) if encoding == "utf-8" else CASES[name].lstrip("\ufeff").encode(encoding)
    )
    facts = inspect_file(path)
    table = DelimitedFile(path, facts.encoding)
    whole = [_rows(table, [chunk]) for chunk in table.chunks(size)]
    indexed = DelimitedFile(path, facts.encoding, lines=facts.lines)  # found by the line index, if plain
    for readers in (2, 3):
        for split in (table, indexed):
            shares = [list(split.chunks(size, Share(turn, readers))) for turn in range(readers)]
            in_turn = [shares[place % readers][place // readers] for place in range(sum(map(len, shares)))]
            assert [_rows(table, [chunk]) for chunk in in_turn] == whole
        assert [len(share) for share in shares] == [len(whole[turn::readers]) for turn in range(readers)]


def test_plain_files_are_split_by_pyarrow(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(CASES["quoted fields on one line"], encoding="utf-8")
    chunks = list(DelimitedFile(path, "utf-8").chunks(10))
    assert all(isinstance(chunk, ColumnChunk) for chunk in chunks)
    assert chunks[0].fields[5] == ["111-x", "2026-01-01", 'a, b "c"', "1"]


def test_a_quoted_line_break_hands_the_rest_to_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(CASES["a quoted field over two lines"], encoding="utf-8")
    chunks = list(DelimitedFile(path, "utf-8").chunks(4))
    assert [type(chunk).__name__ for chunk in chunks][:2] == ["ColumnChunk", "Chunk"]
    record = [row for chunk in chunks for row in chunk.fields if row[0] == "111-y"]
    assert record == [["111-y", "2026-01-01", "two\nlines", "1"]]


def test_invalid_utf8_in_a_later_block_rejects_like_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes((HEADER + "".join(PLAIN * 100)).encode() + b"111-bad,2026-01-01,\xff\xfe,1\n")
    table = DelimitedFile(path, "utf-8")
    for chunks in (table.chunks(50), table._text_chunks(50, 0, 0)):
        with pytest.raises(FileRejected, match="not valid utf-8"):
            list(chunks)


def test_arrow_timestamps_equal_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random moments over 1970..2099 in zones from -12:00 to +14:00, with and without
    fractions: pyarrow's reading and the byte-level formatting give the general path's text."""
    rng = random.Random(7)
    texts = []
    for _ in range(5000):
        moment = datetime(1970, 1, 2, tzinfo=UTC) + timedelta(microseconds=rng.randrange(0, 4_100_000_000_000_000))
        zone = timezone(timedelta(minutes=rng.randrange(-12 * 60, 14 * 60 + 1, 15)))
        local = moment.astimezone(zone)
        text = local.isoformat(timespec=rng.choice(("seconds", "milliseconds", "microseconds")))
        texts.append(text.replace("+00:00", "Z") if rng.random() < 0.2 else text)
    texts += ["", "2024-02-29T23:59:59.999999-08:00"]
    column = pa.array(texts)
    empty = np.array(texts) == ""

    def zones() -> np.ndarray:
        return np.full(len(column), "UTC", dtype=object)

    fast, wrong = frames._timestamps(column, empty, zones, False)
    assert frames._arrow_timestamps(column, empty) is not None and not wrong.any()
    monkeypatch.setattr(frames, "_arrow_timestamps", lambda column, empty: None)
    general, _ = frames._timestamps(column, empty, zones, False)
    assert fast.dtype == general.dtype == frames.STAMP
    assert list(frames.db_text(fast)) == list(frames.db_text(general))  # NaT is not NaT: compare the stored text


def test_database_text_of_a_moment_is_pythons_own() -> None:
    """The table-driven formatting gives datetime.isoformat's text for every kind of moment:
    the first and last microsecond of the range, leap days, a day's last microsecond, random
    ones; missing ones are None."""
    first, last = datetime(1970, 1, 1), datetime(2099, 12, 31, 23, 59, 59, 999_999)
    rng = random.Random(11)
    moments = [first, last, datetime(2000, 2, 29), datetime(2096, 2, 29, 23, 59, 59, 999_999)]
    moments += [datetime(2024, 12, 31, 23, 59, 59, 999_999), datetime(2025, 1, 1, 0, 0, 0, 1)]
    moments += [
        first + timedelta(microseconds=rng.randrange(int((last - first) / timedelta(microseconds=1))))
        for _ in range(20_000)
    ]
    micros = np.array([(m - first) // timedelta(microseconds=1) for m in moments], dtype=np.int64)
    missing = np.zeros(len(micros), dtype=bool)
    missing[7::97] = True
    texts = frames._db_text(micros, missing)
    expected = [
        None if gone else m.isoformat(sep=" ", timespec="microseconds")
        for m, gone in zip(moments, missing, strict=True)
    ]
    assert list(texts) == expected


@pytest.mark.parametrize(
    "value", ["2026-01-01", "2026-01-01T10:00:00", "2026-01-01T00:00:03.1234567+00:00", "1969-12-31T23:00:00Z", "soon"]
)
def test_values_pyarrow_does_not_take_go_the_general_way(value: str) -> None:
    column = pa.array(["2026-01-01T10:00:00+00:00", value])
    assert frames._arrow_timestamps(column, np.array([False, value == ""])) is None


def test_the_blank_row_pattern_is_exactly_what_str_strip_removes() -> None:
    """pyarrow's regular expression finds candidate blank rows: it must take every character
    str.strip() removes, and no other."""
    from monitor.ingest.reader import _PY_SPACE

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    matched = pc.match_substring_regex(pa.array(chars), f"^[{_PY_SPACE}]*$").to_pylist()
    assert [c for c, hit in zip(chars, matched, strict=True) if hit != c.isspace()] == []


@pytest.mark.parametrize("values", [["1", "2.5", "", "-3", "1e3"], ["1", "$5", "", "1,234.50", "abc"]])
def test_numbers_read_by_pyarrow_equal_pandas(values: list[str]) -> None:
    import pandas as pd

    column = np.array(values, dtype=object)
    expected = pd.to_numeric(pd.Series(column, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    assert np.array_equal(frames._numbers(pa.array(values), column == ""), expected, equal_nan=True)


@hsettings(max_examples=400, deadline=None)
@given(text=st.text(alphabet="ab,\t \n\r\xa0\f\v", max_size=30), delimiter=st.sampled_from([",", "\t"]))
@example(text="a \r\nb", delimiter=",")  # padded before a CRLF line end
@example(text="a\xa0,b", delimiter=",")  # padded with a no-break space, outside ASCII
def test_padded_fields_are_found_without_copying_the_text(text: str, delimiter: str) -> None:
    """The padding check, which searches the text itself, answers as searching it with a line
    break added at each end and its CRLF line ends made LF (what it did before)."""
    from monitor.ingest.importer import _padded

    class Text:
        pass

    chunk = Text()
    chunk.text = text  # type: ignore[attr-defined]
    framed = "\n" + text.replace("\r\n", "\n") + "\n"
    spaces = [space for space in (" ", "\t", "\xa0", "\f", "\v") if space != delimiter and space in framed]
    expected = any(f"{e}{s}" in framed or f"{s}{e}" in framed for s in spaces for e in (delimiter, "\n"))
    assert _padded(chunk, delimiter) == expected  # type: ignore[arg-type]
    # a chunk pyarrow split: searched in its bytes when they are ASCII, else as text
    lines = text.encode("utf-8").splitlines(keepends=True)
    assert _padded(ColumnChunk.of_lines([], [], lines), delimiter) == expected


@hsettings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=40),
    st.booleans(),
    st.integers(1, 12),
    st.integers(1, 7),
)
def test_line_blocks_are_the_lines_a_file_iterates(lines: list[bytes], last_ends: bool, size: int, block: int) -> None:
    """_line_blocks (line ends found by numpy, a BLOCK at a time) cuts a file where iterating
    it `size` lines at a time does, and says where each line ends, whatever the block size."""
    import io
    import itertools

    from monitor.ingest import reader

    data = b"\n".join(lines) + (b"\n" if last_ends and lines else b"")
    expected = []
    with io.BytesIO(data) as handle:
        while part := list(itertools.islice(handle, size)):
            expected.append((b"".join(part), list(itertools.accumulate(map(len, part)))))
    original = reader.BLOCK
    reader.BLOCK = block
    try:
        got = [(part, ends.tolist()) for part, ends in reader._line_blocks(io.BytesIO(data), size)]
        assert got == expected
    finally:
        reader.BLOCK = original


@hsettings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["a,b", "c,d,e", "", " ", "é,€", "x" * 7 + ",y"]), max_size=30),
    st.booleans(),
    st.integers(1, 9),
    st.integers(1, 13),
    st.integers(1, 3),
)
def test_a_plain_files_chunks_found_by_its_line_index_are_its_chunks(
    lines: list[str], last_ends: bool, size: int, block: int, readers: int
) -> None:
    """A file without quotes or carriage returns is split by its line index (each share reading
    only its chunks, see LineIndex): the same chunks, lines and line numbers as read through."""
    import tempfile

    from monitor.ingest import reader

    text = "h1,h2\n" + "\n".join(lines) + ("\n" if last_ends and lines else "")
    original = reader.BLOCK
    reader.BLOCK = block
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "orders.csv"
            path.write_bytes(text.encode("utf-8"))
            facts = inspect_file(path)
            assert facts.lines is not None and facts.lines.total == text.count("\n")
            table = DelimitedFile(path, facts.encoding)
            whole = [_rows(table, [chunk]) for chunk in table.chunks(size)]
            indexed = DelimitedFile(path, facts.encoding, lines=facts.lines)
            shares = [list(indexed.chunks(size, Share(turn, readers))) for turn in range(readers)]
            in_turn = [shares[place % readers][place // readers] for place in range(sum(map(len, shares)))]
            assert [_rows(table, [chunk]) for chunk in in_turn] == whole
    finally:
        reader.BLOCK = original


@hsettings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["acme", "bolt"]),
            st.sampled_from(["", "amazon.com", "amazon.de"]),
            st.sampled_from(["AFN", "MFN"]),
            st.sampled_from(["", "Amazon.com", "Non-Amazon"]),
            st.sampled_from(["", "2026-01-02T10:00:00+00:00", "2026-01-03T08:30:00.5+01:00"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_a_chunks_notes_are_its_groups_notes(rows: list[tuple[str, str, str, str, str]]) -> None:
    """What a chunk of several accounts and marketplaces brings (grouped) is what its rows
    bring one account and marketplace at a time (each then one group, found without grouping)."""
    import pandas as pd

    from monitor.ingest.store import order_batch

    def notes(part: list[tuple[str, str, str, str, str]]) -> dict:
        canonical = pd.DataFrame(
            [
                {
                    "order_id": f"o{i}",
                    "account": account,
                    "marketplace": market,
                    "fulfillment_channel": channel,
                    "order_status": "Shipped",
                    "sales_channel": sales,
                    "purchase_date": "2026-01-01T00:00:00+00:00",
                    "shipped_at": shipped,
                }
                for i, (account, market, channel, sales, shipped) in enumerate(part)
            ],
            dtype=object,
        )
        frame, bad = frames.order_frame(canonical)
        assert not bad
        return order_batch(frame, False, "default").notes

    together = notes(rows)
    apart: dict = {}
    for key in {(account, market) for account, market, *_ in rows}:
        apart.update(notes([row for row in rows if row[:2] == key]))
    assert together == apart


@hsettings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "acme", "bolt"]), st.sampled_from(["1", "2", "3"]), st.sampled_from(["", "UPS"])
        ),
        min_size=1,
        max_size=12,
    )
)
def test_a_batch_gives_the_default_account_and_folds_as_pandas_does(rows: list[tuple[str, str, str]]) -> None:
    """order_batch's accounts (the default for rows that name none, found once, however many a
    chunk names) and its folding (one hash of the order ids for a chunk of one account) agree
    with filling the column and folding by pandas' duplicated on both keys."""
    import pandas as pd

    from monitor.counting import Distinct
    from monitor.ingest.store import fold_duplicates, order_batch

    canonical = pd.DataFrame(
        [
            {
                "order_id": order,
                "account": account,
                "carrier": carrier,
                "fulfillment_channel": "MFN",
                "order_status": "Shipped",
                "purchase_date": f"2026-01-0{i % 9 + 1}T00:00:00+00:00",
            }
            for i, (account, order, carrier) in enumerate(rows)
        ],
        dtype=object,
    )
    frame, bad = frames.order_frame(canonical)
    assert not bad
    batch = order_batch(frame, False, "default")
    filled = frame.assign(account=frame["account"].where(frame["account"].notna(), "default"))
    expected = fold_duplicates(filled, False)
    pd.testing.assert_frame_equal(batch.frame, expected)
    assert batch.duplicates == len(frame) - len(expected)
    again = Distinct.of(expected["account"])
    assert [batch.accounts.values[c] for c in batch.accounts.codes] == [again.values[c] for c in again.codes]


def test_folded_rows_keep_each_columns_kind_and_what_is_missing() -> None:
    """Rows of one order fold into one (the latest value of each field that has one); the
    few-valued columns stay categoricals and pandas' booleans, a missing value still missing."""
    import pandas as pd

    from monitor.ingest.store import _present, order_batch

    def row(order: str, canceller: str, valid: str, currency: str, market: str) -> dict[str, str]:
        return {
            "order_id": order,
            "fulfillment_channel": "MFN",
            "order_status": "Shipped",
            "purchase_date": "2026-01-01T00:00:00+00:00",
            "cancelled_by": canceller,
            "tracking_valid": valid,
            "currency": currency,
            "marketplace": market,
        }

    canonical = pd.DataFrame(
        [row("A", "", "true", "usd", "amazon.de"), row("B", "", "", "EUR", ""), row("A", "Buyer", "", "", "")],
        dtype=object,
    )
    frame, bad = frames.order_frame(canonical)
    assert not bad
    for name in ("cancelled_by", "currency", "marketplace", "fulfillment_channel", "order_status"):
        assert isinstance(frame[name].dtype, pd.CategoricalDtype), name
    assert isinstance(frame["tracking_valid"].dtype, pd.BooleanDtype)
    batch = order_batch(frame, False, "default")
    folded = batch.frame.set_index("order_id")
    assert batch.duplicates == 1 and list(folded.index) == ["B", "A"]
    for name, a, b in (
        ("cancelled_by", "buyer", None),
        ("tracking_valid", True, None),
        ("currency", "USD", "EUR"),
        ("marketplace", "amazon.de", None),
    ):
        assert dict(zip(folded.index, _present(folded[name]), strict=True)) == {"A": a is not None, "B": b is not None}
        assert folded.at["A", name] == a and (pd.isna(folded.at["B", name]) if b is None else folded.at["B", name] == b)
        assert folded[name].dtype == frame[name].dtype, name


def test_where_a_column_holds_a_value_is_pandas_notna_for_every_kind() -> None:
    """store._present reads what each kind of column keeps (a categorical's codes, NaT, pyarrow's
    validity, None in objects); pandas' notna says the same, which it looks for everywhere."""
    import pandas as pd
    import pyarrow as pa

    from monitor.ingest.store import _present

    texts = pa.array(["a", None, "c", "", None, "f"])
    columns = [
        pd.Series(np.array(["a", None, "c", "", None, "f"], dtype=object)),
        pd.Series(pd.Categorical(["MFN", None, "AFN", "MFN", None, "MFN"])),
        pd.Series(np.array(["2026-01-01", "NaT", "2026-01-02", "NaT", "NaT", "2026-01-03"], dtype="datetime64[us]")),
        pd.Series(pd.arrays.ArrowExtensionArray(texts)),
        pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([texts[:2], texts[2:]]))),
        pd.Series(pd.arrays.ArrowExtensionArray(pa.array(["x"] * 6))),
        pd.Series(pd.array([True, None, False, True, None, False], dtype="boolean")),
        pd.Series(pd.array([1, None, 3, 4, None, 6], dtype="Int64")),
        pd.Series(pd.array([1.5, None, 3.0, 4.0, None, 6.0], dtype="Float64")),
    ]
    for column in columns:
        assert _present(column).tolist() == column.notna().tolist(), column.dtype


@pytest.mark.parametrize("sliced", [False, True])
def test_only_values_longer_than_the_limit_are_cut_whatever_their_bytes(sliced: bool) -> None:
    import pyarrow as pa

    values = ["x" * 9, "é" * 5, "é" * 6, "€" * 3, "ab", "", "y" * 6]
    column = pa.array(["zzzzzzzzzzzz", *values])[1:] if sliced else pa.array(values)
    assert frames._cut(column, 5).to_pylist() == [v[:5] for v in values]
    assert frames._cut(column, 10).to_pylist() == values
    assert frames._cut(pa.array(["x" * 6, "ab"]), 5).to_pylist() == ["xxxxx", "ab"]  # one just over


_PIECES = [b"a", b"bc,", b"\n", "é".encode(), "€".encode(), "😀".encode(), b"\xe2\x82", b"\xc3", b"\xa9", b"\xff"]


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30), st.integers(1, 9))
def test_a_file_is_utf8_exactly_when_it_decodes_as_such(pieces: list[bytes], block: int) -> None:
    """inspect_file checks ASCII blocks without decoding them: a file is still UTF-8 exactly when
    it decodes whole, wherever a character's bytes fall across blocks."""
    import tempfile

    from monitor.ingest import reader

    data = b"order-id\n" + b"".join(pieces)
    try:
        data.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    original = reader.BLOCK
    reader.BLOCK = block
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "orders.csv"
            path.write_bytes(data)
            assert (inspect_file(path).encoding == "utf-8") == expected
    finally:
        reader.BLOCK = original


@hsettings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="ab ~\x00\t\x1f\x7f\x80\x9f\xa0é€\u200e\u202a\u2069\u2070", max_size=6), max_size=8),
    st.integers(0, 3),
)
@example(["a\x7f"], 0)  # DEL, the one control character among the printable ASCII bytes' neighbours
@example(["b", "a\x1f"], 1)
@example(["é~ "], 0)  # outside ASCII, and no control character
@example(["x", "\u202a"], 0)
def test_control_characters_are_found_as_the_search_finds_them(values: list[str], skip: int) -> None:
    """The byte-level look at a column finds a control character exactly where searching each
    value finds one, in a column cut from another (pyarrow's offset) as well."""
    from monitor.printable import CONTROL

    column = pa.array(values, pa.string())[skip:]
    expected = any(CONTROL.search(value) for value in values[skip:])
    assert frames._has_control(column) == expected


_SPELLINGS = {
    "fulfillment_channel": ["AFN", "MFN", "Amazon", "Merchant", "afn", "amazon", "Default", "xyz", ""],
    "order_status": ["Shipped", "shipped", "Canceled", "Cancelled", "Pending", "Unshipped", "bogus", ""],
    "tracking_valid": ["true", "false", "TRUE", "yes", "No", "1", "0", "maybe", ""],
    "cancelled_by": ["buyer", "Buyer", "seller", "SELLER", "system", "Amazon", "x", ""],
    "buyer_requested_cancel": ["true", "false", "Yes", "n", "perhaps", ""],
    "quantity": ["1", "2", "1.0", "3.5", "-1", "1e2", "007", "x", ""],
    "order_total": ["12.5", "12", "0.005", "-3.20", "1e3", "$1,043.00", "(5.00)", "1.043,5", "abc", "nan", ""],
}


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(*(st.sampled_from(v) for v in _SPELLINGS.values())), min_size=1, max_size=25))
def test_converted_columns_equal_the_row_by_row_reading(rows: list[tuple[str, ...]]) -> None:
    """order_frame's column-wise conversion (each distinct value once, the rest by the per-value
    parser) gives each row what reading it alone (records.order_record) gives, and rejects the
    rows that reading rejects."""
    from monitor.ingest import records
    from monitor.ingest.records import RowError

    table = {name: [row[i] for row in rows] for i, name in enumerate(_SPELLINGS)}
    table["order_id"] = [f"111-{n}" for n in range(len(rows))]
    table["purchase_date"] = ["2026-01-02T03:04:05+00:00"] * len(rows)
    canonical = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in table.items()})
    frame, reasons = frames.order_frame(canonical)
    kept = iter(range(len(frame)))
    for position in range(len(rows)):
        try:
            record = records.order_record({name: values[position] for name, values in table.items()})
        except RowError:
            assert position in reasons
            continue
        assert position not in reasons
        stored = frame.iloc[next(kept)]
        for name in _SPELLINGS:
            value = stored[name]
            assert (None if pd.isna(value) else value) == record.get(name), (name, table[name][position])
