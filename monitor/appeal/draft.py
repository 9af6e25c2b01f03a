"""A plan-of-action draft, structured as Amazon expects (root cause, actions taken,
preventive measures), in which every number comes from the database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup
from sqlalchemy.orm import Session

from monitor import appeal, health
from monitor import metrics as m
from monitor.accounts import require_account
from monitor.domain import Channel, Family, Status
from monitor.errors import UsageError
from monitor.present import fmt
from monitor.slugs import draft_stem, slug

HISTORY_DAYS = 120
ORDERS_LISTED = 200


@dataclass
class Draft:
    account: str
    metric: str
    markdown: str
    html: str
    facts: dict = field(default_factory=dict)  # the numbers used, for tests and the dashboard
    channel: str = ""
    marketplace: str = ""


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
    spells = episodes(judged)
    facts: dict = {
        "worst_day": _day(worst),
        "worst_rate": worst.rate,
        "worst_numerator": worst.numerator,
        "worst_denominator": worst.denominator,
        "period": (_day(missed[0]), _day(missed[-1])) if missed else None,
        "days_missed": len(missed),
        "episodes": [(e.start.isoformat(), e.end.isoformat(), e.ongoing) for e in spells],
    }
    moments = [v.as_of for v in missed] or [worst.as_of]  # every day it missed (else the worst day's window)
    stories = order_stories(data, group, moments, as_of)
    facts["orders"] = len(stories)
    facts["causes"] = _causes(data.orders, group, moments, {s.order_id for s in stories})
    facts["marketplace"] = group.marketplace
    done = appeal.actions(session, account_key, metric_id)
    facts["trend"] = _trend(judged, done)
    cases = [entry for _, entry in appeal.cases(session, account_key)]
    evidence = (
        [i for i in appeal.checklist(session, account_key, metric.family) if i.files]
        if metric.family in appeal.CHECKLISTS
        else []
    )
    lines = _markdown(account_key, metric, chosen, worst, spells, stories, facts, done, cases, evidence, as_of)
    text = "\n".join(lines) + "\n"
    title = f"Plan of action: {metric.name}, {account_key}"
    return Draft(account_key, metric_id, text, _html(text, title), facts, str(chosen), group.marketplace)


@dataclass(frozen=True)
class Episode:
    """A run of consecutive days on which the metric missed its target."""

    start: date
    end: date
    ongoing: bool  # it still misses on the last day looked at
    days: int


def episodes(series: list[m.MetricValue]) -> list[Episode]:
    """The runs of critical days in a daily series (oldest first), each a date range."""
    out: list[Episode] = []
    run: list[date] = []
    for v in [*series, None]:
        if v is not None and v.status == Status.CRITICAL:
            run.append(date.fromisoformat(_day(v)))
            continue
        if run:
            out.append(Episode(run[0], run[-1], v is None, len(run)))
            run = []
    return out


@dataclass(frozen=True)
class OrderStory:
    """An order that counted against the metric: as it was then, and as it is now."""

    order_id: str
    anchor: datetime  # its day in Amazon's window (expected ship date, order date, ...)
    then: date  # the first day it counted
    then_reason: str
    now: str
    sku: str | None
    carrier: str | None


def order_stories(
    data: health.AccountData, group: m.Group, moments: list[datetime], as_of: datetime
) -> list[OrderStory]:
    """Every order that counted against the metric on any of `moments`, the first time it did, with
    its state then and its state at `as_of`."""
    still = {o.order_id for o in health.offenders_of(data, group, as_of)}
    rows = data.orders.set_index("order_id", drop=False)
    seen: dict[str, OrderStory] = {}
    for moment in moments:
        for o in health.offenders_of(data, group, moment):
            if o.order_id in seen:
                continue
            row = rows.loc[o.order_id]
            row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
            now = now_state(group.metric, row, as_of, data.defects)
            now += " (still counts against it)" if o.order_id in still else " (no longer counts against it)"
            then = (moment - timedelta(microseconds=1)).date()
            seen[o.order_id] = OrderStory(o.order_id, o.when, then, o.reason, now, o.sku, o.carrier)
    return sorted(seen.values(), key=lambda s: (s.anchor, s.order_id))


def now_state(metric: m.MetricDef, row: pd.Series, as_of: datetime, defects: pd.DataFrame) -> str:
    """What is known of an order at `as_of`, for the metric's family."""

    def known(column: str) -> datetime | None:
        value = row.get(column)
        return value if isinstance(value, datetime) and not pd.isna(value) and value < as_of else None

    def at(moment: datetime) -> str:
        return f"{moment.day} {moment:%b %H:%M}"

    if metric.family is Family.LSR:
        shipped, cancelled = known("shipped_at"), known("cancelled_at")
        return (
            f"shipped {at(shipped)}"
            if shipped
            else f"cancelled {at(cancelled)}"
            if cancelled
            else "still not confirmed"
        )
    if metric.family is Family.CR:
        cancelled = known("cancelled_at")
        return f"cancelled {at(cancelled)}" if cancelled else "cancelled"
    if metric.family is Family.VTR:
        valid = row.get("tracking_valid")
        return "tracking valid now" if valid is True or valid == 1 else "tracking still not valid"
    if metric.family is Family.OTDR:
        delivered = known("delivered_at")
        return f"delivered {at(delivered)}" if delivered else "not delivered yet"
    mine = defects[(defects["order_id"] == row["order_id"]) & (defects["received_at"] < as_of)]
    states = [
        f"{str(d).replace('_', ' ')} {s or 'status unknown'}"
        for d, s in zip(mine["defect_type"], mine["status"], strict=True)
    ]
    return ", ".join(states) or "no defect on record"


