"""Alerts end to end: state, grouping, message, notifiers on loopback, the outbox."""

from __future__ import annotations

import email
import json
import logging
import ssl
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner
from sqlalchemy import func, select

from monitor.alerts import state
from monitor.alerts.message import Item, Message
from monitor.cli import cli
from monitor.domain import AlertLevel
from monitor.errors import ConfigError
from monitor.models import AlertState, Delivery, Notification, NotifierHealth
from monitor.monitor import Monitor
from monitor.notifiers import NOTIFIERS, configured
from monitor.notifiers.email import EmailNotifier
from monitor.present import alerts as words
from monitor.slugs import page_name
from tests.conftest import env_of, reconfigured, shop, smtp_settings, write

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime.now(UTC)


# ------------------------------------------------------------------ the state machine
def test_a_metric_flapping_at_the_warning_line_notifies_once_and_resolves_once():
    repeat = timedelta(hours=24)
    previous = None
    events = []
    shares = [0.031, 0.029, 0.0305, 0.0295, 0.031, 0.028, 0.030, 0.027, 0.0301, 0.022]
    for hour, share in enumerate(shares):
        status = "warning" if share >= 0.03 else "good"
        s = state.step(
            previous, state.Observation(status, share, (0.75 - 0.1) * 0.04), NOW + timedelta(hours=hour), repeat
        )
        events.append(s.event)
        previous = state.Previous(s.level, s.since, s.notified_level, s.last_notified_at)
    without_hysteresis = sum(1 for a, b in zip(shares, shares[1:], strict=False) if (a >= 0.03) != (b >= 0.03))
    assert events.count("firing") == 1 and events.count("resolved") == 1
    assert [e for e in events if e] == ["firing", "resolved"]
    assert without_hysteresis == 9  # the series crosses the line 9 times: 9 notices without hysteresis


def test_escalation_repeat_and_resolution():
    repeat = timedelta(hours=24)
    s1 = state.step(None, state.Observation("warning", 0.031, 0.026), NOW, repeat)
    p = state.Previous(s1.level, s1.since, s1.notified_level, s1.last_notified_at)
    s2 = state.step(p, state.Observation("critical", 0.05, 0.026), NOW + timedelta(hours=1), repeat)
    assert (s1.event, s2.event, s2.level) == ("firing", "escalated", "critical")
    p = state.Previous(s2.level, s2.since, s2.notified_level, s2.last_notified_at)
    s3 = state.step(p, state.Observation("critical", 0.05, 0.026), NOW + timedelta(hours=2), repeat)
    s4 = state.step(p, state.Observation("critical", 0.05, 0.026), NOW + timedelta(hours=25), repeat)
    assert (s3.event, s4.event) == (None, "repeat")
    s5 = state.step(p, state.Observation("warning", 0.035, 0.026), NOW + timedelta(hours=3), repeat)
    assert (s5.event, s5.level) == (None, "warning")  # de-escalation is quiet
    s6 = state.step(p, state.Observation("good", 0.01, 0.026), NOW + timedelta(hours=4), repeat)
    assert (s6.event, s6.level) == ("resolved", "ok")
    never_sent = state.Previous(AlertLevel.WARNING, NOW, None, None)
    assert state.step(never_sent, state.Observation("good", 0.0, 0.026), NOW, repeat).event is None


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def shop_db(monitor, tmp_path):
    monitor.import_paths([shop(tmp_path)], account="acme")
    return monitor


def run_check(monitor: Monitor, settings=None, now=NOW, dry_run=False, printed=None, as_of=AS_OF):
    """A check at AS_OF, seen at `now`, with `settings` (default: the monitor's)."""
    sleeps: list[float] = []
    checker = Monitor(
        settings or monitor.settings,
        monitor.sessions,
        monitor.http,
        lambda: now,
        printed.append if printed is not None else None,
        sleeps.append,
    )
    result = checker.check(as_of, dry_run)
    result.sleeps = sleeps  # type: ignore[attr-defined]
    return result


def count(monitor, model, *where) -> int:
    with monitor.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


