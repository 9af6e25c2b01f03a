"""Slack, through an incoming webhook (text plus blocks)."""

from __future__ import annotations

import json

import httpx

from monitor.alerts.message import Message
from monitor.config import Settings
from monitor.notifiers.base import Notifier, Printer, post_json
from monitor.present import alerts as words


class SlackNotifier(Notifier):
    kind = "slack"

    def __init__(self, webhook_url: str, http: httpx.Client) -> None:
        self.url = webhook_url
        self.http = http

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.Client, printer: Printer | None) -> SlackNotifier | None:
        return cls(settings.slack_webhook_url, http) if settings.slack_webhook_url else None

    def settings_text(self) -> tuple[list[str], list[str]]:
        return [], [self.url]

    def render(self, message: Message) -> str:
        return json.dumps(words.slack(message))

    def send(self, payload: str) -> None:
        post_json(self.http, self.url, payload, "Slack webhook")
