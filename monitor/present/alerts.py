"""Alert messages in words: the subject, plain text, the e-mail's HTML, Slack blocks and
the generic webhook's JSON, all from one typed `Message`.

Strings from reports (order ids, SKUs, product names, account keys) are escaped for
each medium: Slack mrkdwn (&, <, >), HTML (by the template engine); a subject never
carries a line break.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from monitor import coverage
from monitor.alerts.message import Item, Message
from monitor.domain import AlertLevel, Family
from monitor.marketplaces import UNKNOWN
from monitor.marketplaces import name as marketplace_name
from monitor.present import fmt
from monitor.present.headline import sentence as headline_sentence
from monitor.present.html import render

PREFIX = "[account-health]"
SUBJECT_LIMIT = 250
SLACK_TEXT_LIMIT = 3000
SLACK_BLOCK_LIMIT = 50
OFFENDERS_LISTED = 5

ACTIONS: dict[str, list[str]] = {
    Family.ODR: [
        "Answer every buyer message within 24 hours and every A-to-z claim before its deadline.",
        "Refund or replace quickly when an item is late or damaged: a resolved problem rarely becomes a claim.",
        "Ask for removal of feedback that is really a product review or about Amazon's delivery (FBA).",
        "Check the SKUs with defects (listed with the orders) for listing errors, quality or packaging problems.",
    ],
    Family.LSR: [
        "Confirm every shipment before its expected ship date, the same day it leaves.",
        "Lengthen the handling time of the SKUs that keep shipping late.",
        "Move the carrier pick-up earlier, or switch carriers for the services that are late.",
        "Turn on vacation mode or lower stock on days the team cannot ship.",
    ],
    Family.CR: [
        "Keep inventory in sync across every channel so that nothing sells that is not in stock.",
        "Ask the buyer to cancel through Amazon (a buyer-requested cancellation does not count).",
        "Check the SKUs cancelled (listed with the orders) for stock-count errors.",
    ],
    Family.VTR: [
        "Confirm each shipment with the carrier's real tracking number, and pick the right carrier name.",
        "Use carriers that Amazon integrates with, and get the first scan on the day of shipping.",
    ],
    Family.OTDR: [
        "Set delivery promises (transit times) that the carrier really meets.",
        "Switch slow carriers or services, and ship before the cut-off time.",
        "Check the late deliveries (listed with the orders) for a carrier or region that keeps missing.",
    ],
    Family.TRACKED: [
        "Upload the tracking number when you mark an order shipped, before its ship-by date.",
        "Use services whose tracking the marketplace accepts, and get the carrier's first scan the same day.",
    ],
    Family.REVIEWS: [
        "Answer each buyer of a review of 3 stars or less (listed with the reviews) and offer a fix or refund.",
        "Check the listings those reviews are about for photos, sizes or descriptions that mislead.",
    ],
    Family.RATING: [
        "Check the listings of the reviews below 5 stars (listed) for what buyers keep missing.",
        "Ship on time and answer messages within a day: late parcels and silence cost stars.",
    ],
    "amazon": [
        "Open Account Health in Seller Central and answer every issue it lists, oldest first.",
        "Keep the evidence of what was fixed: `account-health evidence add` and the case log.",
    ],
    "gap": [
        "Check the export or the download that brings this data: it stopped while orders kept coming.",
        "Import the missing days (the same file again, or a new export), then the metric is judged again.",
    ],
    "notice": [
        "Import it once: every later import keeps it up to date (or drop such exports in the inbox).",
    ],
    "fault": [
        "Run `account-health metrics --account ACCOUNT --debug` on the monitor's machine to see the error.",
        "Until it is fixed, watch this account in Seller Central's Account Health page.",
    ],
    "stale": [
        "Check that the report downloads or the Selling Partner API sync still run.",
        "Drop a fresh All Orders report into the inbox, or run `account-health import FILE`.",
    ],
}


def one_line(text: str) -> str:
    return " ".join(fmt.clean(text.replace("\n", " ")).split())


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (its docs: escape &, < and >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------ wording
SIGNAL_TITLES = {"amazon_ahr": "Amazon's Account Health Rating", "amazon_status": "Amazon's account status"}


METRIC_NAMES = {
    Family.ODR: "the Order Defect Rate",
    Family.LSR: "the Late Shipment Rate",
    Family.CR: "the Cancellation Rate",
    Family.VTR: "the Valid Tracking Rate",
    Family.OTDR: "the On-Time Delivery Rate",
    Family.TRACKED: "the share of shipments with tracking uploaded on time",
    Family.REVIEWS: "the share of reviews of 3 stars or less",
    Family.RATING: "the average review rating",
}
KEY_LABELS = {
    "stale": "data freshness",
    "fault": "monitor fault",
    "gap": "data gap",
    "notice": "missing data",
    **SIGNAL_TITLES,
}


def key_label(metric: str) -> str:
    """What an alert key's metric part names: a metric, or one of the account-wide alerts."""
    from monitor.metrics import METRICS_BY_ID

    return METRICS_BY_ID[metric].short_name() if metric in METRICS_BY_ID else KEY_LABELS.get(metric, metric)


