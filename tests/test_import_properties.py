"""Random orders in, invariants out: what a file says is what the database holds."""

from __future__ import annotations

import csv
import io
import random
import shutil
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from monitor import db
from monitor.config import load_settings
from monitor.ingest import import_file
from monitor.models import Order, QuarantinedRow

COLUMNS = ["order_id", "purchase_date", "fulfillment_channel", "order_status", "shipped_at", "quantity", "sku"]

order_rows = st.lists(
    st.fixed_dictionaries(
        {
            "order_id": st.from_regex(r"[0-9]{3}-[0-9]{4}", fullmatch=True),
            "purchase_date": st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)),
            "fulfillment_channel": st.sampled_from(["AFN", "MFN", "Amazon", "Merchant", "FBA", "fbm"]),
            "order_status": st.sampled_from(["Shipped", "Pending", "Canceled", "Cancelled", "Unshipped"]),
            "shipped_at": st.none() | st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)),
            "quantity": st.integers(1, 9),
            "sku": st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
            .map(str.strip)
            .filter(bool),
        }
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda r: r["order_id"],
)


def _csv(rows, delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row["order_id"],
                row["purchase_date"].isoformat(),
                row["fulfillment_channel"],
                row["order_status"],
                row["shipped_at"].isoformat() if row["shipped_at"] else "",
                row["quantity"],
                row["sku"],
            ]
        )
    return out.getvalue()


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=order_rows, chunk=st.integers(1, 7), seed=st.integers(0, 1000))
def test_import_stores_exactly_the_file_and_reimport_in_any_order_changes_nothing(
    tmp_path_factory, migrated_template, rows, chunk, seed
):
    folder = tmp_path_factory.mktemp("prop")
    shutil.copy(migrated_template, folder / "m.db")
    url = f"sqlite:///{folder / 'm.db'}"
    settings = load_settings(environ={"DATABASE_URL": url, "IMPORT_CHUNK_ROWS": str(chunk)})
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    try:
        first = folder / "a.csv"
        first.write_text(_csv(rows, ","), encoding="utf-8")
        result = import_file(sessions, first, settings)
        assert (result.inserted, result.updated, result.quarantined) == (len(rows), 0, 0)
        with sessions() as session:
            stored = {o.order_id: o for o in session.scalars(select(Order))}
        assert set(stored) == {r["order_id"] for r in rows}
        for row in rows:
            order = stored[row["order_id"]]
            assert order.purchase_date == row["purchase_date"].replace(tzinfo=UTC)
            assert order.fulfillment_channel in ("AFN", "MFN")
            assert order.quantity == row["quantity"] and order.sku == row["sku"]
            expected_ship = row["shipped_at"].replace(tzinfo=UTC) if row["shipped_at"] else None
            assert order.shipped_at == expected_ship
        shuffled = list(rows)
        random.Random(seed).shuffle(shuffled)
        second = folder / "b.tsv"
        second.write_text(_csv(shuffled, "\t") + "\n", encoding="utf-16")
        again = import_file(sessions, second, settings)
        assert (again.status, again.inserted, again.updated, again.quarantined) == ("ok", 0, 0, 0)
    finally:
        engine.dispose()


def test_dates_near_window_edges_keep_their_microseconds(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = db.make_engine(url)
    db.migrate(engine)
    moment = datetime(2026, 10, 31, 23, 59, 59, 999999, tzinfo=UTC)
    path = tmp_path / "o.csv"
    path.write_text(
        "order_id,purchase_date,fulfillment_channel,order_status\n"
        f"E-1,{moment.isoformat()},MFN,Shipped\nE-2,{(moment + timedelta(microseconds=1)).isoformat()},MFN,Shipped\n"
    )
    import_file(db.session_factory(engine), path, load_settings(environ={"DATABASE_URL": url}))
    with db.session_factory(engine)() as session:
        got = dict(session.execute(select(Order.order_id, Order.purchase_date)).all())
    assert got == {"E-1": moment, "E-2": datetime(2026, 11, 1, tzinfo=UTC)}
    engine.dispose()


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=order_rows,
    cuts=st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=6)), max_size=6),
    delimiter=st.sampled_from([",", "\t"]),
)
def test_random_corruption_never_escapes_as_an_exception(tmp_path_factory, migrated_template, rows, cuts, delimiter):
    folder = tmp_path_factory.mktemp("corrupt")
    shutil.copy(migrated_template, folder / "m.db")
    url = f"sqlite:///{folder / 'm.db'}"
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    data = bytearray(_csv(rows, delimiter).encode("utf-8"))
    for offset, junk in cuts:  # overwrite, insert or truncate at random places
        at = offset % (len(data) + 1)
        data[at : at + len(junk) // 2] = junk
    path = folder / "corrupt.csv"
    path.write_bytes(bytes(data))
    try:
        result = import_file(sessions, path, load_settings(environ={"DATABASE_URL": url, "IMPORT_CHUNK_ROWS": "3"}))
        with sessions() as session:
            stored = session.scalar(select(func.count()).select_from(Order))
            quarantined = session.scalar(select(func.count()).select_from(QuarantinedRow))
        if result.status == "rejected":
            assert result.error and stored == 0 and quarantined == 0
        else:
            assert result.quarantined == quarantined
            assert stored == result.inserted <= result.rows_read
            assert result.rows_read >= result.quarantined
    finally:
        engine.dispose()
