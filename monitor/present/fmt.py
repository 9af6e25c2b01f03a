"""One formatter per concept, shared by the terminal, the pages, the e-mails and the drafts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from monitor.domain import STARS, Direction, Status
from monitor.printable import printable as clean  # every string from a report, before a terminal or a message

__all__ = ["clean"]

NONE = "–"  # how a missing number is shown, everywhere

STATUS_LABELS = {Status.CRITICAL: "critical", Status.WARNING: "warning", Status.GOOD: "good", Status.NO_DATA: "no data"}
# colours: terminal names (click) and hex (pages, e-mail), per status or alert level
TERMINAL_COLOURS = {
    "critical": "red",
    "warning": "yellow",
    "good": "green",
    "no_data": "bright_black",
    "ok": "green",
    "resolved": "green",
}
HEX_COLOURS = {
    "critical": "#d92d20",
    "warning": "#f79009",
    "good": "#12b76a",
    "no_data": "#98a2b3",
    "ok": "#12b76a",
    "resolved": "#067647",
    "notice": "#2e90fa",
}
LEVEL_LABELS = {
    "critical": "CRITICAL",
    "warning": "WARNING",
    "no_data": "STALE DATA",
    "resolved": "RESOLVED",
    "notice": "NOTICE",
}


def full_scale(unit: str = "share") -> float:
    """What a rate of 1 is shown as: 100 (%), or 5 (stars, for an average rating)."""
    return STARS if unit == "stars" else 100


def unit_label(unit: str = "share") -> str:
    return "stars" if unit == "stars" else "%"


def percent(rate: float | None, none: str = NONE, unit: str = "share") -> str:
    """A rate as a percentage with two decimals ("4.11 %"), or an average rating in stars
    ("4.85 stars"); `none` when there is none."""
    if rate is None:
        return none
    return f"{rate * full_scale(unit):.2f} {unit_label(unit)}"


def figure(v: Any) -> str:
    """A value's figure: ours, else the marketplace's own ("93.50 % (Walmart's)"), else "no data"."""
    unit = v.definition.unit
    if v.rate is not None:
        return percent(v.rate, unit=unit)
    if v.amazon_rate is not None:
        return f"{percent(v.amazon_rate, unit=unit)} ({whose(v.marketplace)})"
    return "no data"


def status_label(status: str) -> str:
    return STATUS_LABELS[Status(status)]


def level_label(level: str) -> str:
    return LEVEL_LABELS[str(level)]


def target(
    limit: float, direction: Direction | str, words: bool = False, unit: str = "share", at_limit_ok: bool = False
) -> str:
    """The target: "< 4 %" and ">= 95 %" (or "below 4 %", "at least 95 %" in words; ">= 4.8 stars");
    "<= 2 %" ("at most 2 %") where the limit itself is allowed (Walmart's, eBay's)."""
    amount = f"{limit * full_scale(unit):g} {unit_label(unit)}"
    if direction != Direction.MAX:
        return f"{'at least' if words else '>='} {amount}"
    if at_limit_ok:
        return f"{'at most' if words else '<='} {amount}"
    return f"{'below' if words else '<'} {amount}"


def day(moment: date | datetime | None) -> str:
    """A calendar day, ISO ("2026-11-27")."""
    if moment is None:
        return NONE
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


def window(start: datetime, end: datetime, joiner: str = " to ") -> str:
    """A window of whole days, its last day inclusive as Amazon writes it ("2026-10-28 to 2026-11-26");
    `end` is exclusive (midnight after the last day)."""
    return f"{day(start)}{joiner}{day(end - timedelta(days=1))}"


def minute(moment: datetime | None, none: str = "never") -> str:
    """A time to the minute, in UTC ("2026-11-27 06:02 UTC")."""
    return none if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def plural(n: int, word: str) -> str:
    """ "1 message", "2 messages"."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def count(value: int | None) -> str:
    return NONE if value is None else str(value)


def source_label(source: str) -> str:
    """A data source in words ("ship confirmations")."""
    from monitor.coverage import LABELS
    from monitor.domain import Source

    return LABELS[Source(source)]


def counts(v: Any) -> str:
    """A value's counts with their nouns: "13 late of 316 shipments", "1 of 221 orders cancelled by
    the seller", "893 of 970 shipments with valid tracking"."""
    family = str(v.definition.family)
    if v.definition.direction != Direction.MAX:  # a MIN metric counts the good ones (Etsy: shipped on time)
        return f"{v.numerator} of {v.denominator} {v.definition.numerator_label}"
    if family == "lsr":
        return f"{v.numerator} late of {v.denominator} shipments"
    if family == "cr":
        return f"{v.numerator} of {v.denominator} orders cancelled by the seller"
    return f"{v.numerator} of {v.denominator} {v.definition.numerator_label}"


SINGULAR = {"orders": "order", "shipments": "shipment", "cancellations": "cancellation", "units": "unit"}


def more(n: int, label: str) -> str:
    """ "1 more late shipment", "3 more late shipments" (label: the plural, as metrics name it)."""
    if n != 1:
        return f"{n} more {label}"
    words = label.split(" ")
    at = next((i for i, w in enumerate(words) if w in SINGULAR), None)
    if at is not None:
        words[at] = SINGULAR[words[at]]
    return f"1 more {' '.join(words)}"


def headroom(v: Any) -> str:
    """ "headroom: 0 more late shipments" (how many more bad ones keep the target)."""
    return "" if v.headroom is None else f"headroom: {more(v.headroom, v.definition.miss_label)}"


def who(marketplace: str) -> str:
    """Whose standards judge a marketplace: "Amazon", "Walmart", "eBay", "Etsy"."""
    from monitor.marketplaces import channel_of

    return {"amazon": "Amazon", "walmart": "Walmart", "ebay": "eBay", "etsy": "Etsy"}[channel_of(marketplace)]


def whose(marketplace: str) -> str:
    """Whose window and figures: "Amazon's", "Walmart's", "eBay's", "Etsy's"."""
    return f"{who(marketplace)}'s"
