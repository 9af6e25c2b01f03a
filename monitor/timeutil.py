"""Timestamps: everything is stored and compared in UTC."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

# Amazon's older flat files write "2023-10-20 12:34:56 PDT"; map the common zone names.
_ZONE_ABBREVIATIONS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "PST": -8,
    "PDT": -7,
    "MST": -7,
    "MDT": -6,
    "CST": -6,
    "CDT": -5,
    "EST": -5,
    "EDT": -4,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "JST": 9,
    "IST": 5.5,
    "AEST": 10,
    "AEDT": 11,
}
_ABBREVIATION = re.compile(r"^(?P<stamp>.+?)\s+(?P<zone>[A-Z]{1,4})$")

# The times a report may hold: anything else is a bad row at import, never stored (a year-9999
# date would break every later computation of the account, and pandas cannot hold it).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive
RANGE_TEXT = "1970-2099"


def in_range(moment: datetime) -> datetime:
    """`moment` if it lies in EARLIEST..LATEST, else ValueError."""
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"{moment:%Y-%m-%d} is outside {RANGE_TEXT}")
    return moment


def to_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is read as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp or date into an aware UTC datetime.

    No offset means UTC. A bare date means midnight UTC of that day. Raises ValueError with a
    short reason, also for a time outside EARLIEST..LATEST.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty timestamp")
    match = _ABBREVIATION.match(text)
    try:
        if match and match["zone"] in _ZONE_ABBREVIATIONS:
            hours = _ZONE_ABBREVIATIONS[match["zone"]]
            moment = _fromiso(match["stamp"])
            return in_range(to_utc(moment.replace(tzinfo=None) - timedelta(hours=hours)))
        return in_range(to_utc(_fromiso(text)))
    except OverflowError:
        raise ValueError(f"{text[:40]!r} is outside {RANGE_TEXT}") from None


def _fromiso(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {text[:40]!r}") from None


def parse_with_formats(text: str, formats: Sequence[str]) -> datetime:
    """Parse with each strptime format in turn; the first that fits wins (UTC)."""
    text = text.strip()
    if not text:
        raise ValueError("empty date")
    for fmt in formats:
        try:
            moment = to_utc(datetime.strptime(text, fmt))
        except ValueError:
            continue
        return in_range(moment)
    raise ValueError(f"date {text[:40]!r} matches none of {', '.join(formats)}")


def parse_as_of(text: str) -> datetime:
    """--as-of: an ISO timestamp as is; a bare date D means the end of D (D+1 00:00 UTC)."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return parse_timestamp(text)
    return in_range(datetime.combine(day, time(0), tzinfo=UTC)) + timedelta(days=1)


def utcnow() -> datetime:
    """The current time, aware, in UTC (the only place the clock is read)."""
    return datetime.now(UTC)
