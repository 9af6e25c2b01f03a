"""E-mail over SMTP (STARTTLS, implicit TLS or plain), text plus HTML."""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from monitor.alerts.message import Message
from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.notifiers.base import Notifier, NotifierDead, Printer
from monitor.present import alerts as words
from monitor.retry import TransientError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
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


class EmailNotifier(Notifier):
    kind = "email"

    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.Client, printer: Printer | None) -> EmailNotifier | None:
        if not settings.smtp_host:
            if settings.alert_email_to or settings.alert_email_from:
                raise ConfigError(
                    "e-mail alerts are half configured: ALERT_EMAIL_FROM/ALERT_EMAIL_TO are set but SMTP_HOST is empty"
                )
            return None
        missing = [
            name
            for name, value in (
                ("ALERT_EMAIL_FROM", settings.alert_email_from),
                ("ALERT_EMAIL_TO", settings.alert_email_to),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"e-mail alerts are half configured: SMTP_HOST is set but {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} empty"
            )
        return cls(
            SmtpSettings(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_security,
                settings.smtp_username,
                settings.smtp_password,
                settings.alert_email_from,
                settings.alert_email_to,
                settings.smtp_ca_file,
            )
        )

    def settings_text(self) -> tuple[list[str], list[str]]:
        s = self.smtp
        return [s.host, str(s.port), s.security, s.username, s.sender, ",".join(s.recipients), s.ca_file], [s.password]

    def render(self, message: Message) -> str:
        return json.dumps({"subject": words.subject(message), "text": words.text(message), "html": words.html(message)})

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

    def send(self, payload: str) -> None:
        s = self.smtp
        parts = json.loads(payload)
        email = EmailMessage()
        email["Subject"] = words.one_line(parts["subject"])
        email["From"] = s.sender
        email["To"] = ", ".join(s.recipients)
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        email.set_content(parts["text"])
        email.add_alternative(parts["html"], subtype="html")
        try:
            with self._connect() as server:
                if s.username:
                    server.login(s.username, s.password)
                refused = server.send_message(email)
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifierDead(f"SMTP login refused ({exc.smtp_code})") from None
        except smtplib.SMTPNotSupportedError:
            raise NotifierDead("SMTP server offers no login (AUTH): check SMTP_SECURITY") from None
        except smtplib.SMTPRecipientsRefused:
            raise NotifierDead("SMTP server refused every recipient") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(
                f"SMTP delivery failed ({type(exc).__name__}: {words.one_line(str(exc))[:120]})"
            ) from None
        if refused:
            log.warning("SMTP server refused %d of %d recipients", len(refused), len(s.recipients))
