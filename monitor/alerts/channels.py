"""Where messages go: Slack, e-mail, and the console (always on).

Each channel's `send(message)` returns when the channel accepted the message,
or raises ChannelError saying whether the failure is permanent (a Slack webhook
that answers 404 or 410 is dead) and how long to wait before a retry. The
retrying lives in one place: outbox.py.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from monitor.alerts.message import Message, one_line

log = logging.getLogger(__name__)


class ChannelError(Exception):
    """A channel did not take a message. `permanent`: retrying cannot help."""

    def __init__(self, reason: str, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after


def redact(text: str, secrets: list[str]) -> str:
    """Never let a secret (webhook URL, password) reach a log line or the database."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class Channel(ABC):
    name = "channel"

    @abstractmethod
    def send(self, message: Message) -> None:
        """Return once the channel accepted the message; raise ChannelError otherwise."""

    def fingerprint(self) -> str:
        """Changes when the channel's settings change (a dead channel gets a new chance)."""
        return hashlib.sha256(self.name.encode()).hexdigest()


class ConsoleChannel(Channel):
    """Always on: the message goes to the log (and to stdout through the CLI)."""

    name = "console"

    def __init__(self, printer=None) -> None:
        self.printer = printer

    def send(self, message: Message) -> None:
        log.warning("alert for %s: %s", message.account, message.subject)
        if self.printer:
            self.printer(message.text)


class SlackChannel(Channel):
    name = "slack"

    def __init__(self, webhook_url: str, client: httpx.Client) -> None:
        self.url = webhook_url
        self.client = client
        # httpx logs every request URL at INFO, and a webhook's URL is its secret
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()

    def send(self, message: Message) -> None:
        try:
            response = self.client.post(self.url, content=message.slack_json(),
                                        headers={"Content-Type": "application/json"})
        except httpx.TimeoutException:
            raise ChannelError("Slack webhook timed out") from None
        except httpx.HTTPError as exc:
            raise ChannelError(f"Slack webhook unreachable ({type(exc).__name__})") from None
        if response.status_code == 200:
            return
        body = one_line(response.text[:200])
        if response.status_code in (404, 410):
            raise ChannelError(f"Slack webhook is gone ({response.status_code} {body})", permanent=True)
        if response.status_code == 429:
            raise ChannelError("Slack rate limit (429)", retry_after=_seconds(response.headers.get("Retry-After")))
        if response.status_code >= 500:
            raise ChannelError(f"Slack server error ({response.status_code})")
        # 400 invalid_payload, 403 action_prohibited...: our message or the app's setup, not a passing fault
        raise ChannelError(f"Slack refused the message ({response.status_code} {body})", permanent=True)


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


@dataclass
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls, ssl, none
    username: str
    password: str
    sender: str
    recipients: tuple[str, ...]
    ca_file: str = ""
    timeout: float = 30.0


class EmailChannel(Channel):
    name = "email"

    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp

    def fingerprint(self) -> str:
        s = self.smtp
        return hashlib.sha256(f"{s.host}:{s.port}:{s.security}:{s.username}:{s.recipients}".encode()).hexdigest()

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.smtp.ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        s = self.smtp
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
        server = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.security == "starttls":
            server.starttls(context=self._context())
        return server

    def send(self, message: Message) -> None:
        s = self.smtp
        email = EmailMessage()
        email["Subject"] = one_line(message.subject)
        email["From"] = s.sender
        email["To"] = ", ".join(s.recipients)
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        try:
            with self._connect() as server:
                if s.username:
                    server.login(s.username, s.password)
                refused = server.send_message(email)
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(f"SMTP login refused ({exc.smtp_code})", permanent=True) from None
        except smtplib.SMTPNotSupportedError:
            raise ChannelError("SMTP server offers no login (AUTH): check SMTP_SECURITY", permanent=True) from None
        except smtplib.SMTPRecipientsRefused:
            raise ChannelError("SMTP server refused every recipient", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP delivery failed ({type(exc).__name__}: {one_line(str(exc))[:120]})") from None
        if refused:
            log.warning("SMTP server refused %d of %d recipients", len(refused), len(s.recipients))


def configured(settings, client: httpx.Client, printer=None) -> dict[str, Channel]:
    """The channels the settings switch on; the console is always there."""
    channels: dict[str, Channel] = {"console": ConsoleChannel(printer)}
    if settings.slack_webhook_url:
        channels["slack"] = SlackChannel(settings.slack_webhook_url, client)
    if settings.smtp_host and settings.alert_email_to and settings.alert_email_from:
        channels["email"] = EmailChannel(SmtpSettings(
            settings.smtp_host, settings.smtp_port, settings.smtp_security, settings.smtp_username,
            settings.smtp_password, settings.alert_email_from, settings.alert_email_to, settings.smtp_ca_file))
    return channels