# ------------------------------------------------------------------ checks
def test_one_message_per_account_with_every_firing_metric_critical_first(shop_db):
    printed: list[str] = []
    result = run_check(shop_db, printed=printed)
    assert len(result.messages) == 1
    text = words.text(result.messages[0])
    for title in (
        "Late Shipment Rate (10 days), MFN",
        "Late Shipment Rate (30 days), MFN",
        "Pre-fulfilment Cancellation Rate, MFN",
    ):
        assert f"CRITICAL {title}" in text
    assert "3 late of 23 shipments, window 2026-10-22 to 2026-10-31" in text
    assert "LATE-1: shipped 10 h after the expected ship date (SKU POT)" in text
    assert text.count("Confirm every shipment before its expected ship date") == 1  # 10 and 30 days: advice once
    assert text.count("LATE-1: shipped") == 1  # and each order once
    assert f"Dashboard: file://{Path(shop_db.settings.reports_dir).resolve()}/{page_name('acme')}" in text
    # the subject (what a phone shows) carries the headline: the number, the limit, since when, what to do
    subject = words.subject(result.messages[0])
    assert subject.startswith("[account-health] acme: CRITICAL (+2 more): LSR 10d 13.04 % (limit 4 %), critical since ")
    assert "1 order still unconfirmed past or at its ship-by: OPEN-1" in subject
    assert text.splitlines()[1] == subject.split(": ", 2)[2]  # the same sentence heads the body
    assert printed == [text]  # the console notifier
    assert result.delivery.sent == 1 and not result.failed


def test_dry_run_prints_and_changes_nothing(shop_db):
    result = run_check(shop_db, dry_run=True)
    assert len(result.messages) == 1 and result.dry_run
    assert count(shop_db, AlertState) == 0 and count(shop_db, Notification) == 0
    out = CliRunner().invoke(cli, ["check", "--dry-run", "--as-of", "2026-10-31"], env=env_of(shop_db.settings))
    assert out.exit_code == 0 and "would send: [account-health] acme: CRITICAL" in out.output
    assert count(shop_db, AlertState) == 0


def test_dry_run_after_a_check_says_nothing_is_due_and_all_prints_what_still_fires(shop_db):
    run_check(shop_db)
    env = env_of(shop_db.settings)
    again = CliRunner().invoke(cli, ["check", "--dry-run", "--as-of", "2026-10-31"], env=env)
    assert again.exit_code == 0 and "would send" not in again.output
    assert "0 messages due" in again.output and "`check --dry-run --all` prints them again" in again.output
    every = CliRunner().invoke(cli, ["check", "--dry-run", "--all", "--as-of", "2026-10-31"], env=env)
    assert every.exit_code == 0 and "would send: [account-health] acme: CRITICAL" in every.output
    assert "1 message due" in every.output and "LATE-1: shipped" in every.output
    assert count(shop_db, Notification) == 1  # nothing sent again
    refused = CliRunner().invoke(cli, ["check", "--all"], env=env)
    assert refused.exit_code == 2 and "--all only goes with --dry-run" in refused.output


def test_links_start_with_the_dashboard_base_url(shop_db):
    settings = reconfigured(shop_db.settings, dashboard_base_url="https://health.example.com/acme-team")
    (message,) = run_check(shop_db, settings, dry_run=True).messages
    assert message.dashboard_url == f"https://health.example.com/acme-team/{page_name('acme')}"
    with Monitor.open(settings) as monitor:
        built = monitor.build_dashboards(as_of=AS_OF)
    page = built.pages[0].read_text(encoding="utf-8")
    assert 'href="https://health.example.com/acme-team/index.html"' in page
    assert 'href="https://health.example.com/acme-team/appeal-' in page


def test_a_restart_between_checks_sends_nothing_twice(shop_db):
    run_check(shop_db)
    with Monitor.open(shop_db.settings) as again:  # a new process, as far as the database can tell
        assert run_check(again, now=NOW + timedelta(hours=1)).messages == []
        assert count(shop_db, Notification) == 1
        later = run_check(again, now=NOW + timedelta(hours=25))
        assert len(later.messages) == 1  # ALERT_REPEAT_HOURS later, the repeat


def test_stale_data_raises_a_no_data_alert(shop_db):
    result = run_check(shop_db, as_of=AS_OF + timedelta(hours=40))  # the newest order is 44 h old then
    assert result.stale_accounts == ["acme"] and result.failed
    text = words.text(result.messages[0])
    assert "STALE DATA Report data is stale" in text and "Its newest order is from 2026-10-31 20:00 UTC" in text


