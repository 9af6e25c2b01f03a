"""Alerts end to end: state, grouping, message, Slack and SMTP on loopback, the outbox."""

from __future__ import annotations

import email
import logging
import socket
import ssl
from datetime import UTC, datetime, timedelta
from email import policy

import httpx
import pytest
import trustme
from click.testing import CliRunner
from sqlalchemy import func, select

from monitor import db
from monitor.alerts import check_once, state
from monitor.alerts import message as msg
from monitor.alerts.channels import configured
from monitor.cli import cli
from monitor.config import load_settings
from monitor.ingest import import_file
from monitor.models import AlertState, ChannelHealth, Delivery, Notification
from tests.servers import Inbox, SlackLike, smtp_controller
from tests.test_health import shop, write

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
        s = state.step(previous, state.Observation(status, share, (0.75 - 0.1) * 0.04),
                       NOW + timedelta(hours=hour), repeat)
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
    never_sent = state.Previous("warning", NOW, None, None)
    assert state.step(never_sent, state.Observation("good", 0.0, 0.026), NOW, repeat).event is None


# ------------------------------------------------------------------ fixtures
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def shop_db(sessions, settings, tmp_path):
    import_file(sessions, shop(tmp_path), settings, account="acme")
    return sessions


def run_check(sessions, settings, now=NOW, dry_run=False, printed=None):
    sleeps: list[float] = []
    with httpx.Client(timeout=5) as client:
        channels = configured(settings, client, printed.append if printed is not None else None)
        result = check_once(sessions, settings, channels, AS_OF, now, dry_run, sleep=sleeps.append)
    result.sleeps = sleeps
    return result


def with_settings(settings, **values):
    env = {k.upper(): str(v) for k, v in values.items()}
    env["DATABASE_URL"] = settings.database_url
    return load_settings(environ=env)


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


# ------------------------------------------------------------------ checks
def test_one_message_per_account_with_every_firing_metric_critical_first(shop_db, settings):
    printed: list[str] = []
    result = run_check(shop_db, settings, printed=printed)
    assert len(result.messages) == 1
    text = result.messages[0].text
    assert text.index("CRITICAL") < text.index("WARNING Valid Tracking Rate")
    for title in ("Late Shipment Rate (10 days), MFN", "Pre-fulfilment Cancellation Rate, MFN",
                  "Valid Tracking Rate, MFN"):
        assert title in text
    assert "3 of 23 late shipments, window 2026-10-22 to 2026-11-01" in text
    assert "LATE-1: shipped 10 h after the expected ship date (SKU POT)" in text
    assert "Confirm every shipment before its expected ship date" in text
    assert "Dashboard: file://" in text
    assert result.messages[0].subject.startswith("[account-health] acme: CRITICAL: ")
    assert printed == [text]  # the console channel
    assert result.delivery.sent == 1 and not result.failed


def test_dry_run_prints_and_changes_nothing(shop_db, settings):
    result = run_check(shop_db, settings, dry_run=True)
    assert len(result.messages) == 1 and result.dry_run
    assert count(shop_db, AlertState) == 0 and count(shop_db, Notification) == 0
    out = CliRunner().invoke(cli, ["check", "--dry-run", "--as-of",
                             "2026-10-31"], env={"DATABASE_URL": settings.database_url})
    assert out.exit_code == 0 and "would send: [account-health] acme: CRITICAL" in out.output
    assert count(shop_db, AlertState) == 0


def test_a_restart_between_checks_sends_nothing_twice(shop_db, settings):
    run_check(shop_db, settings)
    engine = db.make_engine(settings.database_url)  # a new process, as far as the database can tell
    try:
        again = run_check(db.session_factory(engine), settings, now=NOW + timedelta(hours=1))
        assert again.messages == [] and count(shop_db, Notification) == 1
        later = run_check(db.session_factory(engine), settings, now=NOW + timedelta(hours=25))
        assert len(later.messages) == 1  # ALERT_REPEAT_HOURS later, the repeat
    finally:
        engine.dispose()


def test_stale_data_raises_a_no_data_alert(shop_db, settings):
    result = run_check(shop_db, settings, now=NOW + timedelta(hours=40))
    assert result.stale_accounts == ["acme"] and result.failed
    assert "STALE DATA Report data is stale" in result.messages[0].text


# ------------------------------------------------------------------ Slack
def test_slack_gets_text_and_blocks_with_report_strings_escaped(sessions, settings, tmp_path):
    rows = ("order_id,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at,sku\n"
            + "".join(f"A{n},2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:00:00Z,2026-10-26T10:00:00Z,OK\n"
                      for n in range(10))
            + 'X1,2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:00:00Z,2026-10-29T10:00:00Z,"<script>alert(1)</script>"\n'
            + 'X2,2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:00:00Z,2026-10-29T10:00:00Z,"""><img src=x onerror=alert(2)>"\n')
    import_file(sessions, write(tmp_path / "o.csv", rows), settings, account="acme")
    with SlackLike() as slack:
        result = run_check(sessions, with_settings(settings, slack_webhook_url=slack.url))
        assert result.delivery.sent == 2  # console and Slack
        (payload,) = slack.received
    assert payload["text"].startswith("[account-health] acme: CRITICAL")
    assert payload["blocks"][0]["type"] == "header" and len(payload["blocks"]) <= 50
    body = "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>" not in body
    assert "\"&gt;&lt;img src=x onerror=alert(2)&gt;" in body
    html = result.messages[0].html
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img src=x" not in html


