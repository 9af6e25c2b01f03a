"""Retries in one place: exponential back-off, and a server's `Retry-After` when it sends one.

A callee signals a failure worth retrying by raising `TransientError` (with the
server's wait, if any); anything else goes straight through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransientError(Exception):
    """A failure that may pass: retry after `retry_after` seconds (None: the back-off decides)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def with_retries(
    attempt: Callable[[], T],
    *,
    attempts: int,
    backoff: float,
    max_wait: float,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "call",
) -> tuple[T, int]:
    """Run `attempt` until it returns, retrying on TransientError up to `attempts` times in all.

    Returns (its result, the attempts it took); the last TransientError is raised again.
    """
    wait = backoff
    for number in range(1, attempts + 1):
        try:
            return attempt(), number
        except TransientError as exc:
            if number == attempts:
                raise
            pause = min(exc.retry_after if exc.retry_after is not None else wait, max_wait)
            log.info("%s: %s; retrying in %.1f s", what, exc, pause)
            sleep(pause)
            wait = min(wait * 2, max_wait)
    raise AssertionError("unreachable: attempts must be at least 1")