# ------------------------------------------------------------------ Slack
def test_slack_gets_text_and_blocks_with_report_strings_escaped(monitor, tmp_path, slack):
    rows = (
        "order_id,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at,sku\n"
        + "".join(
            f"A{n},2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:00:00Z,2026-10-26T10:00:00Z,OK\n" for n in range(10)
        )
        + 'X1,2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:00:00Z,2026-10-29T10:00:00Z,"<script>alert(1)</script>"\n'
        + 'X2,2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:00:00Z,2026-10-29T10:00:00Z,"""><img src=x onerror=alert(2)>"\n'
    )
    monitor.import_paths([write(tmp_path / "o.csv", rows)], account="acme")
    result = run_check(monitor, reconfigured(monitor.settings, slack_webhook_url=slack.url))
    assert result.delivery.sent == 2  # console and Slack
    (payload,) = slack.received
    assert payload["text"].startswith("[account-health] acme: CRITICAL")
    assert payload["blocks"][0]["type"] == "header" and len(payload["blocks"]) <= 50
    body = "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>" not in body
    assert '"&gt;&lt;img src=x onerror=alert(2)&gt;' in body
    page = words.html(result.messages[0])
    assert "<script>" not in page and "&lt;script&gt;" in page and "<img src=x" not in page


def test_slack_429_honours_retry_after(shop_db, slack):
    slack.script.append((429, "rate_limited", {"Retry-After": "7"}))
    result = run_check(shop_db, reconfigured(shop_db.settings, slack_webhook_url=slack.url))
    assert result.sleeps == [7.0] and len(slack.received) == 1 and result.delivery.sent == 2


def test_slack_404_means_dead_no_more_tries_and_no_secret_in_sight(shop_db, slack, caplog):
    caplog.set_level(logging.DEBUG)
    slack.script.append((404, "no_service", {}))
    settings = reconfigured(shop_db.settings, slack_webhook_url=slack.url)
    result = run_check(shop_db, settings)
    assert result.delivery.dead == 1 and result.delivery.dead_notifiers == ["slack"] and result.failed
    with shop_db.sessions() as session:
        assert session.get_one(NotifierHealth, "slack").dead
    later = run_check(shop_db, settings, now=NOW + timedelta(hours=25))
    assert len(later.messages) == 1 and slack.received == []  # not tried again
    assert "secret-token-XYZ" not in caplog.text
    with shop_db.sessions() as session:
        errors = " ".join(filter(None, session.scalars(select(Delivery.last_error))))
    assert "no_service" in errors and "secret-token-XYZ" not in errors


def test_slack_5xx_is_retried_and_delivered_exactly_once_on_the_next_run(shop_db, slack):
    slack.script.extend([(500, "oops", {})] * 3)
    settings = reconfigured(shop_db.settings, slack_webhook_url=slack.url)
    first = run_check(shop_db, settings)
    assert first.sleeps == [2.0, 4.0] and first.delivery.pending == 1 and slack.received == []
    second = run_check(shop_db, settings, now=NOW + timedelta(minutes=5))
    assert second.messages == [] and second.delivery.sent == 1 and len(slack.received) == 1
    third = run_check(shop_db, settings, now=NOW + timedelta(minutes=10))
    assert third.delivery.sent == 0 and len(slack.received) == 1


# ------------------------------------------------------------------ the generic webhook
def test_webhook_notifier_posts_the_message_as_json_with_its_figures(shop_db, slack):
    result = run_check(shop_db, reconfigured(shop_db.settings, webhook_url=slack.url))
    assert result.delivery.sent == 2
    (payload,) = slack.received
    assert payload["account"] == "acme" and payload["level"] == "critical"
    assert payload["subject"].startswith("[account-health] acme: CRITICAL")
    lsr = next(a for a in payload["alerts"] if a["value"] and a["value"]["metric"] == "lsr_10d")
    assert (lsr["value"]["numerator"], lsr["value"]["denominator"], lsr["level"]) == (3, 23, "critical")
    assert {o["order_id"] for o in lsr["offenders"]} == {"LATE-1", "LATE-2", "OPEN-1"}


def test_a_new_notifier_is_one_registry_line():
    assert set(NOTIFIERS) == {"console", "slack", "email", "webhook"}
    for kind, notifier in NOTIFIERS.items():
        assert notifier.kind == kind


# ------------------------------------------------------------------ e-mail
def test_email_to_several_recipients_with_text_and_html(shop_db, smtp, free_port):
    server = smtp(free_port)
    result = run_check(shop_db, smtp_settings(shop_db.settings, free_port))
    assert result.delivery.sent == 2
    ((recipients, raw),) = server.inbox.messages
    assert recipients == ["owner@example.com", "ops@example.com"]
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"].strip().startswith("[account-health] acme: CRITICAL")
    assert parsed.get_body(("plain",)).get_content().startswith("Account health of acme")
    body = parsed.get_body(("html",)).get_content()
    assert "Account health of acme</td>" in body and "LSR 10d 13.04 % (limit 4 %)" in body
    # styled for e-mail clients: inline styles and bgcolor attributes, nothing fetched from elsewhere
    assert 'bgcolor="#d92d20"' in body and "<style" not in body and "<link" not in body and "src=" not in body


