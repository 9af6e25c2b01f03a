"""A generic JSON webhook: each alert message POSTed as JSON (for Teams flows, n8n, Zapier,
a ticket system...). Any 2xx is accepted; 404 and 410 mean the hook is gone."""

from __future__ import annotations

import json

import httpx

from monitor.alerts.message import Message
from monitor.config import Settings
from monitor.notifiers.base import Notifier, Printer, post_json
from monitor.present import alerts as words


class WebhookNotifier(Notifier):
    kind = "webhook"

    def __init__(self, url: str, http: httpx.Client) -> None:
        self.url = url
        self.http = http

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.Client, printer: Printer | None) -> WebhookNotifier | None:
        return cls(settings.webhook_url, http) if settings.webhook_url else None

    def settings_text(self) -> tuple[list[str], list[str]]:
        return [], [self.url]

    def render(self, message: Message) -> str:
        return json.dumps(words.webhook(message))

    def send(self, payload: str) -> None:
        post_json(self.http, self.url, payload, "webhook")