def test_slack_429_honours_retry_after(shop_db, settings):
    with SlackLike() as slack:
        slack.script.append((429, "rate_limited", {"Retry-After": "7"}))
        result = run_check(shop_db, with_settings(settings, slack_webhook_url=slack.url))
        assert result.sleeps == [7.0] and len(slack.received) == 1 and result.delivery.sent == 2


def test_slack_404_means_dead_no_more_tries_and_no_secret_in_sight(shop_db, settings, caplog):
    caplog.set_level(logging.DEBUG)
    with SlackLike() as slack:
        slack.script.append((404, "no_service", {}))
        configured_settings = with_settings(settings, slack_webhook_url=slack.url)
        result = run_check(shop_db, configured_settings)
        assert result.delivery.dead == 1 and result.delivery.dead_channels == ["slack"] and result.failed
        with shop_db() as session:
            assert session.get(ChannelHealth, "slack").dead
        later = run_check(shop_db, configured_settings, now=NOW + timedelta(hours=25))
        assert len(later.messages) == 1 and slack.received == []  # not tried again
    assert "secret-token-XYZ" not in caplog.text
    with shop_db() as session:
        errors = " ".join(filter(None, session.scalars(select(Delivery.last_error))))
    assert "no_service" in errors and "secret-token-XYZ" not in errors


def test_slack_5xx_is_retried_and_delivered_exactly_once_on_the_next_run(shop_db, settings):
    with SlackLike() as slack:
        slack.script.extend([(500, "oops", {})] * 3)
        configured_settings = with_settings(settings, slack_webhook_url=slack.url)
        first = run_check(shop_db, configured_settings)
        assert first.sleeps == [2.0, 4.0] and first.delivery.pending == 1 and slack.received == []
        second = run_check(shop_db, configured_settings, now=NOW + timedelta(minutes=5))
        assert second.messages == [] and second.delivery.sent == 1 and len(slack.received) == 1
        third = run_check(shop_db, configured_settings, now=NOW + timedelta(minutes=10))
        assert third.delivery.sent == 0 and len(slack.received) == 1


# ------------------------------------------------------------------ e-mail
def smtp_settings(settings, port, **extra):
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
              "alert_email_from": "monitor@example.com", "alert_email_to": "owner@example.com, ops@example.com"}
    return with_settings(settings, **{**values, **extra})


def test_email_to_several_recipients_with_text_and_html(shop_db, settings):
    inbox, port = Inbox(), free_port()
    controller = smtp_controller(inbox, port)
    controller.start()
    try:
        result = run_check(shop_db, smtp_settings(settings, port))
    finally:
        controller.stop()
    assert result.delivery.sent == 2
    ((recipients, raw),) = inbox.messages
    assert recipients == ["owner@example.com", "ops@example.com"]
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"].strip().startswith("[account-health] acme: CRITICAL")
    assert parsed.get_body(("plain",)).get_content().startswith("Account health of acme")
    assert "<h2>Account health of acme</h2>" in parsed.get_body(("html",)).get_content()


def tls(tmp_path):
    """A throw-away CA: the server's TLS context, and the CA file the client trusts."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls_with_login(shop_db, settings, tmp_path, security):
    server_context, ca_file = tls(tmp_path)
    inbox, port = Inbox(), free_port()
    contexts = {"tls_context": server_context} if security == "starttls" else {"ssl_context": server_context}
    controller = smtp_controller(inbox, port, **contexts)
    controller.start()
    try:
        ok = run_check(shop_db, smtp_settings(settings, port, smtp_security=security, smtp_username="alerts",
                                              smtp_password="pw-123", smtp_ca_file=ca_file))
    finally:
        controller.stop()
    assert ok.delivery.sent == 2 and len(inbox.messages) == 1


def test_email_refused_login_is_permanent_and_the_password_never_shows(shop_db, settings, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    inbox, port = Inbox(), free_port()
    controller = smtp_controller(inbox, port)
    controller.start()
    try:
        result = run_check(shop_db, smtp_settings(settings, port, smtp_username="alerts",
                                                  smtp_password="wrong-Secret-987"))
    finally:
        controller.stop()
    assert result.delivery.dead == 1 and inbox.messages == []
    assert "wrong-Secret-987" not in caplog.text


def test_smtp_down_during_one_check_and_back_for_the_next_delivers_exactly_once(shop_db, settings):
    port = free_port()
    configured_settings = smtp_settings(settings, port)
    down = run_check(shop_db, configured_settings)
    assert down.delivery.pending == 1 and down.failed
    inbox = Inbox()
    controller = smtp_controller(inbox, port)
    controller.start()
    try:
        up = run_check(shop_db, configured_settings, now=NOW + timedelta(minutes=5))
        again = run_check(shop_db, configured_settings, now=NOW + timedelta(minutes=10))
    finally:
        controller.stop()
    assert up.delivery.sent == 1 and again.delivery.sent == 0 and len(inbox.messages) == 1


def test_no_header_injection_through_an_account_name():
    message = msg.build("evil\r\nBcc: victim@example.com", [], [msg.Item("critical", "firing", None)], "file:///x")
    assert "\n" not in message.subject and "\r" not in message.subject
