"""Amazon's GET_V2_SELLER_PERFORMANCE_REPORT (JSON): Amazon's own figures per marketplace.

Amazon's schema and its own example disagree on names (`prefulfillmentCancelRate`
vs `preFulfillmentCancellationRate`, `warningState` vs `warningStates`) and
real documents carry status values the schema does not list. So this reader is
lenient: it reads both spellings, keeps each marketplace's document whole
(unknown fields included) and stores every status as it comes.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from monitor.ingest.store import Store

from monitor.domain import Source
from monitor.errors import FileRejected
from monitor.ingest.formats import PERFORMANCE
from monitor.ingest.reviews import ETSY_REVIEWS, etsy_reviews, import_etsy_reviews
from monitor.marketplaces import normalize
from monitor.models import PerformanceMetric, PerformanceReport
from monitor.timeutil import parse_timestamp, to_utc, utcnow

MAX_BYTES = 50 << 20
MAX_DEPTH = 32  # Amazon's documents nest 5 levels
MAX_MARKETPLACES = 100  # Amazon has about 25 marketplaces: a report lists each at most once
EBAY_STANDARDS = "ebay-seller-standards"
WALMART_INSIGHTS = "walmart-insights"
MAX_NUMBER = 2**53  # counts and scores beyond this are not Amazon's: read as missing
SPELLINGS = {"prefulfillmentCancelRate": "preFulfillmentCancellationRate", "warningState": "warningStates"}
NUMERATORS = (
    "lateShipmentCount",
    "cancellationCount",
    "validTrackingCount",
    "onTimeDeliveryCount",
    "unitOnTimeDeliveryCount",
    "defectsCount",
    "warningsCount",
)
DENOMINATORS = ("orderCount", "shipmentCount", "shipmentCountWithValidTracking", "totalUnitCount")
NESTED_NUMERATORS = ("orderWithDefects", "invoiceDefect")
FIGURE_KEYS = {"rate", "status", "targetValue", *NUMERATORS, *DENOMINATORS, *NESTED_NUMERATORS}


def import_report(
    session: Session, path: Path, encoding: str, store: Store, created_at: datetime | None = None
) -> tuple[int, list[tuple[int, str, str]], str]:
    """Store each marketplace of a performance report document (`created_at`: when Amazon made it).

    Returns (entries read, [(entry number, reason, its JSON)] of entries that are not objects, the
    format: Amazon's performance report, or eBay's seller standards profiles).
    A document larger than MAX_BYTES, nested deeper than MAX_DEPTH or not shaped like the report
    is rejected whole."""
    if path.stat().st_size > MAX_BYTES:
        raise FileRejected(f"performance report larger than {MAX_BYTES >> 20} MB")
    try:
        document = json.loads(path.read_text(encoding=encoding), parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileRejected(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise FileRejected(f"JSON nested deeper than {MAX_DEPTH} levels: not a performance report") from None
    if _depth(document) > MAX_DEPTH:
        raise FileRejected(f"JSON nested deeper than {MAX_DEPTH} levels: not a performance report")
    if isinstance(document, dict) and ("standardsProfiles" in document or "standardsLevel" in document):
        return (*import_ebay_profiles(session, document, store), EBAY_STANDARDS)
    reviews = etsy_reviews(document)
    if reviews is not None:
        return (*import_etsy_reviews(session, reviews, store), ETSY_REVIEWS)
    summaries = walmart_summaries(document, path.name)
    if summaries is not None:
        return (*import_walmart_summaries(session, summaries, store), WALMART_INSIGHTS)
    if not isinstance(document, dict) or not isinstance(document.get("performanceMetrics"), list):
        raise FileRejected(
            "JSON without performanceMetrics, standardsProfiles or reviews: not Amazon's "
            "GET_V2_SELLER_PERFORMANCE_REPORT, eBay's seller_standards_profile, Walmart's Insights summaries or "
            "Etsy's getReviewsByShop answer"
        )
    if len(document["performanceMetrics"]) > MAX_MARKETPLACES:
        raise FileRejected(
            f"{len(document['performanceMetrics'])} performanceMetrics entries: Amazon reports one per "
            f"marketplace (at most {MAX_MARKETPLACES} here), so this is not a performance report"
        )
    listed = document.get("accountStatuses")
    statuses = {
        _str(s.get("marketplaceId")): _str(s.get("status"))
        for s in (listed if isinstance(listed, list) else [])
        if isinstance(s, dict)
    }
    account_id = store.account_id(None)
    bad = []
    for number, entry in enumerate(document["performanceMetrics"], start=1):
        if not isinstance(entry, dict):
            bad.append((number, "a performanceMetrics entry that is not an object", json.dumps(entry)[:10_000]))
            continue
        marketplace, day = _store_marketplace(session, store.import_id, account_id, entry, statuses, created_at)
        end = datetime.combine(day + timedelta(days=1), time(0)) if day else created_at
        store.note(account_id, normalize(marketplace) or "", Source.AMAZON_REPORT, end)
        store.inserted += 1
    return len(document["performanceMetrics"]), bad, PERFORMANCE


# eBay's Sell Analytics API: GET /sell/analytics/v1/seller_standards_profile (every program and
# cycle) or .../{program}/{cycle} (one): the seller's level with each metric's value, numerator,
# denominator and lookback dates, for the last evaluation (CURRENT) and "if evaluated now" (PROJECTED)
EBAY_PROGRAMS = {
    "PROGRAM_US": "ebay.com",
    "PROGRAM_UK": "ebay.co.uk",
    "PROGRAM_DE": "ebay.de",
    "PROGRAM_GLOBAL": "ebay.com",
}


def import_ebay_profiles(
    session: Session, document: dict[str, Any], store: Store
) -> tuple[int, list[tuple[int, str, str]]]:
    """Store each profile (program and cycle) as a report of its eBay marketplace: eBay's own figures
    beside ours, over eBay's own lookback windows."""
    profiles = document.get("standardsProfiles", [document])
    if not isinstance(profiles, list):
        raise FileRejected("standardsProfiles is not a list: not eBay's seller_standards_profile")
    if len(profiles) > MAX_MARKETPLACES:
        raise FileRejected(f"{len(profiles)} standards profiles: not eBay's seller_standards_profile")
    account_id = store.account_id(None)
    bad = []
    for number, profile in enumerate(profiles, start=1):
        if not isinstance(profile, dict) or not isinstance(profile.get("metrics"), list):
            bad.append((number, "a standards profile without metrics", json.dumps(profile)[:10_000]))
            continue
        marketplace = EBAY_PROGRAMS.get(str(profile.get("program")), "ebay.com")
        cycle = _dict(profile.get("cycle"))
        evaluated = _time(cycle.get("evaluationDate"))
        rows = [_ebay_figure(m, profile) for m in profile["metrics"] if isinstance(m, dict) and m.get("metricKey")]
        report_id = session.scalar(
            insert(PerformanceReport)
            .values(
                import_id=store.import_id,
                account_id=account_id,
                marketplace_id=marketplace,
                account_status=None,  # eBay's level is no Amazon account status: it rides on each figure
                report_date=_last_day(rows) or (evaluated.date() if evaluated else None),
                created_at=evaluated,
                imported_at=utcnow(),
                document=json.dumps(profile)[:1_000_000],
                cycle=str(cycle.get("cycleType") or "").upper()[:20] or None,
            )
            .returning(PerformanceReport.id)
        )
        if rows:
            session.execute(insert(PerformanceMetric), [dict(row, report_id=report_id) for row in rows])
        store.note(account_id, marketplace, Source.AMAZON_REPORT, evaluated)
        store.inserted += 1
    return len(profiles), bad