def title(item: Item) -> str:
    return fmt.clean(_title(item))


def _title(item: Item) -> str:
    if item.notice is not None:
        return f"{item.notice.metric} cannot be computed on {marketplace_name(item.notice.marketplace)}"
    if item.gap is not None:
        return f"{coverage.LABELS[item.gap.source].capitalize()} stopped on {marketplace_name(item.gap.marketplace)}"
    if item.fault is not None:
        return "The monitor cannot evaluate this account"
    if item.signal is not None:
        where = f" on {marketplace_name(item.signal.marketplace)}" if item.signal.marketplace != UNKNOWN else ""
        return f"{SIGNAL_TITLES[item.signal.kind]}{where}"
    if item.value is None:
        return "Report data is stale"
    v = item.value
    where = f" on {marketplace_name(v.marketplace)}" if v.marketplace != UNKNOWN else ""
    return f"{v.definition.name}, {v.channel.upper()}{where}"


def actions(item: Item) -> list[str]:
    if item.notice is not None:
        return [
            *(f"{coverage.LABELS[s].capitalize()}: {coverage.SUPPLIED_BY[s]}." for s in item.notice.missing),
            *ACTIONS["notice"],
        ]
    if item.gap is not None:
        return ACTIONS["gap"]
    if item.fault is not None:
        return ACTIONS["fault"]
    if item.signal is not None:
        return ACTIONS["amazon"]
    return ACTIONS[item.value.definition.family if item.value else "stale"]


def where(message: Message) -> str:
    return fmt.clean(
        f"{message.account} ({', '.join(message.marketplaces)})" if message.marketplaces else message.account
    )