def tls(tmp_path):
    """A throw-away CA: the server's TLS context, and the CA file the client trusts."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls_with_login(shop_db, tmp_path, security, smtp, free_port):
    server_context, ca_file = tls(tmp_path)
    contexts = {"tls_context": server_context} if security == "starttls" else {"ssl_context": server_context}
    server = smtp(free_port, **contexts)
    ok = run_check(
        shop_db,
        smtp_settings(
            shop_db.settings,
            free_port,
            smtp_security=security,
            smtp_username="alerts",
            smtp_password="pw-123",
            smtp_ca_file=ca_file,
        ),
    )
    assert ok.delivery.sent == 2 and len(server.inbox.messages) == 1


def test_email_refused_login_is_permanent_and_the_password_never_shows(shop_db, smtp, free_port, caplog):
    caplog.set_level(logging.DEBUG)
    server = smtp(free_port)
    result = run_check(
        shop_db, smtp_settings(shop_db.settings, free_port, smtp_username="alerts", smtp_password="wrong-Secret-987")
    )
    assert result.delivery.dead == 1 and server.inbox.messages == []
    assert "wrong-Secret-987" not in caplog.text
    with shop_db.sessions() as session:
        stored = " ".join(str(v) for v in session.scalars(select(NotifierHealth.fingerprint)))
    assert "wrong-Secret-987" not in stored


def test_a_fixed_password_revives_email_and_sends_what_it_missed(shop_db, smtp, free_port):
    """The bug of issue 12: the fingerprint left out the password, so e-mail stayed dead."""
    server = smtp(free_port)
    wrong = smtp_settings(shop_db.settings, free_port, smtp_username="alerts", smtp_password="wrong")
    assert run_check(shop_db, wrong).delivery.dead == 1
    fixed = smtp_settings(shop_db.settings, free_port, smtp_username="alerts", smtp_password="pw-123")
    later = run_check(shop_db, fixed, now=NOW + timedelta(hours=1))
    assert later.messages == []  # nothing new to say: the missed alert is what goes out
    assert later.delivery.sent == 1 and len(server.inbox.messages) == 1
    with shop_db.sessions() as session:
        assert session.get(NotifierHealth, "email") is None


def test_fingerprints_cover_every_setting_including_secrets(settings):
    base = smtp_settings(settings, 2525, smtp_username="alerts", smtp_password="one")

    def fingerprint(s) -> str:
        notifier = EmailNotifier.from_settings(s, None, None)  # type: ignore[arg-type]
        assert notifier is not None
        return notifier.fingerprint

    same = fingerprint(base)
    assert fingerprint(reconfigured(base, smtp_password="two")) != same
    assert fingerprint(reconfigured(base, smtp_ca_file="/etc/ca.pem")) != same
    assert fingerprint(reconfigured(base, alert_email_from="other@example.com")) != same
    assert fingerprint(base) == same and "one" not in same


def test_notifier_reset_revives_a_dead_notifier_and_queues_what_it_missed(shop_db, slack):
    slack.script.append((404, "no_service", {}))
    settings = reconfigured(shop_db.settings, slack_webhook_url=slack.url)
    assert run_check(shop_db, settings).delivery.dead == 1
    out = CliRunner().invoke(cli, ["notifier", "reset", "slack"], env=env_of(settings))
    assert out.exit_code == 0 and "1 missed messages queued" in out.output
    again = run_check(shop_db, settings, now=NOW + timedelta(minutes=5))
    assert again.delivery.sent == 1 and len(slack.received) == 1
    assert slack.received[0]["text"].startswith("[account-health] acme: CRITICAL")
    bad = CliRunner().invoke(cli, ["notifier", "reset", "pager"], env=env_of(settings))
    assert bad.exit_code != 0


def test_smtp_down_during_one_check_and_back_for_the_next_delivers_exactly_once(shop_db, smtp, free_port):
    settings = smtp_settings(shop_db.settings, free_port)
    down = run_check(shop_db, settings)
    assert down.delivery.pending == 1 and down.failed
    server = smtp(free_port)
    up = run_check(shop_db, settings, now=NOW + timedelta(minutes=5))
    again = run_check(shop_db, settings, now=NOW + timedelta(minutes=10))
    assert up.delivery.sent == 1 and again.delivery.sent == 0 and len(server.inbox.messages) == 1


def test_a_half_configured_email_is_a_configuration_error(settings):
    with pytest.raises(ConfigError, match="SMTP_HOST is set but ALERT_EMAIL_FROM is empty"):
        configured(reconfigured(settings, smtp_host="mail.example.com", alert_email_to="a@example.com"), None)  # type: ignore[arg-type]


def test_no_header_injection_through_an_account_name():
    message = Message(
        "evil\r\nBcc: victim@example.com", items=(Item(AlertLevel.CRITICAL, "firing", None),), dashboard_url="file:///x"
    )
    assert "\n" not in words.subject(message) and "\r" not in words.subject(message)
    assert json.loads(json.dumps(words.slack(message)))["text"].count("\n") == 0


# ------------------------------------------------------------------ metrics v2 in the messages
def test_the_projection_is_said_in_words(monitor, tmp_path):
    """metrics.md, Projection: the orders leaving Amazon's window tomorrow leave 1 defect in 60:
    Amazon will show at least 1.67 % on the next day, though today's value is good."""
    rows = [f"OLD-{n},2026-08-18T00:30:00Z,MFN,Shipped" for n in range(300)]  # leave the window tomorrow
    rows += [f"NEW-{n},2026-09-21T10:00:00Z,MFN,Shipped" for n in range(60)]
    write(tmp_path / "o.csv", "order_id,purchase_date,fulfillment_channel,order_status\n" + "\n".join(rows) + "\n")
    write(tmp_path / "d.csv", "order_id,defect_type,received_at,status\nNEW-1,a_to_z_claim,2026-10-20T00:00:00Z,open\n")
    monitor.import_paths([tmp_path / "o.csv", tmp_path / "d.csv"], account="acme")
    result = run_check(monitor)
    (message,) = result.messages
    odr = next(i.value for i in message.items if i.value and i.value.metric == "odr")
    assert (odr.numerator, odr.denominator, odr.status) == (1, 360, "warning")
    assert (odr.projected_rate, odr.projected_date) == (1 / 60, "2026-11-02")
    assert "Amazon will show at least 1.67 % on 2026-11-02" in words.text(message)


