from __future__ import annotations

import csv
from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import func, select

from monitor import db
from monitor.cli import cli
from monitor.demo import write_sample_reports
from monitor.models import Account, Order


def test_sample_reports_are_deterministic_and_end_before_now(tmp_path):
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    first = write_sample_reports(tmp_path / "a", now)
    second = write_sample_reports(tmp_path / "b", now)
    assert [p.read_bytes() for p, _ in first] == [p.read_bytes() for p, _ in second]
    with first[0][0].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    events = [row[c] for row in rows for c in ("purchase_date", "shipped_at", "cancelled_at", "delivered_at") if row[c]]
    assert len(rows) > 4000 and max(datetime.fromisoformat(e) for e in events) < now


def test_demo_command_imports_two_accounts_into_a_fresh_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'm.db'}"
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "demo")], env={"DATABASE_URL": url},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "acme-us_orders.csv: ok" in result.output and "bolt-de_orders.tsv: ok" in result.output
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        assert set(session.scalars(select(Account.key))) == {"acme-us", "bolt-de"}
        assert session.scalar(select(func.count()).select_from(Order)) > 4000
    engine.dispose()
