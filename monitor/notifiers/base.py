"""What every notifier is: built from settings (or not configured), renders its own payload
from a typed Message, and sends a stored payload.

`send` returns once the medium accepted the payload. It raises `NotifierDead` when
retrying cannot help (a Slack webhook answering 404 is gone, a login is refused),
and `retry.TransientError` when it may pass (a 5xx, a 429 with its Retry-After, a
timeout). Retrying lives in one place: the outbox.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import ClassVar

import httpx

from monitor.alerts.message import Message
from monitor.config import Settings
from monitor.retry import TransientError, parse_retry_after

Printer = Callable[[str], None]
FINGERPRINT_ROUNDS = 100_000


class NotifierDead(Exception):
    """The medium refused for good: no more tries until the notifier's settings change."""


class Notifier(ABC):
    kind: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings, http: httpx.Client, printer: Printer | None) -> Notifier | None:
        """The notifier the settings configure, or None when they leave it off."""

    @abstractmethod
    def render(self, message: Message) -> str:
        """The payload for `message`, as stored in the outbox."""

    @abstractmethod
    def send(self, payload: str) -> None:
        """Deliver a stored payload (see the module docstring for what it raises)."""

    def settings_text(self) -> tuple[list[str], list[str]]:
        """(plain settings, secret settings) that decide where messages go."""
        return [], []

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever any of the notifier's settings change, secrets included (through a
        keyed, slow hash, so the stored fingerprint gives a password away to no one)."""
        plain, secret = self.settings_text()
        key = hashlib.pbkdf2_hmac("sha256", "\x00".join(secret).encode(), self.kind.encode(), FINGERPRINT_ROUNDS)
        return hashlib.sha256(key + "\x00".join([self.kind, *plain]).encode()).hexdigest()


def post_json(http: httpx.Client, url: str, body: str, what: str, gone: Iterable[int] = (404, 410)) -> None:
    """POST a JSON payload to a webhook, turning its answer into the notifier contract."""
    try:
        response = http.post(url, content=body, headers={"Content-Type": "application/json"})
    except httpx.TimeoutException:
        raise TransientError(f"{what} timed out") from None
    except httpx.HTTPError as exc:
        raise TransientError(f"{what} unreachable ({type(exc).__name__})") from None
    if 200 <= response.status_code < 300:
        return
    detail = " ".join(response.text[:200].split())
    if response.status_code in tuple(gone):
        raise NotifierDead(f"{what} is gone ({response.status_code} {detail})")
    if response.status_code == 429:
        raise TransientError(f"{what} rate limit (429)", parse_retry_after(response.headers.get("Retry-After")))
    if response.status_code >= 500:
        raise TransientError(f"{what} server error ({response.status_code})")
    # 400 invalid_payload, 403 action_prohibited...: our message or the app's setup, not a passing fault
    raise NotifierDead(f"{what} refused the message ({response.status_code} {detail})")