def test_amazons_own_signals_alert_by_themselves(monitor, reference, tmp_path):
    """metrics.md, Amazon's own figures: an Account Health Rating below 200, or an account status
    other than normal, alerts without any order."""
    document = json.loads(
        (reference / "amazon" / "transcribed__GET_V2_SELLER_PERFORMANCE_REPORT_DE_excerpt.json").read_text()
    )
    document["performanceMetrics"][0]["accountHealthRating"]["ahrScore"] = 150
    document["accountStatuses"][0]["status"] = "AT_RISK"
    monitor.import_paths([write(tmp_path / "report.json", json.dumps(document))], account="bolt")
    result = monitor.check()  # now: the report has no late-shipment range, so it counts from its import
    (message,) = result.messages
    text = words.text(message)
    assert "CRITICAL Amazon's Account Health Rating on Amazon.de (Germany)" in text
    assert "Amazon rates the account's health 150: at risk (below 200)" in text
    assert "WARNING Amazon's account status on Amazon.de (Germany)" in text
    assert {(t.marketplace, t.metric, t.level) for t in result.firing} >= {
        ("amazon.de", "amazon_ahr", "critical"),
        ("amazon.de", "amazon_status", "warning"),
    }


def test_sources_rebuilt_from_the_data_equal_what_imports_recorded(monitor, reference, tmp_path):
    from monitor.models import AccountSource
    from monitor.sources import rebuild_sources

    monitor.import_paths([shop(tmp_path), reference / "amazon" / "accountHealthReport-example.json"], account="acme")
    write(tmp_path / "d.csv", "order_id,defect_type,received_at,status\nOK-1,chargeback,2026-10-20T00:00:00Z,open\n")
    monitor.import_paths([tmp_path / "d.csv"], account="acme")

    def recorded() -> dict:
        with monitor.sessions() as session:
            return {
                (s.account_id, s.marketplace, s.source): s.newest_data_at
                for s in session.scalars(select(AccountSource))
            }

    before = recorded()
    with monitor.sessions.begin() as session:
        rebuild_sources(session)
    after = recorded()
    assert set(before) == set(after)
    assert all(before[k] == after[k] for k in before if k[2] != "amazon_report")  # the report: its day vs import