def _day(v: m.MetricValue) -> str:
    return (v.as_of - timedelta(microseconds=1)).date().isoformat()


def _causes(
    orders: pd.DataFrame, group: m.Group, moments: list[datetime], bad_ids: set[str]
) -> dict[str, list[tuple[str, int, int, int]]]:
    """Per dimension: (value, bad orders, all counted orders, total bad) for the top values, over
    the orders counted in any of the windows at `moments`."""
    c, window = group.counting, group.window
    eligible = np.zeros(len(c.anchor), dtype=bool)
    for at in moments:
        known = m.to_us(at)
        end = m.day_start(known) - window.lag * m.US_PER_DAY
        eligible |= (
            (c.anchor >= end - window.days * m.US_PER_DAY)
            & (c.anchor < end)
            & (c.enter < known)
            & (known <= c.drop)
            & c.judged
        )
    counted = orders.iloc[c.index[eligible]].assign(anchor=pd.to_datetime(c.anchor[eligible] * 1000, utc=True))
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
    after = [v for v in judged if _day(v) > since.isoformat()]
    return {
        "held": bool(after) and all(v.status != Status.CRITICAL for v in after),  # within target every day since
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
    spells: list[Episode],
    stories: list[OrderStory],
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
    if spells:
        days = sum(e.days for e in spells)
        lines.append(
            f"The {metric.name} missed its target ({target}) on {days} of the last {HISTORY_DAYS} days, in "
            f"{len(spells)} {'episode' if len(spells) == 1 else 'separate episodes'}:"
        )
        lines.append("")
        lines += [
            f"- {e.start.isoformat()} to {e.end.isoformat()} ({e.days} {'day' if e.days == 1 else 'days'}"
            + (", still ongoing)" if e.ongoing else ")")
            for e in spells
        ]
        lines.append("")
    else:
        lines.append(f"The {metric.name} did not miss its target ({target}) in the last {HISTORY_DAYS} days.")
    lines += [
        f"Its worst value was {fmt.percent(worst.rate)} on {facts['worst_day']}: {worst.numerator} of "
        f"{worst.denominator} {metric.counted} counted ({metric.days}-day window).",
        "",
        "## Root cause",
        "",
        (
            f"The {len(stories)} {what} that counted against it on any day of "
            + ("these episodes" if len(spells) > 1 else "the episode" if spells else "its worst day's window")
            + ", by what they have in common:"
        ),
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
    trend = facts["trend"]
    if trend and trend["held"]:
        lines += ["", "## Evidence of improvement", ""]
        lines.append(
            f"Since the first corrective action on {trend['since']}, the {metric.name} has stayed within its target "
            f"every day: from {fmt.percent(worst.rate)} at its worst ({facts['worst_day']}) to "
            f"{fmt.percent(trend['rate_now'])} now ({trend['numerator_now']} of {trend['denominator_now']} "
            f"{metric.counted} counted)."
        )
    elif trend:
        lines += [
            "",
            f"_No evidence of improvement yet: the {metric.name} has missed its target on some day since the "
            f"corrective action of {trend['since']} (now {fmt.percent(trend['rate_now'])}, "
            f"{fmt.status_label(trend['status_now'])}). This section appears once it has stayed within target "
            "since the fix._",
        ]
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
    lines.append(
        f"Each order (with its day in Amazon's window) as it was on the first day it counted, and as it is on "
        f"{as_of:%Y-%m-%d}:"
    )
    lines.append("")
    lines += [
        f"- {s.order_id} ({s.anchor:%Y-%m-%d}): on {s.then.isoformat()} it was {s.then_reason}; now: {s.now}"
        + (f"; SKU {s.sku}" if s.sku else "")
        + (f", {s.carrier}" if s.carrier else "")
        for s in stories[:ORDERS_LISTED]
    ]
    if len(stories) > ORDERS_LISTED:
        lines.append(
            f"- ... and {len(stories) - ORDERS_LISTED} more: every one is in the shipping log "
            f"(`account-health evidence shipping-log --account {account}`)."
        )
    return lines


def _html(markdown: str, title: str) -> str:
    """The draft as an HTML page: CommonMark through markdown-it-py, raw HTML in the text escaped."""
    from markdown_it import MarkdownIt

    from monitor.present.html import render

    body = MarkdownIt("commonmark", {"html": False}).render(markdown)
    return render("draft.html", title=title, body=Markup(body))


def write_draft(draft: Draft, folder: Path, day: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    what = "-".join(x for x in (draft.metric, draft.channel, slug(draft.marketplace)) if x)
    base = folder / draft_stem(draft.account, what, day)
    md, page = base.with_suffix(".md"), base.with_suffix(".html")
    md.write_text(draft.markdown, encoding="utf-8")
    page.write_text(draft.html, encoding="utf-8")
    return md, page