# Walmart's Insights API: GET /v3/insights/performance/{metric}/summary?reportDuration=N answers
# {"payload": {...}} with the seller-accountable rate in percent, the risk level (Good, Monitor,
# Urgent) and the standard in words; the metric is in the path only, so a saved answer says it by its
# file name (walmart-otd-summary.json), or several are saved as {"walmartInsights": {metric: answer}}
WALMART_SUMMARIES = {  # path name -> its default reportDuration
    "otd": 30,
    "vtr": 30,
    "cancellations": 30,
    "srr": 30,
    "refunds": 30,
    "negativeFeedback": 60,
    "returns": 60,
    "itemNotReceived": 60,
    "lateShipment": 30,
}
_RATE_KEYS = ("sellerAccountableRate", "cumulativeRate", "overallRate")


def walmart_summaries(document: Any, file_name: str) -> dict[str, dict[str, Any]] | None:
    """{metric path name: payload} of a saved Walmart Insights answer, or None when the document
    is none. An answer whose metric its file name does not say is rejected, saying so."""
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("walmartInsights"), dict):
        payloads = {name: _payload(answer) for name, answer in document["walmartInsights"].items()}
        return {n: p for n, p in payloads.items() if n in WALMART_SUMMARIES and p is not None} or None
    payload = _payload(document)
    if payload is None:
        return None
    words = {w.lower() for w in re.split(r"[^A-Za-z]+", file_name)}
    named = [name for name in WALMART_SUMMARIES if name.lower() in words]
    if len(named) != 1:
        raise FileRejected(
            "a Walmart Insights summary, but its file name does not say which metric: name it after the path "
            f"it came from ({', '.join(WALMART_SUMMARIES)}), e.g. walmart-otd-summary.json"
        )
    return {named[0]: payload}


