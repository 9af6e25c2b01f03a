from __future__ import annotations

import csv
import re
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
    result = CliRunner().invoke(
        cli,
        ["demo", "--dir", str(tmp_path / "demo")],
        env={"DATABASE_URL": url, "REPORTS_DIR": str(tmp_path / "reports")},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "acme-us_orders.csv: ok" in result.output and "bolt-de_orders.tsv: ok" in result.output
    # each marketplace judged alone: the late shipments of acme-us miss the target on Amazon.com,
    # the 30-day rate there is a warning; bolt-de stays healthy on both of its marketplaces
    assert "CRITICAL Late Shipment Rate (10 days), MFN on Amazon.com (US)" in result.output
    assert "WARNING Late Shipment Rate (30 days), MFN on Amazon.com (US)" in result.output
    assert "Account health of acme-us (amazon.ca, amazon.com)" in result.output
    assert "Account health of bolt-de" not in result.output
    assert re.search(r"\d+ alerts firing, 1 messages queued", result.output)
    for marketplace in ("amazon.com", "amazon.ca", "amazon.de", "amazon.fr"):
        assert re.search(rf"^(acme-us|bolt-de) +{re.escape(marketplace)} +Order Defect Rate, MFN", result.output, re.M)
    assert (tmp_path / "reports" / "index.html").exists()
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        assert set(session.scalars(select(Account.key))) == {"acme-us", "bolt-de"}
        assert session.scalar(select(func.count()).select_from(Order)) > 4000
    engine.dispose()


def test_acme_deteriorates_and_bolt_stays_healthy(tmp_path):
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    files = dict((p.name, p) for p, _ in write_sample_reports(tmp_path, now))

    def late_share(name: str, first_day: int, last_day: int) -> float:
        text = files[name].read_text(encoding="cp1252" if "bolt" in name else "utf-8")
        rows = [
            r
            for r in csv.DictReader(text.splitlines(), delimiter="\t" if name.endswith("tsv") else ",")
            if r["fulfillment_channel"] == "MFN" and r["shipped_at"]
        ]
        window = [r for r in rows if first_day <= (now - datetime.fromisoformat(r["latest_ship_date"])).days < last_day]
        return sum(r["shipped_at"] > r["latest_ship_date"] for r in window) / len(window)

    assert late_share("acme-us_orders.csv", 2, 10) > 0.03 > 0.02 > late_share("acme-us_orders.csv", 30, 110)
    assert late_share("bolt-de_orders.tsv", 2, 110) < 0.02
    with files["acme-us_orders.csv"].open(encoding="utf-8") as handle:
        dates = [datetime.fromisoformat(r["purchase_date"]) for r in csv.DictReader(handle)]
    assert (now - min(dates)).days >= 120
    with files["acme-us_defects.csv"].open(encoding="utf-8") as handle:
        claims = [r for r in csv.DictReader(handle) if r["defect_type"] == "a_to_z_claim"]
    assert 2 <= len(claims) <= 40
