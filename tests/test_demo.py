from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from monitor import db
from monitor.cli import cli
from monitor.config import load_settings
from monitor.demo import write_sample_reports
from monitor.models import Account, Defect, MetricSnapshot, Order
from monitor.monitor import Monitor


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
    # each marketplace judged alone: Amazon.com's tracking went bad (a new label printer), its late
    # shipments are rising; bolt-de stays healthy on both of its marketplaces
    assert "CRITICAL Valid Tracking Rate, MFN on Amazon.com (US)" in result.output
    assert "Account health of acme-us (amazon.ca, amazon.com, walmart.com)" in result.output
    assert re.search(r"^acme-us +walmart.com +Walmart Cancellation Rate, MFN +good", result.output, re.M)
    # and Walmart's own figures (its Insights summaries) where only Walmart can measure: good, no notice
    assert "acme-us_walmart_insights.json: ok" in result.output
    assert re.search(
        r"^acme-us +walmart.com +Walmart Response Rate, MFN +good .* Walmart's own figure 97.50 %", result.output, re.M
    )
    assert "NOTICE Walmart Response Rate" not in result.output and "Amazon judges it" not in result.output
    assert "Account health of bolt-de" not in result.output
    # the story in one line per account, the most urgent first: critical, and warned days before
    story = re.search(
        r"^acme-us: VTR on Amazon.com \(US\) [\d.]+ % \(target 95 % or more\), critical since (\d+ \w+) "
        r"\(warned from (\d+ \w+)\); confirm shipments with the carrier's real tracking number$",
        result.output,
        re.M,
    )
    assert story, result.output
    critical, warned = (datetime.strptime(f"{d} 2026", "%d %b %Y") for d in story.groups())
    assert (critical - warned).days >= 5
    assert re.search(r"^bolt-de: .* within target, room for", result.output, re.M)
    assert result.output.index("acme-us: VTR") < result.output.index("bolt-de: ")
    assert re.search(r"\d+ alerts firing, 1 message queued", result.output)
    for marketplace in ("amazon.com", "amazon.ca", "amazon.de", "amazon.fr"):
        assert re.search(rf"^(acme-us|bolt-de) +{re.escape(marketplace)} +Order Defect Rate, MFN", result.output, re.M)
    assert (tmp_path / "reports" / "index.html").exists()
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        assert set(session.scalars(select(Account.key))) == {"acme-us", "bolt-de"}
        assert session.scalar(select(func.count()).select_from(Order)) > 4000
    engine.dispose()


STORY_NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """The demo run at STORY_NOW into a fresh SQLite file: its stored daily history, by key."""
    folder = tmp_path_factory.mktemp("story")
    settings = load_settings(None, {"DATABASE_URL": f"sqlite:///{folder / 'm.db'}", "REPORTS_DIR": str(folder / "r")})
    with Monitor.open(settings, migrate=True, clock=lambda: STORY_NOW) as monitor:
        monitor.demo(folder / "demo")
        with monitor.sessions() as session:
            rows = session.execute(
                select(
                    Account.key,
                    MetricSnapshot.marketplace,
                    MetricSnapshot.metric,
                    MetricSnapshot.channel,
                    MetricSnapshot.day,
                    MetricSnapshot.status,
                )
                .join(Account, Account.id == MetricSnapshot.account_id)
                .order_by(MetricSnapshot.day)
            ).all()
        yield monitor, folder, rows


def test_the_healthy_account_is_good_on_every_one_of_its_120_days(story):
    _, _, rows = story
    last = STORY_NOW.date() - timedelta(days=1)
    days = {r.day for r in rows if r.key == "bolt-de" and r.day > last - timedelta(days=120)}
    assert len(days) == 120
    judged = [
        r for r in rows if r.key == "bolt-de" and r.day in days and not (r.metric == "odr" and r.channel == "afn")
    ]
    assert len(judged) == 120 * 2 * 6  # two marketplaces, six MFN values a day (it has no FBA orders)
    assert {r.status for r in judged} == {"good"}


def test_the_deteriorating_account_is_warned_days_before_it_turns_critical(story):
    monitor, _, rows = story
    vtr = [(r.day, r.status) for r in rows if (r.key, r.marketplace, r.metric) == ("acme-us", "amazon.com", "vtr_30d")]
    first_critical = next(day for day, status in vtr if status == "critical")
    warned = [day for day, status in vtr if status == "warning" and day < first_critical]
    lead = (first_critical - min(warned)).days
    print(f"\ndemo: VTR on Amazon.com warned {min(warned)}, critical {first_critical}: {lead} days of notice")
    assert lead >= 5 and all(status == "critical" for day, status in vtr if day >= first_critical)
    # the warning came from what Amazon will show (the projection), not from the value itself
    first_warning = datetime.combine(min(warned) + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    (value,) = [
        v
        for v in monitor.metrics("acme-us", first_warning).values
        if (v.marketplace, v.metric) == ("amazon.com", "vtr_30d")
    ]
    assert value.status == "warning" and value.rate >= 0.95 and (value.projection_misses or value.forecast_breach)


def test_running_the_demo_again_days_later_adds_no_duplicate(tmp_path, story):
    monitor, folder, _ = story
    later = STORY_NOW + timedelta(days=3)
    again = Monitor(monitor.settings, monitor.sessions, monitor.http, lambda: later)
    again.demo(tmp_path / "again")
    orders, defects = set(), set()
    for base in (folder / "demo", tmp_path / "again"):
        for path in base.iterdir():
            text = path.read_text(encoding="cp1252" if path.suffix == ".tsv" else "utf-8")
            for r in csv.DictReader(text.splitlines(), delimiter="\t" if path.suffix == ".tsv" else ","):
                if "defect_type" in r:
                    defects.add((r["order_id"], r["defect_type"], r["received_at"]))
                else:
                    orders.add(r.get("order_id") or r["PO#"])  # the Walmart shop's PO export
    with monitor.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == len(orders)
        assert session.scalar(select(func.count()).select_from(Defect)) == len(defects)
    first = {
        p.name: p.read_text(encoding="cp1252" if p.suffix == ".tsv" else "utf-8") for p in (folder / "demo").iterdir()
    }
    second = (tmp_path / "again" / "acme-us_orders.csv").read_text(encoding="utf-8")
    old_ids = {line.split(",", 1)[0] for line in first["acme-us_orders.csv"].splitlines()[1:]}
    new_ids = {line.split(",", 1)[0] for line in second.splitlines()[1:]}
    assert len(old_ids & new_ids) > 0.9 * len(old_ids) - 3 * 60  # the days both cover: the same orders