def _payload(answer: Any) -> dict[str, Any] | None:
    payload = answer.get("payload") if isinstance(answer, dict) else None
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = payload[0]
    if isinstance(payload, dict) and any(key in payload for key in _RATE_KEYS):
        return payload
    return None


def import_walmart_summaries(
    session: Session, summaries: dict[str, dict[str, Any]], store: Store
) -> tuple[int, list[tuple[int, str, str]]]:
    """Store Walmart's own figures as one report of walmart.com: each over its own reportDuration,
    ending when Walmart last refreshed it (daily)."""
    account_id = store.account_id(None)
    rows = []
    newest: datetime | None = None
    for name, payload in summaries.items():
        end = _time(payload.get("updatedTimestamp")) or utcnow()
        days = _int(payload.get("reportDuration")) or WALMART_SUMMARIES[name]
        last = to_utc(end).date() - timedelta(days=1)
        rates = [rate for key in _RATE_KEYS if (rate := _percent(payload.get(key))) is not None]
        level = payload.get("performanceRiskLevel") or payload.get("riskLevel")
        rows.append(
            {
                "name": f"walmart:{name}",
                "channel": "mfn",
                "numerator": None,  # Walmart gives the orders impacted, not over how many
                "denominator": None,
                "rate": rates[0] / 100 if rates else None,  # Walmart's rates are percentages
                "target_value": None,
                "target_condition": None,
                "status": str(level).upper()[:40] if level else None,  # GOOD, MONITOR or URGENT (facts.py)
                # the whole days before Walmart's refresh, written as Amazon writes its ranges
                "date_from": datetime.combine(last - timedelta(days=min(max(days, 1), 366) - 1), time(0)),
                "date_to": datetime.combine(last, time(23, 59, 59)),
            }
        )
        newest = max(filter(None, (newest, end)), default=None)
    report_id = session.scalar(
        insert(PerformanceReport)
        .values(
            import_id=store.import_id,
            account_id=account_id,
            marketplace_id="walmart.com",
            account_status=None,
            report_date=_last_day(rows),
            created_at=newest,
            imported_at=utcnow(),
            document=json.dumps(summaries)[:1_000_000],
        )
        .returning(PerformanceReport.id)
    )
    session.execute(insert(PerformanceMetric), [dict(row, report_id=report_id) for row in rows])
    store.note(account_id, "walmart.com", Source.AMAZON_REPORT, newest)
    store.inserted += 1
    return 1, []  # one document, one report


