"""A big order file on SQLite is read, converted and staged by forked readers, each taking every
other chunk, while this process merges what they staged: the database ends exactly as the
one-process import leaves it, and a failure on either side still refuses the file whole, with
no process left behind."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select, text

from monitor import db
from monitor.config import load_settings
from monitor.errors import FileRejected
from monitor.ingest import import_file, importer
from monitor.ingest.importer import READER_CHUNK_PARTS
from monitor.ingest.store import EncodedOrders, StagedOrders, Store
from monitor.ingest.worker import WorkerDied, forked, in_turn
from monitor.models import AccountSource, Base, Order, QuarantinedRow
from tests.conftest import fresh_schema, skip_without_postgres
from tests.test_import import fail_on_the_third_chunk
from tests.test_import_properties import _csv, order_rows

ALWAYS, NEVER = "0.000001", "100000"  # IMPORT_WORKER_MIN_MB: every file, or none


def _numbers(count: int, fail_at: int | None = None):
    for n in range(count):
        if n == fail_at:
            raise FileRejected(f"bad at {n}")
        yield n


def test_items_come_in_order_and_the_childs_exception_is_raised_here() -> None:
    assert list(forked(lambda: _numbers(50))) == list(range(50))
    got = []
    with pytest.raises(FileRejected, match="bad at 7"):
        for item in forked(lambda: _numbers(50, fail_at=7)):
            got.append(item)
    assert got == list(range(7))
    assert not multiprocessing.active_children()


def _arrays():
    for n in range(4):
        yield {"n": n, "data": np.arange(n * 300_000, dtype=np.int64), "strided": np.arange(10)[::2]}


def test_an_items_arrays_arrive_whole_and_may_be_written_to() -> None:
    """Arrays go out of band (see worker._send), however big, and strided ones in the pickle."""
    got = list(forked(_arrays))
    assert [item["n"] for item in got] == [0, 1, 2, 3]
    for item in got:
        assert np.array_equal(item["data"], np.arange(item["n"] * 300_000))
        assert np.array_equal(item["strided"], [0, 2, 4, 6, 8])
        item["data"][:1] = -1  # the parent's own memory: the COPY data gets its ids put in so


def test_a_pipe_that_ends_inside_a_buffer_is_its_end_not_a_short_buffer() -> None:
    from monitor.ingest.worker import _read_exactly

    reader, writer = multiprocessing.Pipe(duplex=False)
    os.write(writer.fileno(), b"abc")
    writer.close()
    with pytest.raises(EOFError):
        _read_exactly(reader, 10)
    reader.close()


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("cannot pickle")


def _raise_unpicklable():
    yield 1
    raise _Unpicklable("odd")


def test_an_exception_that_cannot_be_sent_arrives_as_its_text() -> None:
    with pytest.raises(RuntimeError, match="_Unpicklable: odd"):
        list(forked(_raise_unpicklable))


def _dies():
    yield 1
    os._exit(3)


def test_a_child_that_dies_is_reported_not_waited_for() -> None:
    with pytest.raises(WorkerDied, match="exit code 3"):
        list(forked(_dies))
    assert not multiprocessing.active_children()


def test_leaving_early_ends_the_child() -> None:
    items = forked(lambda: _numbers(10_000))
    assert next(items) == 0
    items.close()  # what a failure while writing does to the loop
    assert not multiprocessing.active_children()


def test_a_stop_signal_sent_to_every_process_leaves_the_reader_to_its_parent() -> None:
    """systemd stops a unit by sending SIGTERM to each of its processes: the daemon finishes its
    running import, so the reader must keep going (its parent ends it)."""
    items = forked(lambda: _numbers(1000))
    assert next(items) == 0
    (child,) = multiprocessing.active_children()
    os.kill(child.pid, signal.SIGTERM)
    os.kill(child.pid, signal.SIGINT)
    assert list(items) == list(range(1, 1000))
    assert not multiprocessing.active_children()


_ORPHAN = """
import itertools, multiprocessing, sys, time
from monitor.ingest.worker import in_turn
items = in_turn([lambda: itertools.count()] * int(sys.argv[1]))
next(items)
next(items)
print(*[child.pid for child in multiprocessing.active_children()], flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("readers", [1, 2])
def test_a_parent_killed_with_kill_9_takes_its_readers_along(tmp_path: Path, readers: int) -> None:
    """A daemon killed mid-import must not leave its readers behind, blocked on a pipe nobody
    reads and holding the daemon's log and terminal open (the second reader holds no copy of
    the parent's end of the first one's pipe)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN, str(readers)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert parent.stdout is not None
    children = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(children) == readers
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while any(map(_alive, children)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_alive, children))


def _evens_or_odds(start: int, stop: int):
    yield from range(start, stop, 2)


def test_children_in_turn_give_their_items_in_turn() -> None:
    makes = [lambda: _evens_or_odds(0, 101), lambda: _evens_or_odds(1, 101)]
    assert list(in_turn(makes)) == list(range(101))  # the first child has one item more: its turn ends it
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("stops", [(6, 3), (4, 9)])
def test_a_child_with_items_after_another_ended_is_an_error_not_a_loss(stops: tuple[int, int]) -> None:
    makes = [lambda: _evens_or_odds(0, stops[0]), lambda: _evens_or_odds(1, stops[1])]
    with pytest.raises(RuntimeError, match="had more items than"):
        list(in_turn(makes))
    assert not multiprocessing.active_children()


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ------------------------------------------------------------------ the import, both ways
def _database(folder: Path, template: Path) -> tuple[Any, Any, str]:
    shutil.copy(template, folder / "m.db")
    url = f"sqlite:///{folder / 'm.db'}"
    engine = db.make_engine(url)
    return engine, db.session_factory(engine), url


def _emptied(url: str) -> tuple[Any, Any, str]:
    """A migrated PostgreSQL schema with every table emptied, its ids restarted."""
    engine = db.make_engine(url)
    with engine.begin() as connection:
        tables = [t.name for t in Base.metadata.sorted_tables]
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    return engine, db.session_factory(engine), url


@pytest.fixture(scope="module")
def postgres_pair() -> Iterator[tuple[str, str]]:
    """Two migrated schemas of the local PostgreSQL (skipped where there is none)."""
    skip_without_postgres()
    with fresh_schema() as one, fresh_schema() as two:
        for url in (one, two):
            engine = db.make_engine(url)
            db.migrate(engine)
            engine.dispose()
        yield one, two


def _contents(sessions) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an import leaves, but the clock's times."""
    with sessions() as session:
        # the order of rows (and so their ids) follows the chunks, which differ: ids are left out
        columns = [c for c in Order.__table__.columns if c.name != "id"]
        orders = sorted(tuple(row) for row in session.execute(select(*columns)))
        quarantined = sorted(
            session.execute(select(QuarantinedRow.line_number, QuarantinedRow.reason, QuarantinedRow.raw)).all()
        )
        sources = sorted(
            session.execute(
                select(
                    AccountSource.account_id,
                    AccountSource.marketplace,
                    AccountSource.source,
                    AccountSource.newest_data_at,
                )
            ).all()
        )
    return {"orders": orders, "quarantined": quarantined, "sources": sources}


def _both_ways(
    folder: Path, template: Path, path: Path, chunk: int, postgres: tuple[str, str] | None = None
) -> list[tuple[Any, ...]]:
    """(result, contents) of importing `path` in one process and with the forked readers, in
    chunks of `chunk` rows both ways (the readers' are a part of the setting): a row of an order
    that an earlier chunk wrote counts as an update, in the same chunk as a duplicate. Into
    SQLite copies of `template`, or into the two emptied `postgres` schemas."""
    outcomes = []
    parts = READER_CHUNK_PARTS["sqlite" if postgres is None else "postgresql"]
    for n, (way, minimum, rows) in enumerate((("one", NEVER, chunk), ("two", ALWAYS, parts * chunk))):
        (folder / way).mkdir()
        engine, sessions, url = _database(folder / way, template) if postgres is None else _emptied(postgres[n])
        try:
            environ = {"DATABASE_URL": url, "IMPORT_WORKER_MIN_MB": minimum, "IMPORT_CHUNK_ROWS": str(rows)}
            settings = load_settings(environ=environ)
            result = import_file(sessions, path, settings)
            outcomes.append(
                (
                    result.status,
                    result.rows_read,
                    result.inserted,
                    result.updated,
                    result.quarantined,
                    result.skipped,
                    result.duplicates,
                    result.error,
                    _contents(sessions),
                )
            )
        finally:
            engine.dispose()
    return outcomes


MANGLED_FILES = {  # what _mangled takes, and the chunk size
    "rows": order_rows,
    "repeats": st.lists(st.integers(0, 39), max_size=5),
    "cuts": st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=6)), max_size=3),
    "chunk": st.integers(2, 9),
}


