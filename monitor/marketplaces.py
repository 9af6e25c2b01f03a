"""Amazon's marketplaces: ids, domains, names and the time zone Amazon counts their days in.

An order's marketplace is stored as its domain (`amazon.com`), whatever the source
wrote (`ATVPDKIKX0DER`, `Amazon.com`, `www.amazon.de`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Marketplace:
    domain: str
    id: str
    name: str
    timezone: str  # where a date without a time begins and ends


MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("amazon.com", "ATVPDKIKX0DER", "Amazon.com (US)", "America/Los_Angeles"),
    Marketplace("amazon.ca", "A2EUQ1WTGCTBG2", "Amazon.ca (Canada)", "America/Los_Angeles"),
    Marketplace("amazon.com.mx", "A1AM78C64UM0Y8", "Amazon.com.mx (Mexico)", "America/Mexico_City"),
    Marketplace("amazon.com.br", "A2Q3Y263D00KWC", "Amazon.com.br (Brazil)", "America/Sao_Paulo"),
    Marketplace("amazon.co.uk", "A1F83G8C2ARO7P", "Amazon.co.uk (UK)", "Europe/London"),
    Marketplace("amazon.de", "A1PA6795UKMFR9", "Amazon.de (Germany)", "Europe/Berlin"),
    Marketplace("amazon.fr", "A13V1IB3VIYZZH", "Amazon.fr (France)", "Europe/Berlin"),
    Marketplace("amazon.it", "APJ6JRA9NG5V4", "Amazon.it (Italy)", "Europe/Berlin"),
    Marketplace("amazon.es", "A1RKKUPIHCS9HS", "Amazon.es (Spain)", "Europe/Berlin"),
    Marketplace("amazon.nl", "A1805IZSGTT6HS", "Amazon.nl (Netherlands)", "Europe/Berlin"),
    Marketplace("amazon.se", "A2NODRKZP88ZB9", "Amazon.se (Sweden)", "Europe/Berlin"),
    Marketplace("amazon.pl", "A1C3SOZRARQ6R3", "Amazon.pl (Poland)", "Europe/Berlin"),
    Marketplace("amazon.com.be", "AMEN7PMS3EDWL", "Amazon.com.be (Belgium)", "Europe/Berlin"),
    Marketplace("amazon.ie", "A28R8C7NBKEWEA", "Amazon.ie (Ireland)", "UTC"),
    Marketplace("amazon.com.tr", "A33AVAJ2PDY3EV", "Amazon.com.tr (Turkey)", "UTC"),
    Marketplace("amazon.ae", "A2VIGQ35RCS4UG", "Amazon.ae (UAE)", "UTC"),
    Marketplace("amazon.sa", "A17E79C6D8DWNP", "Amazon.sa (Saudi Arabia)", "UTC"),
    Marketplace("amazon.eg", "ARBP9OOSHTCHU", "Amazon.eg (Egypt)", "UTC"),
    Marketplace("amazon.co.za", "AE08WJ6YKNBMC", "Amazon.co.za (South Africa)", "UTC"),
    Marketplace("amazon.co.jp", "A1VC38T7YXB528", "Amazon.co.jp (Japan)", "Asia/Tokyo"),
    Marketplace("amazon.in", "A21TJRUUN4KGV", "Amazon.in (India)", "Asia/Kolkata"),
    Marketplace("amazon.com.au", "A39IBJ37TRP1C6", "Amazon.com.au (Australia)", "Australia/Sydney"),
    Marketplace("amazon.sg", "A19VAU5U5O7RUS", "Amazon.sg (Singapore)", "UTC"),
)
BY_DOMAIN = {m.domain: m for m in MARKETPLACES}
BY_ID = {m.id: m for m in MARKETPLACES}


def normalize(value: str | None) -> str | None:
    """The domain a marketplace value means (`ATVPDKIKX0DER`, `Amazon.com`, `www.amazon.de`),
    or the value in lower case when it names no known marketplace; None when empty."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text in BY_ID:
        return BY_ID[text].domain
    lower = text.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
    return lower[:50]


def name(domain: str | None) -> str:
    """How a seller calls a marketplace ("Amazon.de (Germany)")."""
    if not domain or domain == UNKNOWN:
        return "unknown marketplace"
    known = BY_DOMAIN.get(domain) or BY_ID.get(domain)
    return known.name if known else CHANNEL_NAMES.get(domain, domain)


def id_of(domain: str) -> str | None:
    known = BY_DOMAIN.get(domain)
    return known.id if known else None


def parse_timezones(text: str) -> dict[str, str]:
    """MARKETPLACE_TIMEZONES: `amazon.com=America/New_York,...`; raises ValueError naming the problem."""
    zones: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        domain, sep, zone = part.partition("=")
        if not sep or not domain.strip() or not zone.strip():
            raise ValueError(f"expected domain=Zone, got {part!r}")
        try:
            ZoneInfo(zone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone.strip()!r}") from None
        zones[normalize(domain) or domain.strip()] = zone.strip()
    return zones


def timezone_name(domain: str | None, overrides: Mapping[str, str] | None = None) -> str:
    """The zone a marketplace's dates are in (overrides first, then Amazon's; UTC when unknown)."""
    if domain and overrides and domain in overrides:
        return overrides[domain]
    known = BY_DOMAIN.get(domain or "")
    return known.timezone if known else "UTC"


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# Other channels a seller also sells on, each with its own standards (their metric sets in metrics.py)
CHANNEL_DOMAINS = {"walmart": "walmart.com", "ebay": "ebay.com", "etsy": "etsy.com"}
CHANNEL_NAMES = {"walmart.com": "Walmart", "ebay.com": "eBay", "etsy.com": "Etsy"}


def channel_of(domain: str | None) -> str:
    """Whose standards a marketplace is judged by: "amazon", or "walmart", "ebay", "etsy" (a domain
    such as walmart.com, ebay.co.uk or etsy.com)."""
    text = (domain or "").lower()
    for channel in CHANNEL_DOMAINS:
        if text == channel or text.startswith(channel + "."):
            return channel
    return "amazon"