def describe(item: Item, shown: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The lines about one alert, plain text without control characters (escaping is the medium's);
    orders in `shown` were listed by an earlier alert of the message and are not listed again."""
    return [fmt.clean(line) for line in _describe(item, shown)]


def _describe(item: Item, shown: set[str] | frozenset[str]) -> list[str]:
    if item.notice is not None:
        return [
            f"{item.notice.reason[:1].upper()}{item.notice.reason[1:]}: {fmt.who(item.notice.marketplace)} judges "
            "it, the monitor cannot. "
            "This is said once."
        ]
    if isinstance(item.gap, coverage.Gap):
        g = item.gap
        names = ", ".join(METRIC_NAMES[f] for f in g.families)
        return [
            f"The newest {coverage.LABELS[g.source]} are from {fmt.minute(g.since)}, while orders go on to "
            f"{fmt.minute(g.orders_until)}: the data stopped. {names} leave the orders after it out (they are "
            "not counted bad) until it comes in again."
        ]
    if item.fault is not None:
        return [
            f"Evaluating it failed ({item.fault}): its metrics are not watched until this is fixed. "
            "Every other account is still checked."
        ]
    if item.signal is not None:
        day = f" (report of {item.signal.report_day.isoformat()})" if item.signal.report_day else ""
        return [f"{item.signal.detail}{day}."]
    if item.value is None:
        if item.stale_since is None:
            return ["No orders have been imported for this account: its metrics cannot be trusted."]
        return [
            f"Its newest order is from {fmt.minute(item.stale_since)}: no newer data came in, so its metrics "
            "cannot be trusted (judged on the data, not on when it was imported)."
        ]
    v = item.value
    metric = v.definition
    counted = f"{fmt.counts(v)}, " if v.denominator else ""  # none where only the marketplace measures it
    lines = [
        f"{fmt.figure(v)} against a target of {fmt.target(v.limit, v.direction, True, metric.unit, metric.at_limit_ok)}: "
        f"{counted}window {fmt.window(v.window_start, v.window_end)}."
    ]
    if item.level == AlertLevel.CRITICAL:
        lines.append("The target is missed now.")
    elif v.headroom is not None:
        lines.append(
            f"{fmt.more(v.headroom + 1, metric.miss_label)} in the next {metric.days} days would miss the target."
        )
    if v.projected_rate is not None and v.projection_misses and item.level != AlertLevel.CRITICAL:
        lines.append(
            f"Amazon will show at least {fmt.percent(v.projected_rate)} on {v.projected_date}: the orders "
            "of that window are already known."
        )
    if v.forecast_breach:
        lines.append(f"At the current trend the target is missed around {v.forecast_breach}.")
    fresh = [o for o in item.offenders if o.order_id not in shown]
    if item.offenders and not fresh:
        lines.append(f"Every order that counts against it ({len(item.offenders)}) is listed above.")
    elif fresh:
        again = len(item.offenders) - len(fresh)
        lines.append(
            f"Orders that count against it ({len(item.offenders)}, the latest first"
            + (f"; {again} listed above are left out" if again else "")
            + "):"
        )
        lines += [
            f"  {o.order_id}: {o.reason}" + (f" (SKU {o.sku})" if o.sku else "") for o in fresh[:OFFENDERS_LISTED]
        ]
        skus = Counter(o.sku for o in item.offenders if o.sku).most_common(3)
        if skus:
            lines.append("Most affected SKUs: " + ", ".join(f"{sku} ({n})" for sku, n in skus))
    return lines


def resolution(item: Item) -> str:
    return fmt.clean(_resolution(item))


def _resolution(item: Item) -> str:
    if item.gap is not None:
        return f"{coverage.LABELS[item.gap.source]} on {item.gap.marketplace} come in again"
    if item.fault is not None:
        return item.fault
    if item.signal is not None:
        return item.signal.detail
    if item.value is None:
        return "fresh report data arrived"
    return f"back within target ({fmt.figure(item.value)})"


def subject(message: Message) -> str:
    """The subject line (e-mail subject, Slack header, notification list)."""
    if message.reminder is not None:
        r = message.reminder
        what = f"case {r.case_id}" if r.case_id else "your contact with Amazon"
        text = f"{PREFIX} {message.account}: follow up on {what} (due {r.follow_up_on.isoformat()})"
    elif message.firing:
        first = message.firing[0]
        more = f" (+{len(message.firing) - 1} more)" if len(message.firing) > 1 else ""
        head = str(first.level).replace("no_data", "stale data").upper()
        what = (headline_line(message) if _leads(message) else None) or title(first)
        text = f"{PREFIX} {message.account}: {head}{more}: {what}"
    else:
        text = f"{PREFIX} {where(message)}: resolved: {', '.join(title(i) for i in message.resolved)}"
    return one_line(text)[:SUBJECT_LIMIT]


def _leads(message: Message) -> bool:
    """The headline leads the message when it speaks of the alert the message leads with."""
    h, first = message.headline, message.firing[0] if message.firing else None
    if h is None or h.value is None or first is None or first.value is None:
        return False
    return first.value.marketplace == h.value.marketplace and first.value.definition.family is h.value.definition.family


def headline_line(message: Message) -> str | None:
    """The account's headline, when there is something firing to lead with."""
    if message.headline is None or not message.firing or message.headline.status not in ("critical", "warning"):
        return None
    return headline_sentence(message.headline)


@dataclass(frozen=True)
class Section:
    """One firing alert in words, for every medium."""

    level: str
    label: str
    title: str
    lines: list[str]
    actions: list[str]  # empty when an earlier section of the same metric family gave them


def sections(message: Message) -> list[Section]:
    """The firing alerts in order; a metric family's orders and advice once (the 10- and 30-day
    Late Shipment Rate share them)."""
    out: list[Section] = []
    listed: dict[tuple[str, str, str], set[str]] = {}  # family -> the order ids listed so far
    for item in message.firing:
        v = item.value
        family = (v.marketplace, str(v.definition.family), str(v.channel)) if v is not None else None
        shown = listed.get(family, set()) if family is not None else set()
        lines = describe(item, shown)
        todo = actions(item)
        if family is not None and family in listed:
            todo = []
            lines.append("What to do: as above.")
        if family is not None:
            listed.setdefault(family, set()).update(o.order_id for o in item.offenders[:OFFENDERS_LISTED])
        out.append(Section(str(item.level), fmt.level_label(item.level), title(item), lines, todo))
    return out


def text(message: Message) -> str:
    """The plain-text body (console, e-mail text part)."""
    if message.reminder is not None:
        return _reminder_text(message)
    out = [f"Account health of {where(message)}"]
    lead = headline_line(message)
    out += [lead, ""] if lead else [""]
    for section in sections(message):
        out.append(f"{section.label} {section.title}")
        out += [f"  {line}" for line in section.lines]
        if section.actions:
            out.append("  What to do:")
            out += [f"  - {a}" for a in section.actions]
        out.append("")
    for item in message.resolved:
        out.append(f"RESOLVED {title(item)}: {resolution(item)}.")
    out.append(f"Dashboard: {message.dashboard_url}")
    return "\n".join(out) + "\n"


def _reminder_text(message: Message) -> str:
    r = message.reminder
    assert r is not None
    what = fmt.clean(f"case {r.case_id}") if r.case_id else "your contact with Amazon"
    return (
        f"Follow-up due for {message.account}: {what}, recorded {r.occurred_at:%Y-%m-%d}.\n"
        f"What was said: {fmt.clean(r.summary)}\n"
        "Check the case in Seller Central, answer or escalate, then record the outcome:\n"
        "  account-health case update NUMBER --outcome '...' [--follow-up YYYY-MM-DD | --close]\n"
        f"Dashboard: {message.dashboard_url}\n"
    )


def html(message: Message) -> str:
    """The e-mail's HTML part."""
    if message.reminder is not None:
        return render(
            "email_reminder.html",
            message=message,
            reminder=message.reminder,
            what=f"case {message.reminder.case_id}" if message.reminder.case_id else "your contact with Amazon",
        )
    return render(
        "email.html",
        where=where(message),
        headline=headline_line(message),
        level=message.level,
        sections=sections(message),
        resolved=[(title(i), resolution(i)) for i in message.resolved],
        dashboard=message.dashboard_url,
    )


def slack(message: Message) -> dict[str, Any]:
    """A Slack incoming-webhook payload: the subject as text, then blocks."""
    s = slack_escape
    head = subject(message)
    if message.reminder is not None:
        body = s(_reminder_text(message))[:SLACK_TEXT_LIMIT]
        return {"text": s(head), "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]}
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": one_line(f"{where(message)}: {message.level.upper()}")[:150]},
        }
    ]
    lead = headline_line(message)
    if lead:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{s(lead)}*"[:SLACK_TEXT_LIMIT]}})
    for section in sections(message):
        body = "\n".join(
            [
                f"*{section.label} {s(section.title)}*",
                *(s(x) for x in section.lines),
                *(["_What to do:_"] if section.actions else []),
                *(f"• {s(a)}" for a in section.actions),
            ]
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:SLACK_TEXT_LIMIT]}})
    if message.resolved:
        body = "\n".join(f"*RESOLVED* {s(title(i))}: {s(resolution(i))}." for i in message.resolved)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:SLACK_TEXT_LIMIT]}})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": s(f"Dashboard: {message.dashboard_url}")}]}
    )
    if len(blocks) > SLACK_BLOCK_LIMIT:
        blocks = blocks[: SLACK_BLOCK_LIMIT - 1] + [blocks[-1]]
    return {"text": s(head), "blocks": blocks}


def webhook(message: Message) -> dict[str, Any]:
    """The generic webhook's JSON: the words and the figures behind them."""
    from monitor.present.jsonout import to_json

    alerts = []
    for item in message.sorted_items:
        alerts.append(
            {
                "level": str(item.level),
                "event": item.event,
                "title": title(item),
                "value": to_json(item.value) if item.value else None,
                "stale_since": to_json(item.stale_since),
                "offenders": [to_json(o) for o in item.offenders],
                "fault": item.fault,
            }
        )
    return {
        "account": message.account,
        "level": message.level,
        "subject": subject(message),
        "text": text(message),
        "marketplaces": list(message.marketplaces),
        "dashboard_url": message.dashboard_url,
        "alerts": alerts,
        "reminder": to_json(message.reminder) if message.reminder else None,
    }
