"""A plan-of-action draft, structured as Amazon expects (root cause, actions taken,
preventive measures), in which every number comes from the database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from markupsafe import Markup
from sqlalchemy.orm import Session

from monitor import appeal, health
from monitor import metrics as m
from monitor.accounts import require_account
from monitor.domain import Channel
from monitor.errors import UsageError
from monitor.present import fmt
from monitor.slugs import draft_stem

HISTORY_DAYS = 120


@dataclass
class Draft:
    account: str
    metric: str
    markdown: str
    html: str
    facts: dict = field(default_factory=dict)  # the numbers used, for tests and the dashboard


def build_draft(
    session: Session,
    targets: m.Targets,
    account_key: str,
    metric_id: str,
    as_of: datetime,
    channel: str | None = None,
    marketplace: str | None = None,
) -> Draft:
    metric = m.metric_def(metric_id)
    chosen = Channel(channel) if channel else (Channel.MFN if Channel.MFN in metric.channels else metric.channels[0])
    account = require_account(session, account_key)
    data = health.load(session, account, targets, health.DETAIL_FIELDS, health.since_for(as_of, HISTORY_DAYS))
    groups = [
        g
        for g in m.account_groups(data.orders, data.defects, targets, account.key, [metric], data.facts).groups
        if g.channel == chosen and (marketplace is None or g.marketplace == marketplace)
    ]
    if not groups:
        raise UsageError(f"{metric.name} of {account_key}: no orders{' on ' + marketplace if marketplace else ''}")
    all_series = [
        v
        for v in m.history(data.orders, data.defects, as_of, HISTORY_DAYS, targets, account.key, [metric], data.facts)
        if v.channel == chosen
    ]
    # the marketplace with the worst value over the period, when none is named
    group = max(
        groups,
        key=lambda g: max((v.bad_share or 0.0 for v in all_series if v.marketplace == g.marketplace), default=-1.0),
    )
    series = [v for v in all_series if v.marketplace == group.marketplace]
    judged = [v for v in series if v.rate is not None]
    if not judged:
        raise UsageError(
            f"{metric.name} of {account_key} has no data in the last {HISTORY_DAYS} days: nothing to explain"
        )

    worst = max(judged, key=lambda v: v.bad_share or 0.0)
    missed = [v for v in judged if v.status == "critical"]
    facts: dict = {
        "worst_day": _day(worst),
        "worst_rate": worst.rate,
        "worst_numerator": worst.numerator,
        "worst_denominator": worst.denominator,
        "period": (_day(missed[0]), _day(missed[-1])) if missed else None,
        "days_missed": len(missed),
    }
    offenders = health.offenders_of(data, group, worst.as_of)
    facts["causes"] = _causes(data.orders, group, worst.as_of, offenders)
    facts["marketplace"] = group.marketplace
    done = appeal.actions(session, account_key, metric_id)
    facts["trend"] = _trend(judged, done)
    cases = [entry for _, entry in appeal.cases(session, account_key)]
    evidence = (
        [i for i in appeal.checklist(session, account_key, metric.family) if i.files]
        if metric.family in appeal.CHECKLISTS
        else []
    )
    lines = _markdown(account_key, metric, chosen, worst, missed, offenders, facts, done, cases, evidence, as_of)
    text = "\n".join(lines) + "\n"
    return Draft(account_key, metric_id, text, _html(text, f"Plan of action: {metric.name}, {account_key}"), facts)


def _day(v: m.MetricValue) -> str:
    return (v.as_of - timedelta(microseconds=1)).date().isoformat()


def _causes(
    orders: pd.DataFrame, group: m.Group, at: datetime, offenders: list[health.Offender]
) -> dict[str, list[tuple[str, int, int, int]]]:
    """Per dimension: (value, bad orders, all counted orders, total bad) for the top values."""
    c, window = group.counting, group.window
    known = m.to_us(at)
    end = m.day_start(known) - window.lag * m.US_PER_DAY
    eligible = (
        (c.anchor >= end - window.days * m.US_PER_DAY)
        & (c.anchor < end)
        & (c.enter < known)
        & (known <= c.drop)
        & c.judged
    )
    counted = orders.iloc[c.index[eligible]].assign(anchor=pd.to_datetime(c.anchor[eligible] * 1000, utc=True))
    bad_ids = {o.order_id for o in offenders}
    bad = counted[counted["order_id"].isin(bad_ids)]
    out = {}
    for label, values in (
        ("SKU", "sku"),
        ("carrier", "carrier"),
        ("ship-service level", "ship_service_level"),
        ("weekday", "weekday"),
        ("fulfilment channel", "fulfillment_channel"),
    ):
        if values == "weekday":
            all_values = counted["anchor"].dt.day_name()
            bad_values = bad["anchor"].dt.day_name()
        else:
            all_values, bad_values = counted[values].fillna("(not recorded)"), bad[values].fillna("(not recorded)")
        totals = Counter(all_values)
        out[label] = [(str(value), n, totals[value], len(bad)) for value, n in Counter(bad_values).most_common(3)]
    return out


def _concentration(causes: dict[str, list[tuple[str, int, int, int]]]):
    """The value over-represented most among the bad orders (at least half of them, and at least
    1.5 times its share of all counted orders); None when nothing stands out."""
    counted = sum(all_n for _, _, all_n, _ in causes.get("fulfilment channel", [])) or None
    best, best_gap = None, 0.0
    for label, rows in causes.items():
        if label == "fulfilment channel":
            continue
        for value, n, all_n, total_bad in rows:
            if value == "(not recorded)" or not counted or not total_bad:
                continue
            bad_share, all_share = n / total_bad, all_n / counted
            if bad_share >= 0.5 and bad_share >= 1.5 * all_share and bad_share - all_share > best_gap:
                best, best_gap = (label, value, n, total_bad, all_n, counted), bad_share - all_share
    return best


def _trend(judged: list[m.MetricValue], done) -> dict | None:
    corrective = [a for a in done if a.kind == "corrective"]
    if not corrective:
        return None
    since = corrective[0].taken_on
    at_fix = next((v for v in judged if _day(v) >= since.isoformat()), None)
    now = judged[-1]
    if at_fix is None:
        return None
    return {
        "since": since.isoformat(),
        "rate_then": at_fix.rate,
        "rate_now": now.rate,
        "status_now": now.status,
        "numerator_now": now.numerator,
        "denominator_now": now.denominator,
    }


def _markdown(
    account: str,
    metric: m.MetricDef,
    channel: Channel,
    worst: m.MetricValue,
    missed,
    offenders,
    facts,
    done,
    cases,
    evidence,
    as_of: datetime,
) -> list[str]:
    target = fmt.target(worst.limit, metric.direction, words=True)
    what = metric.miss_label
    lines = [
        f"# Plan of action: {metric.name} ({channel.upper()}), account {account}",
        "",
        f"_Draft written by account-health-monitor on {as_of:%Y-%m-%d} from the orders and defects in its "
        "database. Check every statement before you send it._",
        "",
        "## What happened",
        "",
    ]
    if missed:
        lines.append(
            f"The {metric.name} missed its target ({target}) on {len(missed)} of the last {HISTORY_DAYS} "
            f"days, from {facts['period'][0]} to {facts['period'][1]}."
        )
    else:
        lines.append(f"The {metric.name} did not miss its target ({target}) in the last {HISTORY_DAYS} days.")
    lines += [
        f"Its worst value was {fmt.percent(worst.rate)} on {facts['worst_day']}: {worst.numerator} of "
        f"{worst.denominator} orders counted ({metric.days}-day window).",
        "",
        "## Root cause",
        "",
        f"The {len(offenders)} {what} in that window, by what they have in common:",
        "",
    ]
    for label, rows in facts["causes"].items():
        if not rows:
            continue
        parts = [
            f"{value}: {n} of the {total_bad} {what} ({n / total_bad:.0%}), out of {all_n} orders counted "
            f"with that {label}"
            for value, n, all_n, total_bad in rows
        ]
        lines.append(f"- **{label}**: " + "; ".join(parts))
    cause = _concentration(facts["causes"])
    facts["concentration"] = cause
    if cause:
        label, value, n, total_bad, all_n, counted = cause
        lines += [
            "",
            f"The data points to **{label} {value}**: {n} of the {total_bad} {what} ({n / total_bad:.0%}), "
            f"while it had {all_n} of the {counted} orders counted ({all_n / counted:.0%}).",
        ]
    lines += ["", "## Actions taken", ""]
    corrective = [a for a in done if a.kind == "corrective"]
    lines += [f"- {a.taken_on.isoformat()}: {a.description}" for a in corrective] or [
        "_No corrective action recorded yet: add them with `account-health appeal action add --kind corrective`._"
    ]
    lines += ["", "## Preventive measures", ""]
    preventive = [a for a in done if a.kind == "preventive"]
    lines += [f"- {a.taken_on.isoformat()}: {a.description}" for a in preventive] or [
        "_No preventive measure recorded yet: add them with `account-health appeal action add --kind preventive`._"
    ]
    lines += ["", "## Evidence of improvement", ""]
    trend = facts["trend"]
    if trend:
        lines.append(
            f"Since the first corrective action on {trend['since']}, the {metric.name} went from "
            f"{fmt.percent(trend['rate_then'])} to {fmt.percent(trend['rate_now'])} ({trend['numerator_now']} of "
            f"{trend['denominator_now']} orders counted now; status {trend['status_now']})."
        )
    else:
        lines.append("_No corrective action date recorded, so no before-and-after comparison yet._")
    if cases or evidence:
        lines += ["", "## Records", ""]
        lines += [
            f"- {c.occurred_at:%Y-%m-%d} {c.medium}{' ' + c.case_id if c.case_id else ''}: {c.summary}"
            + (f" → {c.outcome}" if c.outcome else "")
            for c in cases
        ]
        lines += [
            f"- attached: {item.description}: {', '.join(Path(f.stored_path).name for f in item.files)}"
            for item in evidence
        ]
    lines += ["", "## The orders concerned", ""]
    lines += [
        f"- {o.order_id} ({o.when:%Y-%m-%d}): {o.reason}"
        + (f", SKU {o.sku}" if o.sku else "")
        + (f", {o.carrier}" if o.carrier else "")
        for o in offenders[:50]
    ]
    return lines


def _html(markdown: str, title: str) -> str:
    """The draft as an HTML page: CommonMark through markdown-it-py, raw HTML in the text escaped."""
    from markdown_it import MarkdownIt

    from monitor.present.html import render

    body = MarkdownIt("commonmark", {"html": False}).render(markdown)
    return render("draft.html", title=title, body=Markup(body))


def write_draft(draft: Draft, folder: Path, day: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / draft_stem(draft.account, draft.metric, day)
    md, page = base.with_suffix(".md"), base.with_suffix(".html")
    md.write_text(draft.markdown, encoding="utf-8")
    page.write_text(draft.html, encoding="utf-8")
    return md, page
