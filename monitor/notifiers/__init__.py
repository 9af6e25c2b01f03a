"""Notifiers: where alert messages go. A registry, as healthchecks' TRANSPORTS: a new
notifier is one module and one line below.

    console   always on: the log, and stdout through the CLI
    slack     SLACK_WEBHOOK_URL
    email     SMTP_HOST, ALERT_EMAIL_FROM, ALERT_EMAIL_TO (and SMTP_*)
    webhook   WEBHOOK_URL: a generic JSON POST
"""

from __future__ import annotations

import httpx

from monitor.config import Settings
from monitor.notifiers.base import Notifier, NotifierDead, Printer
from monitor.notifiers.console import ConsoleNotifier
from monitor.notifiers.email import EmailNotifier
from monitor.notifiers.slack import SlackNotifier
from monitor.notifiers.webhook import WebhookNotifier

NOTIFIERS: dict[str, type[Notifier]] = {
    n.kind: n for n in (ConsoleNotifier, SlackNotifier, EmailNotifier, WebhookNotifier)
}

__all__ = ["NOTIFIERS", "Notifier", "NotifierDead", "configured"]


def configured(settings: Settings, http: httpx.Client, printer: Printer | None = None) -> dict[str, Notifier]:
    """The notifiers the settings switch on, by kind; the console is always there."""
    found = {}
    for kind, notifier_class in NOTIFIERS.items():
        notifier = notifier_class.from_settings(settings, http, printer)
        if notifier is not None:
            found[kind] = notifier
    return found
