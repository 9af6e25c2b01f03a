"""The appeal kit: case log, reminders, evidence checklist, plan-of-action draft."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.errors import UsageError
from monitor.monitor import Monitor
from monitor.present import alerts as words
from tests.conftest import env_of

# noon of the last day that has had one: the scenario's orders fall on the same calendar days, and
# a draft as of NOW sees them at the same hours, whatever the hour the suite runs (with the real
# "now", just after midnight UTC "now" minus 3 hours was the day before)
NOW = (datetime.now(UTC) - timedelta(hours=12)).replace(hour=12, minute=0, second=0, microsecond=0)
HEADER = (
    "order_id,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at,tracking_valid,carrier,sku\n"
)


def make_settings(tmp_path: Path, sqlite_settings):
    Monitor.init_database(sqlite_settings)
    return sqlite_settings


def scenario(tmp_path: Path, settings) -> dict[str, int]:
    """300 MFN orders over 30 days spread over three carriers; 20 late ones between days 20 and 15
    before now, 18 of them with FedEx. Returns the late counts per carrier, counted here."""
    rows, late = [], {"FedEx": 0, "UPS": 0}
    carriers = ("UPS", "USPS", "FedEx")
    for n in range(300):
        day = 30 - n // 10
        ship_by = NOW - timedelta(days=day, hours=3)
        carrier = carriers[n % 3]
        is_late = 15 <= day <= 20 and (
            carrier == "FedEx" and late["FedEx"] < 18 or carrier == "UPS" and late["UPS"] < 2
        )
        if is_late:
            late[carrier] += 1
        shipped = ship_by + timedelta(hours=30 if is_late else -6)
        rows.append(
            f"P-{n},{(ship_by - timedelta(days=2)).isoformat()},MFN,Shipped,{ship_by.isoformat()},"
            f"{shipped.isoformat()},true,{carrier},SKU-{n % 4}"
        )
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    with Monitor.open(settings) as monitor:
        monitor.import_paths([path], account="acme")
    return late


def run(args: list[str], settings, catch: bool = False):
    return CliRunner().invoke(cli, args, env=env_of(settings), catch_exceptions=catch)


def test_case_log_lifecycle(tmp_path, sqlite_settings):
    settings = make_settings(tmp_path, sqlite_settings)
    scenario(tmp_path, settings)
    added = run(
        [
            "case",
            "add",
            "--account",
            "acme",
            "--channel",
            "case",
            "--case-id",
            "12345678901",
            "--summary",
            "Asked why LSR is over 4 %",
            "--follow-up",
            "2030-01-02",
        ],
        settings,
    )
    assert added.exit_code == 0 and "case log entry #1 recorded" in added.output
    run(["case", "add", "--account", "acme", "--channel", "phone", "--summary", "Called Seller Support"], settings)
    listing = run(["case", "list", "--account", "acme"], settings).output
    assert "12345678901" in listing and "follow up 2030-01-02" in listing and "Called Seller Support" in listing
    updated = run(["case", "update", "1", "--outcome", "Told to submit a plan of action", "--close"], settings)
    assert updated.exit_code == 0
    shown = run(["case", "show", "1"], settings).output
    assert "Told to submit a plan of action" in shown and "closed     yes" in shown
    bad = run(["case", "add", "--account", "nobody", "--channel", "case", "--summary", "x"], settings, catch=True)
    assert isinstance(bad.exception, UsageError) and "no such account" in str(bad.exception)


def test_a_due_follow_up_is_reminded_once(tmp_path, sqlite_settings):
    settings = make_settings(tmp_path, sqlite_settings)
    scenario(tmp_path, settings)
    run(
        [
            "case",
            "add",
            "--account",
            "acme",
            "--channel",
            "email",
            "--case-id",
            "C-1",
            "--summary",
            "Sent the plan of action",
            "--follow-up",
            NOW.date().isoformat(),
        ],
        settings,
    )
    run(
        [
            "case",
            "add",
            "--account",
            "acme",
            "--channel",
            "email",
            "--summary",
            "Later",
            "--follow-up",
            (NOW + timedelta(days=3)).date().isoformat(),
        ],
        settings,
    )

    def reminders(now):
        with Monitor.open(settings, clock=lambda: now) as monitor:
            result = monitor.check()
        return [m for m in result.messages if m.level == "reminder"]

    first = reminders(NOW)
    assert len(first) == 1 and "follow up on case C-1" in words.subject(first[0])
    assert reminders(NOW + timedelta(hours=1)) == []  # once
    later = reminders(NOW + timedelta(days=3, hours=1))
    assert len(later) == 1 and "Later" in words.text(later[0])


def test_evidence_checklist_copies_files_and_shows_what_is_missing(tmp_path, sqlite_settings):
    settings = make_settings(tmp_path, sqlite_settings)
    scenario(tmp_path, settings)
    document = tmp_path / "handling-time.png"
    document.write_bytes(b"\x89PNG fake screenshot")
    added = run(
        ["evidence", "add", str(document), "--account", "acme", "--reason", "lsr", "--item", "handling-time-change"],
        settings,
    )
    assert added.exit_code == 0
    digest = hashlib.sha256(document.read_bytes()).hexdigest()
    stored = list((tmp_path / "evidence").rglob("*handling-time.png"))
    assert len(stored) == 1 and hashlib.sha256(stored[0].read_bytes()).hexdigest() == digest
    listing = run(["evidence", "list", "--account", "acme", "--reason", "lsr"], settings)
    assert listing.exit_code == 1  # something is still missing
    assert "1 of 4 items attached; 3 missing" in listing.output
    assert "missing " in listing.output and "attached" in listing.output
    wrong = run(
        ["evidence", "add", str(document), "--account", "acme", "--reason", "lsr", "--item", "nope"],
        settings,
        catch=True,
    )
    assert isinstance(wrong.exception, UsageError) and "not on the lsr checklist" in str(wrong.exception)


def test_draft_names_the_carrier_behind_the_late_shipments_with_the_right_counts(tmp_path, sqlite_settings):
    settings = make_settings(tmp_path, sqlite_settings)
    late = scenario(tmp_path, settings)
    assert late == {"FedEx": 18, "UPS": 2}
    fix_day = (NOW - timedelta(days=3)).date().isoformat()  # within target every day since
    run(
        [
            "appeal",
            "action",
            "add",
            "--account",
            "acme",
            "--metric",
            "lsr_10d",
            "--kind",
            "corrective",
            "--description",
            "Moved all parcels from FedEx to UPS",
            "--on",
            fix_day,
        ],
        settings,
    )
    run(
        [
            "appeal",
            "action",
            "add",
            "--account",
            "acme",
            "--metric",
            "lsr_10d",
            "--kind",
            "preventive",
            "--description",
            "Shipments confirmed at 2 pm every day by the shift lead",
        ],
        settings,
    )
    draft = ["appeal", "draft", "--account", "acme", "--metric", "lsr_10d", "--as-of", NOW.isoformat()]
    result = run(draft, settings)  # as of the scenario's noon: each day's figure is at noon too
    assert result.exit_code == 0, result.output
    md_path, html_path = (Path(p) for p in result.output.split())
    text = md_path.read_text()
    assert "The data points to **carrier FedEx**: 18 of the 20 late shipments (90%), while it had" in text
    assert "FedEx: 18 of the 20 late shipments (90%), out of " in text
    assert "UPS: 2 of the 20 late shipments (10%)" in text
    for heading in ("## Root cause", "## Actions taken", "## Preventive measures", "## Evidence of improvement"):
        assert heading in text
    assert f"- {fix_day}: Moved all parcels from FedEx to UPS" in text
    assert "Shipments confirmed at 2 pm every day by the shift lead" in text
    assert "has stayed within its target every day: from 20.00 % at its worst" in text and "to 0.00 % now" in text
    # every episode as a date range, every order of it with its state then and now
    assert "in 1 episode:" in text and re.search(r"^- \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d \(\d+ days\)$", text, re.M)
    assert re.search(
        r"^- P-101 \(\d{4}-\d\d-\d\d\): on \S+ it was not confirmed, 27 h past the expected ship date; "
        r"now: shipped \d+ \w{3} \d\d:\d\d \(no longer counts against it\)",
        text,
        re.M,
    )
    assert "<h2>Root cause</h2>" in html_path.read_text()
    # the account's appeal page lists the draft
    with Monitor.open(settings) as monitor:
        index = monitor.build_dashboards().index
    appeal_page = next(index.parent.glob("appeal-acme-*.html")).read_text()
    assert html_path.name in appeal_page


def test_draft_covers_every_episode_and_shows_no_improvement_while_it_still_misses(tmp_path, sqlite_settings):
    """Two separate breaches: both are listed with their dates, the root cause counts the orders of
    both (not one day's window); a fix recorded during the second one brings no "evidence"."""
    settings = make_settings(tmp_path, sqlite_settings)
    rows = []
    for n in range(400):
        day = 40 - n // 10
        ship_by = NOW - timedelta(days=day, hours=3)
        late = (n % 10 < 2) and (30 <= day <= 34 or 2 <= day <= 6)
        shipped = ship_by + timedelta(hours=20 if late else -6)
        rows.append(
            f"E-{n},{(ship_by - timedelta(days=2)).isoformat()},MFN,Shipped,{ship_by.isoformat()},"
            f"{shipped.isoformat()},true,{'DHL' if late else 'UPS'},SKU-{n % 3}"
        )
    (tmp_path / "orders.csv").write_text(HEADER + "\n".join(rows) + "\n")
    with Monitor.open(settings) as monitor:
        monitor.import_paths([tmp_path / "orders.csv"], account="acme")
        monitor.add_action("acme", "lsr_10d", "corrective", "New pick-up time", (NOW - timedelta(days=4)).date())
        files = monitor.draft_appeal("acme", "lsr_10d")
        other = monitor.draft_appeal("acme", "lsr_30d")
        log = monitor.shipping_log("acme", days=45)
        index = monitor.build_dashboards().index
    text = files.markdown.read_text()
    assert "in 2 separate episodes:" in text
    spans = re.findall(r"^- (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d) \(\d+ days?(, still ongoing)?\)$", text, re.M)
    assert len(spans) == 2 and spans[1][2] == ", still ongoing"
    assert "The 20 late shipments that counted against it on any day of these episodes" in text
    assert "The data points to **carrier DHL**: 20 of the 20 late shipments" in text
    assert "## Evidence of improvement" not in text and "No evidence of improvement yet" in text
    # the appeal page lists both drafts and the shipping log, and links the attached log
    appeal_page = next(index.parent.glob("appeal-acme-*.html")).read_text()
    assert files.html.name in appeal_page and other.html.name in appeal_page and log.path.name in appeal_page
    linked = re.search(r'<a href="(evidence/[^"]+)">[^<]*shipping-log[^<]*</a>', appeal_page)
    assert linked and (index.parent / linked.group(1)).read_bytes() == log.path.read_bytes()
    # the shipping log: every order of the period, with its ship-by, confirmation, carrier, tracking
    lines = log.path.read_text().splitlines()
    assert lines[0].startswith("order id,marketplace,fulfilment channel,status,ordered (UTC),ship by (UTC)")
    assert log.orders == len(lines) - 1 >= 300 and log.late == 20