def _percent(value: Any) -> float | None:
    """A percentage (a number, or text such as "98.5%") from 0 to 100, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        return None
    return number if math.isfinite(number) and 0 <= number <= 100 else None


def _last_day(rows: list[dict[str, Any]]) -> date | None:
    """The report's day, as for Amazon's: the last day its windows hold (eBay's lookback end)."""
    ends = [r["date_to"] for r in rows if r["date_to"] is not None]
    return max(ends).date() if ends else None


def _ebay_figure(metric: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    value = metric.get("value")
    numerator = denominator = None
    rate = None
    if isinstance(value, dict):
        numerator, denominator = _int(value.get("numerator")), _int(value.get("denominator"))
        if numerator is not None and denominator:
            rate = numerator / denominator
    level = str(metric.get("level") or "")  # the profile's own level is the whole account's: not this figure's
    return {
        "name": str(metric["metricKey"])[:100],
        "channel": "mfn",
        "numerator": numerator,
        "denominator": denominator,
        "rate": rate,
        "target_value": None,
        "target_condition": None,
        "status": level.upper()[:40] or None,  # TOP_RATED, ABOVE_STANDARD or BELOW_STANDARD (facts.py reads it)
        "date_from": _time(metric.get("lookbackStartDate")),
        "date_to": _time(metric.get("lookbackEndDate")),
    }


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON; Python's reader takes them: read them as missing."""
    return None


def _depth(value: Any) -> int:
    """How deep a decoded JSON value nests (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def report_day(rows: list[dict[str, Any]]) -> date | None:
    """The report's day: the last day of its late-shipment range (Amazon's windows end before it)."""
    ends = [r["date_to"] for r in rows if r["name"] == "lateShipmentRate" and r["date_to"] is not None]
    return max(ends).date() if ends else None


def _store_marketplace(
    session: Session,
    import_id: int,
    account_id: int,
    entry: dict[str, Any],
    statuses: dict[str | None, str | None],
    created_at: datetime | None,
) -> tuple[str | None, date | None]:
    entry = {SPELLINGS.get(k, k): v for k, v in entry.items()}
    marketplace = _str(entry.get("marketplaceId"), 50)
    if marketplace is None and len(statuses) == 1:
        marketplace = next(iter(statuses))
    ahr = _dict(entry.get("accountHealthRating"))
    rows = figures(entry)
    day = report_day(rows)
    report_id = session.scalar(
        insert(PerformanceReport)
        .values(
            import_id=import_id,
            account_id=account_id,
            marketplace_id=marketplace,
            account_status=statuses.get(marketplace),
            ahr_score=_int(ahr.get("ahrScore")),
            ahr_status=_str(ahr.get("ahrStatus")),
            report_date=day,
            created_at=created_at,
            imported_at=utcnow(),
            document=json.dumps(entry),
        )
        .returning(PerformanceReport.id)
    )
    if rows:
        session.execute(insert(PerformanceMetric), [dict(row, report_id=report_id) for row in rows])
    return marketplace, day


def figures(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric-like figure in one marketplace entry (warningStates included)."""
    rows: list[dict[str, Any]] = []
    for name, value in entry.items():
        if name == "warningStates" and isinstance(value, dict):
            rows += figures(value)
        elif isinstance(value, list):
            base = name.removesuffix("List")
            rows += [_figure(base, item) for item in value if isinstance(item, dict)]
        elif isinstance(value, dict):
            channels = {ch: value[ch] for ch in ("afn", "mfn") if isinstance(value.get(ch), dict)}
            if channels:
                rows += [_figure(name, sub, channel) for channel, sub in channels.items()]
            elif FIGURE_KEYS & value.keys():
                rows.append(_figure(name, value))
    return rows


def _figure(name: str, value: dict[str, Any], channel: str | None = None) -> dict[str, Any]:
    numerator = next((_int(value[k]) for k in NUMERATORS if k in value), None)
    for key in NESTED_NUMERATORS:
        if numerator is None and isinstance(value.get(key), dict):
            numerator = _int(value[key].get("count"))
    dates = _dict(value.get("reportingDateRange"))
    return {
        "name": name,
        "channel": channel,
        "numerator": numerator,
        "denominator": next((_int(value[k]) for k in DENOMINATORS if k in value), None),
        "rate": _float(value.get("rate")),
        "target_value": _float(value.get("targetValue")),
        "target_condition": _str(value.get("targetCondition")),
        "status": _str(value.get("status")),
        "date_from": _time(dates.get("reportingDateFrom")),
        "date_to": _time(dates.get("reportingDateTo")),
    }


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    """A finite JSON number of a sane size, else None (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if abs(value) < MAX_NUMBER else math.inf
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _float(value: Any) -> float | None:
    return _number(value)


def _str(value: Any, limit: int = 40) -> str | None:
    """A JSON string or number as text (capped); objects, lists and null are missing."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)[:limit]


def _time(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None
