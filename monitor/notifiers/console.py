"""The console: always on. The message goes to the log, and to stdout through the CLI."""

from __future__ import annotations

import logging

import httpx

from monitor.alerts.message import Message
from monitor.config import Settings
from monitor.notifiers.base import Notifier, Printer
from monitor.present import alerts as words

log = logging.getLogger(__name__)


class ConsoleNotifier(Notifier):
    kind = "console"

    def __init__(self, printer: Printer | None = None) -> None:
        self.printer = printer

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.Client, printer: Printer | None) -> ConsoleNotifier:
        return cls(printer)

    def render(self, message: Message) -> str:
        return words.text(message)

    def send(self, payload: str) -> None:
        log.warning("alert: %s", payload.splitlines()[0] if payload else "")
        if self.printer:
            self.printer(payload)
