"""Bad input, fuzzed: every input ends ok, partial or rejected with a ledger row, no row is lost,
time stays linear, the database stays sound and every account's metrics still compute.

The quick run here (fixed inputs) is part of `make test`; `make fuzz N=10000` runs the long one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor import db
from monitor.config import load_settings
from tests.fuzz.harness import check_database, check_file, run
from tests.fuzz.mutate import ODD_DATES, ODD_NUMBERS, ODD_TEXT

QUICK_INPUTS = 300


def test_mutated_report_files_never_crash_hang_or_lose_a_row():
    report = run(QUICK_INPUTS, base=1)
    print("\n".join(report.lines()))
    assert report.inputs == QUICK_INPUTS
    assert report.failures == {}
    assert {"ok", "partial", "rejected"} <= set(report.outcomes)


@pytest.fixture
def database(tmp_path: Path, migrated_template: Path):
    path = tmp_path / "fuzz.db"
    shutil.copy(migrated_template, path)
    settings_ = load_settings(
        environ={
            "DATABASE_URL": f"sqlite:///{path}",
            "REPORTS_DIR": str(tmp_path / "reports"),
            "INBOX_DIR": str(tmp_path / "inbox"),
            "EVIDENCE_DIR": str(tmp_path / "evidence"),
        }
    )
    engine = db.make_engine(settings_.database_url)
    yield settings_, db.session_factory(engine)
    engine.dispose()


def _assert_sound(result: tuple[str, list[tuple[str, str]]]) -> str:
    outcome, failures = result
    assert failures == [] and outcome in ("ok", "partial", "rejected", "duplicate")
    return outcome


PATHOLOGICAL = {
    # the e-mail scrubbing of a feedback report's bad rows: linear, not quadratic
    "feedback-1mb-field.txt": "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email\n"
    + "10/01/26\t1\t"
    + "a" * 1_000_000
    + "\t\t111-1\tx@y.z\n"
    + "10/01/26\t2\t"
    + "a@" * 60_000
    + "\t\t111-2\tx@y.z\n",
    "orders-huge-line.csv": "order_id,purchase_date,fulfillment_channel,order_status\n" + "z" * 3_000_000 + "\n",
    "orders-stray-quote.csv": "order_id,purchase_date,fulfillment_channel,order_status,sku\n"
    + 'A-1,"2026-10-01,MFN,Shipped,MUG\n'
    + "".join(f"A-{n},2026-10-01,MFN,Shipped,MUG\n" for n in range(2, 8))
    + "A-8,2026-10-01,MFN,Shipped,TEA\n",
    "orders-far-dates.csv": "order_id,purchase_date,fulfillment_channel,order_status\n"
    + "".join(f"F-{n},{date},MFN,Shipped\n" for n, date in enumerate(ODD_DATES))
    + "F-ok,2026-10-01T10:00:00Z,MFN,Shipped\n",
    "orders-whole-amounts.csv": "order_id,purchase_date,fulfillment_channel,order_status,order_total,quantity\n"
    + "".join(f"Y-{n},2026-10-01,AFN,Shipped,{1200 + n},1\n" for n in range(30)),
    "defects-twice.csv": "order_id,defect_type,received_at,order_id\nA-1,a_to_z_claim,2026-10-05,B-2\n",
    "orders-odd-numbers.csv": "order_id,purchase_date,fulfillment_channel,order_status,order_total,quantity\n"
    + "".join(f"N-{n},2026-10-01,AFN,Shipped,{v},{v}\n" for n, v in enumerate(ODD_NUMBERS)),
    "performance-deep.json": '{"performanceMetrics": [' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "]}",
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_files(database, tmp_path, name):
    settings_, sessions = database
    data = PATHOLOGICAL[name].encode("utf-8")
    outcome = _assert_sound(check_file(sessions, settings_, tmp_path, name, name, data, "acme"))
    expected = {
        "feedback-1mb-field.txt": "partial",  # a field over 128 KiB: its row is bad; the other is kept, capped
        "orders-huge-line.csv": "partial",
        "orders-stray-quote.csv": "partial",  # the quote's line alone; the 7 good rows after it are kept
        "orders-far-dates.csv": "partial",
        "orders-whole-amounts.csv": "ok",
        "defects-twice.csv": "rejected",
        "orders-odd-numbers.csv": "partial",
        "performance-deep.json": "rejected",
    }[name]
    assert outcome == expected
    assert check_database(sessions) == []


def test_a_stray_quote_does_not_swallow_the_lines_after_it(database, tmp_path):
    """A quote that never closes made csv read the rest of the file as one field, one row: the
    lines are read again one by one, and only the quote's own line is bad."""
    from sqlalchemy import select

    from monitor.models import Order, QuarantinedRow

    settings_, sessions = database
    data = PATHOLOGICAL["orders-stray-quote.csv"].encode()
    _assert_sound(check_file(sessions, settings_, tmp_path, "q", "q.csv", data, "acme"))
    with sessions() as session:
        stored = set(session.scalars(select(Order.order_id)))
        bad = list(session.scalars(select(QuarantinedRow)))
    assert stored == {f"A-{n}" for n in range(2, 9)}
    assert [(q.line_number, q.raw) for q in bad] == [(2, 'A-1,"2026-10-01,MFN,Shipped,MUG')]


def test_far_dates_are_bad_rows_and_never_stored(database, tmp_path):
    from sqlalchemy import select

    from monitor.models import Order, QuarantinedRow

    settings_, sessions = database
    data = PATHOLOGICAL["orders-far-dates.csv"].encode()
    _assert_sound(check_file(sessions, settings_, tmp_path, "d", "d.csv", data, "acme"))
    with sessions() as session:
        stored = {o.order_id: o.purchase_date for o in session.scalars(select(Order))}
        reasons = {q.raw.split(",")[1]: q.reason for q in session.scalars(select(QuarantinedRow))}
    assert all(1970 <= moment.year < 2100 for moment in stored.values())
    assert "F-ok" in stored
    assert "outside 1970-2099" in reasons["9999-12-31T23:59:59-01:00"]
    assert "outside 1970-2099" in reasons["1969-12-31T23:59:59Z"]


FIELD = st.one_of(
    st.sampled_from(ODD_DATES + ODD_NUMBERS + ODD_TEXT),
    st.text(max_size=30),
    st.sampled_from(("2026-10-01T10:00:00Z", "2026-10-02", "MFN", "AFN", "Shipped", "Canceled", "seller", "true", "3")),
)
COLUMNS = (
    "order_id",
    "purchase_date",
    "fulfillment_channel",
    "order_status",
    "latest_ship_date",
    "shipped_at",
    "cancelled_at",
    "cancelled_by",
    "tracking_valid",
    "quantity",
    "order_total",
    "marketplace",
)


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(FIELD, min_size=len(COLUMNS), max_size=len(COLUMNS)), min_size=1, max_size=12))
def test_generated_order_rows(database, tmp_path, rows):
    """Any values in any canonical column: every row is stored or quarantined, nothing else."""
    settings_, sessions = database
    text = ",".join(COLUMNS) + "\n" + "\n".join(",".join(_csv(v) for v in row) for row in rows) + "\n"
    _assert_sound(
        check_file(sessions, settings_, tmp_path, "generated", "g.csv", text.encode("utf-8", "replace"), "acme")
    )
    assert check_database(sessions) == []


def _csv(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value
