"""The one outgoing HTTP client (Slack, webhooks, the Selling Partner API)."""

from __future__ import annotations

import logging

import httpx

USER_AGENT = "account-health-monitor/0.1 (Language=Python)"


def make_client(timeout: float = 30.0) -> httpx.Client:
    """An httpx.Client; httpx's request log is quieted, since webhook URLs are secrets."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return httpx.Client(timeout=httpx.Timeout(timeout), headers={"user-agent": USER_AGENT})
