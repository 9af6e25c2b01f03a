"""The message a seller reads: one per account per check, firing metrics critical first.

Every string that came from a report (order ids, SKUs, product names, carriers)
is escaped for the medium: Slack mrkdwn (&, <, >) and HTML; header values
never carry a line break.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitor.metrics import METRICS_BY_ID, MetricValue

ACTIONS = {
    "odr": ["Answer every buyer message within 24 hours and every A-to-z claim before its deadline.",
            "Refund or replace quickly when an item is late or damaged: a resolved problem rarely becomes a claim.",
            "Ask for removal of feedback that is really a product review or about Amazon's delivery (FBA).",
            "Check the SKUs with defects below for listing errors, quality or packaging problems."],
    "lsr": ["Confirm every shipment before its expected ship date, the same day it leaves.",
            "Lengthen the handling time of the SKUs that keep shipping late.",
            "Move the carrier pick-up earlier, or switch carriers for the services that are late.",
            "Turn on vacation mode or lower stock on days the team cannot ship."],
    "cr_7d": ["Keep inventory in sync across every channel so that nothing sells that is not in stock.",
              "Ask the buyer to cancel through Amazon (a buyer-requested cancellation does not count).",
              "Check the SKUs cancelled below for stock-count errors."],
    "vtr_30d": ["Confirm each shipment with the carrier's real tracking number, and pick the right carrier name.",
                "Use carriers that Amazon integrates with, and get the first scan on the day of shipping."],
    "otdr_14d": ["Set delivery promises (transit times) that the carrier really meets.",
                 "Switch slow carriers or services, and ship before the cut-off time.",
                 "Check the late deliveries below for a carrier or region that keeps missing."],
    "stale": ["Check that the report downloads or the Selling Partner API sync still run.",
              "Drop a fresh All Orders report into the inbox, or run `account-health import FILE`."],
}


MISSES = {"odr": "orders with a defect", "lsr_10d": "late shipments", "lsr_30d": "late shipments",
          "cr_7d": "seller cancellations", "vtr_30d": "shipments without valid tracking",
          "otdr_14d": "late deliveries"}


def actions_for(metric: str) -> list[str]:
    return ACTIONS["lsr" if metric.startswith("lsr") else metric]


@dataclass(frozen=True)
class Offending:
    order_id: str
    reason: str
    sku: str | None


@dataclass(frozen=True)
class Item:
    """One firing (or resolved) alert within a message."""

    level: str  # warning, critical, no_data, or resolved
    event: str | None
    value: MetricValue | None = None  # None for a stale-data alert
    offenders: Sequence[Offending] = ()
    stale_since: datetime | None = None


@dataclass
class Message:
    account: str
    level: str
    subject: str
    text: str
    html: str
    slack: dict = field(default_factory=dict)

    def slack_json(self) -> str:
        return json.dumps(self.slack)


# ------------------------------------------------------------------ escaping
def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (its docs: escape &, < and >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------ wording
def _title(item: Item) -> str:
    if item.value is None:
        return "Report data is stale"
    metric = METRICS_BY_ID[item.value.metric]
    return f"{metric.name}, {item.value.channel.upper()}"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f} %"


def describe(item: Item, dashboard: str) -> list[str]:
    """The lines about one alert, plain text (escaping is the caller's)."""
    if item.value is None:
        since = item.stale_since.strftime("%Y-%m-%d %H:%M UTC") if item.stale_since else "never"
        return [f"No report has been imported for this account since {since}: its metrics cannot be trusted."]
    v = item.value
    metric = METRICS_BY_ID[v.metric]
    target = f"{'below' if v.direction == 'max' else 'at least'} {v.limit * 100:g} %"
    lines = [f"{_percent(v.rate)} against a target of {target}: {v.numerator} of {v.denominator} "
             f"{metric.bad_label}, window {v.window_start:%Y-%m-%d} to {v.window_end:%Y-%m-%d}."]
    if item.level == "critical":
        lines.append("The target is missed now.")
    elif v.headroom is not None:
        what = MISSES[v.metric]
        lines.append(f"{v.headroom + 1} more {what} in the next {metric.days} days would miss the target.")
    if v.forecast_breach:
        lines.append(f"At the current trend the target is missed around {v.forecast_breach}.")
    if item.offenders:
        lines.append(f"Orders that count against it ({len(item.offenders)}, the latest first):")
        lines += [f"  {o.order_id}: {o.reason}" + (f" (SKU {o.sku})" if o.sku else "") for o in item.offenders[:5]]
        skus = Counter(o.sku for o in item.offenders if o.sku).most_common(3)
        if skus:
            lines.append("Most affected SKUs: " + ", ".join(f"{sku} ({n})" for sku, n in skus))
    return lines


def build(account: str, marketplaces: Sequence[str], items: Sequence[Item], dashboard: str) -> Message:
    """The grouped message for one account: firing alerts, critical first, then resolutions."""
    firing = sorted((i for i in items if i.level != "resolved"),
                    key=lambda i: ({"critical": 0, "no_data": 1, "warning": 2}[i.level], _title(i)))
    resolved = [i for i in items if i.level == "resolved"]
    level = firing[0].level if firing else "resolved"
    where = f"{account} ({', '.join(marketplaces)})" if marketplaces else account
    if firing:
        head = f"{firing[0].level.replace('no_data', 'stale data').upper()}: {_title(firing[0])}"
        more = f" and {len(firing) - 1} more" if len(firing) > 1 else ""
        subject = one_line(f"[account-health] {where}: {head}{more}")
    else:
        subject = one_line(f"[account-health] {where}: resolved: {', '.join(_title(i) for i in resolved)}")
    return Message(account, level, subject[:250], _text(where, firing, resolved, dashboard),
                   _html(where, firing, resolved, dashboard), _slack(subject, where, firing, resolved, dashboard))


def _resolution(item: Item) -> str:
    if item.value is None:
        return "fresh report data arrived"
    return f"back within target ({_percent(item.value.rate)})"


def _label(item: Item) -> str:
    return {"critical": "CRITICAL", "warning": "WARNING", "no_data": "STALE DATA", "resolved": "RESOLVED"}[item.level]


def _actions(item: Item) -> list[str]:
    return actions_for(item.value.metric if item.value else "stale")


def _text(where: str, firing: Sequence[Item], resolved: Sequence[Item], dashboard: str) -> str:
    out = [f"Account health of {where}", ""]
    for item in firing:
        out.append(f"{_label(item)} {_title(item)}")
        out += [f"  {line}" for line in describe(item, dashboard)]
        out.append("  What to do:")
        out += [f"  - {a}" for a in _actions(item)]
        out.append("")
    for item in resolved:
        out.append(f"RESOLVED {_title(item)}: {_resolution(item)}.")
    out.append(f"Dashboard: {dashboard}")
    return "\n".join(out) + "\n"


def _html(where: str, firing: Sequence[Item], resolved: Sequence[Item], dashboard: str) -> str:
    e = html.escape
    colours = {"critical": "#b42318", "warning": "#b54708", "no_data": "#475467", "resolved": "#067647"}
    parts = [f"<h2>Account health of {e(where)}</h2>"]
    for item in firing:
        lines = describe(item, dashboard)
        parts.append(f'<h3 style="color:{colours[item.level]}">{_label(item)} {e(_title(item))}</h3>')
        parts.append("<p>" + "<br>".join(e(line) for line in lines) + "</p>")
        parts.append("<p>What to do:</p><ul>" + "".join(f"<li>{e(a)}</li>" for a in _actions(item)) + "</ul>")
    for item in resolved:
        parts.append(f'<p style="color:{colours["resolved"]}">RESOLVED {e(_title(item))}: {e(_resolution(item))}.</p>')
    parts.append(f'<p>Dashboard: <a href="{e(dashboard, quote=True)}">{e(dashboard)}</a></p>')
    return "<html><body>" + "\n".join(parts) + "</body></html>\n"


SLACK_TEXT_LIMIT = 3000
SLACK_BLOCK_LIMIT = 50


def _slack(subject: str, where: str, firing: Sequence[Item], resolved: Sequence[Item], dashboard: str) -> dict:
    s = slack_escape
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": one_line(subject)[:150]}}]
    for item in firing:
        body = "\n".join([f"*{_label(item)} {s(_title(item))}*", *(s(line) for line in describe(item, dashboard)),
                          "_What to do:_", *(f"• {s(a)}" for a in _actions(item))])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:SLACK_TEXT_LIMIT]}})
    if resolved:
        body = "\n".join(f"*RESOLVED* {s(_title(i))}: {s(_resolution(i))}." for i in resolved)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:SLACK_TEXT_LIMIT]}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": s(f"Dashboard: {dashboard}")}]})
    if len(blocks) > SLACK_BLOCK_LIMIT:
        blocks = blocks[:SLACK_BLOCK_LIMIT - 1] + [blocks[-1]]
    return {"text": s(one_line(subject)), "blocks": blocks}


def reminder(account: str, case_id: str | None, summary: str, occurred: datetime, follow_up: str,
             dashboard: str) -> Message:
    """A due follow-up from the case log."""
    what = f"case {case_id}" if case_id else "your contact with Amazon"
    subject = one_line(f"[account-health] {account}: follow up on {what} (due {follow_up})")[:250]
    text = (f"Follow-up due for {account}: {what}, recorded {occurred:%Y-%m-%d}.\n"
            f"What was said: {summary}\n"
            "Check the case in Seller Central, answer or escalate, then record the outcome:\n"
            "  account-health case update NUMBER --outcome '...' [--follow-up YYYY-MM-DD | --close]\n"
            f"Dashboard: {dashboard}\n")
    page = (f"<html><body><h2>Follow-up due: {html.escape(account)}</h2><p>{html.escape(what)}, recorded "
            f"{occurred:%Y-%m-%d}.</p><p>What was said: {html.escape(summary)}</p>"
            "<p>Check the case in Seller Central, answer or escalate, then record the outcome.</p></body></html>\n")
    slack = {"text": slack_escape(subject), "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(text)[:SLACK_TEXT_LIMIT]}}]}
    return Message(account, "reminder", subject, text, page, slack)
