"""Importing the same orders in any order, or split across files, gives the same metrics."""

from __future__ import annotations

import csv
import io
import random
import shutil
from datetime import timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from monitor import db, health
from monitor.config import load_settings
from monitor.ingest import import_file
from monitor.metrics import Targets
from monitor.present.jsonout import to_json
from tests.conftest import T

COLUMNS = [
    "order_id",
    "purchase_date",
    "fulfillment_channel",
    "order_status",
    "latest_ship_date",
    "shipped_at",
    "cancelled_at",
    "cancelled_by",
    "tracking_valid",
    "latest_delivery_date",
    "delivered_at",
]
HOURS = st.integers(-70 * 24, 2 * 24)
MAYBE = st.none() | HOURS

rows = st.lists(
    st.fixed_dictionaries(
        {
            "fulfillment_channel": st.sampled_from(["AFN", "MFN"]),
            "order_status": st.sampled_from(["Shipped", "Unshipped", "Canceled"]),
            "purchase_date": HOURS,
            "latest_ship_date": MAYBE,
            "shipped_at": MAYBE,
            "cancelled_at": MAYBE,
            "cancelled_by": st.sampled_from(["", "seller", "buyer"]),
            "tracking_valid": st.sampled_from(["", "true", "false"]),
            "latest_delivery_date": MAYBE,
            "delivered_at": MAYBE,
        }
    ),
    min_size=1,
    max_size=30,
)


def _text(records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for n, record in records:
        row = {
            k: ((T + timedelta(hours=v)).isoformat() if isinstance(v, int) else (v or "")) for k, v in record.items()
        }
        writer.writerow({"order_id": f"O-{n}", **row})
    return out.getvalue()


def _metrics(folder, template, files: list[str]) -> list[dict]:
    shutil.copy(template, folder / "m.db")
    url = f"sqlite:///{folder / 'm.db'}"
    settings = load_settings(environ={"DATABASE_URL": url})
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    try:
        for i, text in enumerate(files):
            path = folder / f"part{i}.csv"
            path.write_text(text, encoding="utf-8")
            assert import_file(sessions, path, settings, account="acme").status == "ok"
        with sessions() as session:
            return [to_json(v) for v in health.current(session, Targets(), T)]
    finally:
        engine.dispose()


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=rows, parts=st.integers(1, 4), seed=st.integers(0, 999))
def test_same_orders_split_and_shuffled_across_files_give_the_same_metrics(
    tmp_path_factory, migrated_template, records, parts, seed
):
    numbered = list(enumerate(records))
    whole = _metrics(tmp_path_factory.mktemp("whole"), migrated_template, [_text(numbered)])
    rng = random.Random(seed)
    rng.shuffle(numbered)
    pieces = [numbered[i::parts] for i in range(parts)]
    split = _metrics(tmp_path_factory.mktemp("split"), migrated_template, [_text(p) for p in pieces if p])
    assert split == whole