def _mangled(folder: Path, rows: list[dict[str, Any]], repeats: list[int], cuts: list[tuple[int, bytes]]) -> Path:
    """An order file of `rows`, the rows at `repeats` written again with another sku, and the
    bytes at each of `cuts` overwritten."""
    rows = rows + [{**rows[i % len(rows)], "sku": f"again-{i}"} for i in repeats]
    data = bytearray(_csv(rows, ",").encode("utf-8"))
    for offset, junk in cuts:
        at = offset % (len(data) + 1)
        data[at : at + len(junk) // 2] = junk
    path = folder / "orders.csv"
    path.write_bytes(bytes(data))
    return path


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**MANGLED_FILES)
def test_the_forked_reader_leaves_exactly_what_one_process_leaves(
    tmp_path_factory, migrated_template, rows, repeats, cuts, chunk
):
    """Random order files, some rows repeated (folded), some bytes overwritten (bad rows, bad
    UTF-8): the same result, orders, quarantine and sources either way."""
    folder = tmp_path_factory.mktemp("both")
    path = _mangled(folder, rows, repeats, cuts)
    one, two = _both_ways(folder, migrated_template, path, chunk)
    assert one == two


@pytest.mark.postgres
@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**MANGLED_FILES)
def test_on_postgresql_the_encoding_readers_leave_exactly_what_one_process_leaves(
    tmp_path_factory, migrated_template, postgres_pair, monkeypatch, rows, repeats, cuts, chunk
):
    """PostgreSQL's readers send each chunk's orders as binary COPY data, which this process
    COPies straight into orders (a fresh account) or into the staging table and merges: the
    same result, orders, quarantine and sources as one process's text COPY, for random files
    with repeated orders (which undo the straight COPY) and bad bytes."""
    folder = tmp_path_factory.mktemp("both")
    path = _mangled(folder, rows, repeats, cuts)
    written: list[type] = []
    real = Store.write_orders

    def spied(self, batch, *args, **kwargs):
        written.append(type(batch))
        return real(self, batch, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(Store, "write_orders", spied)
        one, two = _both_ways(folder, migrated_template, path, chunk, postgres_pair)
    assert one == two
    assert StagedOrders not in written and (EncodedOrders in written or not one[-1]["orders"])  # the readers encoded


ALL_ORDERS = (
    "amazon-order-id\tpurchase-date\torder-status\tfulfillment-channel\tsales-channel\tsku\tquantity\t"
    "currency\titem-price\tship-country\n"
)


def test_item_rows_of_one_order_across_chunks_add_up_the_same_way(tmp_path, migrated_template):
    """Amazon's order report has a row per item: items of one order in two chunks add up as in
    one process; a bad row is quarantined."""
    lines = []
    for n in range(30):
        for item in range(n % 3 + 1):
            lines.append(
                f"111-{n:07d}-0000000\t2026-10-{n % 28 + 1:02d}T10:00:00+00:00\tShipped\tMerchant\tAmazon.com\t"
                f"SKU-{item}\t{item + 1}\tUSD\t{item + 1}.50\tUS\n"
            )
    lines.insert(17, "111-bad\tnot a date\tShipped\tMerchant\tAmazon.com\tSKU\t1\tUSD\t1\tUS\n")
    path = tmp_path / "all-orders.txt"
    path.write_text(ALL_ORDERS + "".join(lines), encoding="utf-8")
    one, two = _both_ways(tmp_path, migrated_template, path, 8)
    assert one == two
    assert one[0] == "partial" and one[4] == 1 and one[6] > 0  # a bad row, and items folded
    assert len(one[-1]["orders"]) == 30


def test_orders_of_several_accounts_in_one_file_go_to_each_the_same_way(tmp_path, migrated_template):
    """A reader stages each row's account as its place among the chunk's accounts; the writer
    reads it back as that account's id."""
    keys = ["acme", "beta", "", "gamma", "beta"]
    lines = [f"{keys[n % 5]},118-{n},2026-10-{n % 28 + 1:02d}T10:00:00+00:00,MFN,Shipped\n" for n in range(60)]
    path = tmp_path / "orders.csv"
    path.write_text("account,order_id,purchase_date,fulfillment_channel,order_status\n" + "".join(lines))
    one, two = _both_ways(tmp_path, migrated_template, path, 7)
    assert one == two
    orders = one[-1]["orders"]
    assert len(orders) == 60 and len({row[0] for row in orders}) == 4  # account_id first: the default too


def _import_by_readers(folder: Path, template: Path, count: int, chunk_rows: int) -> tuple[Any, Any, Any]:
    """(engine, sessions, result) of a plain file of `count` orders imported by the forked readers."""
    engine, sessions, url = _database(folder, template)
    rows = "".join(f"116-{n},2026-10-01T10:00:00+00:00,MFN,Shipped\n" for n in range(count))
    path = folder / "orders.csv"
    path.write_text("order_id,purchase_date,fulfillment_channel,order_status\n" + rows, encoding="utf-8")
    environ = {"DATABASE_URL": url, "IMPORT_CHUNK_ROWS": str(chunk_rows), "IMPORT_WORKER_MIN_MB": ALWAYS}
    return engine, sessions, import_file(sessions, path, load_settings(environ=environ))


@pytest.mark.parametrize("where", ["reading", "writing"])
def test_a_failure_on_either_side_refuses_the_file_and_ends_the_child(tmp_path, migrated_template, monkeypatch, where):
    fail_on_the_third_chunk(monkeypatch, where)  # reading: in the child, which the fork takes the patch along to
    engine, sessions, result = _import_by_readers(tmp_path, migrated_template, 60, 10)
    contents = _contents(sessions)
    engine.dispose()
    assert result.status == "rejected" and f"RuntimeError: boom while {where}" in (result.error or "")
    assert contents["orders"] == [] and contents["quarantined"] == []
    assert not multiprocessing.active_children()


def test_the_readers_staged_orders_are_let_go_with_the_connection(tmp_path, migrated_template):
    """An import opens each staged chunk as an attached database, which it cannot detach inside
    its transaction: the connection lets it go (and its memory) when it returns to the pool."""
    engine, sessions, result = _import_by_readers(tmp_path, migrated_template, 30, 6)
    with engine.connect() as connection:
        schemas = [row[1] for row in connection.exec_driver_sql("PRAGMA database_list")]
        pooled = engine.pool.checkedin()
    engine.dispose()
    assert (result.status, result.inserted) == ("ok", 30)
    assert pooled == 0  # the connection the import used, handed out again
    assert db.STAGED not in schemas


def test_without_sqlites_serialize_a_big_file_is_read_in_one_process(tmp_path, migrated_template, monkeypatch):
    def no_readers(*args, **kwargs):
        raise AssertionError("no reader may be forked")

    monkeypatch.setattr(importer, "staging_elsewhere", lambda: False)
    monkeypatch.setattr(importer, "in_turn", no_readers)
    engine, sessions, result = _import_by_readers(tmp_path, migrated_template, 30, 6)
    engine.dispose()
    assert (result.status, result.inserted) == ("ok", 30)


def test_a_reader_that_dies_refuses_the_file(tmp_path, migrated_template, monkeypatch):
    def dying(*args, **kwargs):
        os._exit(9)

    monkeypatch.setattr(importer, "order_frame", dying)
    engine, sessions, url = _database(tmp_path, migrated_template)
    path = tmp_path / "orders.csv"
    path.write_text("order_id,purchase_date,fulfillment_channel,order_status\n1,2026-10-01,MFN,Shipped\n")
    settings = load_settings(environ={"DATABASE_URL": url, "IMPORT_WORKER_MIN_MB": ALWAYS})
    result = import_file(sessions, path, settings)
    contents = _contents(sessions)
    engine.dispose()
    assert result.status == "rejected"
    assert "WorkerDied: the import-reader-1 process ended unexpectedly (exit code 9)" in (result.error or "")
    assert contents["orders"] == []
