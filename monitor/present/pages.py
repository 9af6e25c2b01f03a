"""The dashboard pages: Plotly figure specs and the tables of an account, through the templates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from monitor.domain import Status
from monitor.headline import HISTORY_DAYS, SEVERITY, episode
from monitor.marketplaces import name as marketplace_name
from monitor.metrics import METRICS_BY_ID, MetricValue
from monitor.present import fmt
from monitor.present.alerts import key_label
from monitor.present.html import render
from monitor.slugs import slug

if TYPE_CHECKING:
    from monitor.appeal import ChecklistItem
    from monitor.dashboard.build import AccountView

DEFECT_NAMES = {"a_to_z_claim": "A-to-z claims", "negative_feedback": "negative feedback", "chargeback": "chargebacks"}


def index_page(tiles: Sequence[str], as_of: datetime) -> str:
    """The index from each account's tile (tile_html), in the order given (the most urgent first)."""
    return render("index.html", tiles=[Markup(t) for t in tiles], as_of=as_of)


def tile_html(view: AccountView) -> str:
    """One account's tile on the index: kept beside the pages, so that an unchanged account's tile
    is reused without evaluating it again."""
    return render("tile.html", view=view, base_url=view.base_url)


def account_page(view: AccountView) -> str:
    charts = [
        (
            f"chart-{slug(v.marketplace)}-{v.metric}-{v.channel}",
            metric_chart(v, view.history.get((v.marketplace, v.metric, str(v.channel)), []), view.warn_ratio),
        )
        for v in view.values
    ]
    marketplaces = [
        (
            marketplace_name(market),
            values,
            [div for (div, _), v in zip(charts, view.values, strict=True) if v.marketplace == market],
        )
        for market, values in _by_marketplace(view.values)
    ]
    last = view.as_of - timedelta(microseconds=1)
    first = last - timedelta(days=HISTORY_DAYS)
    charts.append(("chart-defects", defects_chart(view.defects_by_day, f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}")))
    offenders = [
        (
            marketplace_name(o.marketplace),
            METRICS_BY_ID[o.metric].name,
            o.channel.upper(),
            o.order_id,
            f"{o.when:%Y-%m-%d %H:%M}",
            o.reason,
            o.sku,
            o.product_name,
            o.carrier,
        )
        for o in view.offenders
    ]
    amazon = [
        (
            marketplace_name(c.marketplace),
            METRICS_BY_ID[c.metric].short_name(),
            c.channel.upper(),
            fmt.window(c.date_from, c.date_to),
            f"{fmt.count(c.amazon_numerator)} of {fmt.count(c.amazon_denominator)}, {fmt.percent(c.amazon_rate)} "
            f"{c.amazon_status or ''}",
            f"{c.numerator} of {c.denominator}, {fmt.percent(c.rate)} {fmt.status_label(c.status)}",
            c.cause or "",
        )
        for c in view.amazon
    ]
    policies = [(p.name, p.numerator, p.status) for p in view.policies]
    open_alerts = [
        (
            a.level,
            marketplace_name(a.marketplace),
            key_label(a.metric),
            a.channel.upper(),
            *_bad_since(view, a),
            fmt.percent(a.last_rate),
        )
        for a in view.open_alerts
    ]
    alert_history = [(f"{n.created_at:%Y-%m-%d %H:%M}", n.level, n.subject) for n in view.alert_history]
    imports = [
        (
            f"{i.started_at:%Y-%m-%d %H:%M}",
            i.file_name,
            i.format,
            i.status,
            i.rows_read,
            i.inserted,
            i.updated,
            i.quarantined,
            i.error,
        )
        for i in view.imports
    ]
    coverage = [
        (
            marketplace_name(market),
            [
                (
                    fmt.source_label(src.source),
                    fmt.minute(src.newest_data_at, "none yet" if src.state != "never" else fmt.NONE),
                    fmt.minute(src.last_import_at, fmt.NONE),
                    {"ok": "ok", "never": "never imported", "stopped": "stopped: orders went on without it"}[src.state],
                )
                for src in sources
            ],
        )
        for market, sources in view.coverage.items()
    ]
    return render(
        "account.html",
        coverage=coverage,
        marketplaces=marketplaces,
        marketplace_name=marketplace_name,
        view=view,
        charts=charts,
        offenders=offenders,
        amazon=amazon,
        policies=policies,
        open_alerts=open_alerts,
        alert_history=alert_history,
        imports=imports,
    )


def _bad_since(view: AccountView, alert: Any) -> tuple[str, str]:
    """(since, first crossed) of an open alert: a metric's from its daily history (when it went bad,
    not when the monitor first looked); an account-wide alert's from when it was first seen."""
    series = view.history.get((alert.marketplace, alert.metric, alert.channel))
    today = (view.as_of - timedelta(microseconds=1)).date()
    value = next(
        (
            v
            for v in view.values
            if (v.marketplace, v.metric, str(v.channel)) == (alert.marketplace, alert.metric, alert.channel)
        ),
        None,
    )
    if series is None or value is None:
        return f"{alert.since:%Y-%m-%d %H:%M} (first seen)", ""
    days = [(date.fromisoformat(d), status) for d, _, status in series if date.fromisoformat(d) < today]
    since, first = episode(days, (today, value.status))
    return fmt.day(since), fmt.day(first)


def _by_marketplace(values: Sequence[MetricValue]) -> list[tuple[str, list[MetricValue]]]:
    groups: dict[str, list[MetricValue]] = {}
    for v in values:
        groups.setdefault(v.marketplace, []).append(v)
    return sorted(groups.items(), key=lambda kv: (min(SEVERITY[Status(v.status)] for v in kv[1]), kv[0]))  # worst first


def appeal_page(view: AccountView) -> str:
    cases = [
        (
            c.id,
            f"{c.occurred_at:%Y-%m-%d %H:%M}",
            c.medium,
            c.case_id,
            c.summary,
            c.outcome,
            "closed" if c.closed else (c.follow_up_on or ""),
        )
        for c in view.cases
    ]
    return render("appeal.html", view=view, cases=cases, checklist_rows=lambda items: _checklist_rows(view, items))


def _checklist_rows(view: AccountView, items: Sequence[ChecklistItem]) -> list[tuple[str, str, Markup]]:
    """Each checklist item, its files linked (those published beside the pages)."""

    def link(stored: str) -> Markup:
        name = Path(stored).name
        href = view.evidence_links.get(stored)
        return Markup('<a href="{}{}">{}</a>').format(view.base_url, href, name) if href else Markup("{}").format(name)

    return [
        ("missing" if i.missing else "attached", i.description, Markup(", ").join(link(f.stored_path) for f in i.files))
        for i in items
    ]


def metric_chart(v: MetricValue, series: list[tuple[str, float | None, str]], warn: float) -> dict[str, Any]:
    """A metric's daily values with its limit line, warning band and breach zone."""
    days = [d for d, _, _ in series]
    full = fmt.full_scale(v.definition.unit)  # 100 %, or 5 stars
    values = [None if r is None else round(r * full, 3) for _, r, _ in series]
    known = [x for x in values if x is not None]
    limit = v.limit * full
    if v.direction == "max":
        band, bad = (warn * limit, limit), (limit, max([limit * 1.5, *known]))
    else:
        band, bad = (limit, full - warn * (full - limit)), (min([limit - full / 20, *known]), limit)
    shapes = [
        {
            "type": "rect",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": band[0],
            "y1": band[1],
            "fillcolor": "#fef0c7",
            "line": {"width": 0},
            "layer": "below",
        },
        {
            "type": "rect",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": bad[0],
            "y1": bad[1],
            "fillcolor": "#fee4e2",
            "line": {"width": 0},
            "layer": "below",
        },
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": limit,
            "y1": limit,
            "line": {"color": "#d92d20", "dash": "dash"},
        },
    ]
    empty = (
        [_empty_note(f"no data: {v.no_data_reason}" if v.no_data_reason else "no data in these days")]
        if not known
        else []
    )
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": days,
                "y": values,
                "name": "daily value",
                "line": {"color": "#1570ef"},
                "connectgaps": False,
            }
        ],
        "layout": {
            "title": {
                "text": f"{v.definition.short_name()} · {v.channel.upper()} ({fmt.unit_label(v.definition.unit)})",
                "font": {"size": 14},
            },
            "shapes": shapes,
            "annotations": empty,
            "xaxis": {"type": "date"},
            "margin": {"l": 40, "r": 10, "t": 40, "b": 30},
            "showlegend": False,
        },
    }


def _empty_note(text: str) -> dict[str, Any]:
    """A chart with nothing to draw says why, in its middle."""
    return {"text": text, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False}


DAY_MS = 86_400_000


def defects_chart(
    by_day: dict[str, dict[str, int]], first_day: str | None = None, last_day: str | None = None
) -> dict[str, Any]:
    """Defects received per day (one bar a day, whatever the spacing), stacked by type, with a legend."""
    data = [
        {
            "type": "bar",
            "name": DEFECT_NAMES.get(kind, kind),
            "x": sorted(days),
            "y": [days[d] for d in sorted(days)],
            "width": [DAY_MS * 0.8] * len(days),
        }
        for kind, days in sorted(by_day.items())
    ]
    xaxis: dict[str, Any] = {"type": "date"}
    if first_day and last_day:
        xaxis["range"] = [first_day, last_day]
    return {
        "data": data,
        "layout": {
            "title": {"text": "Defects received a day, by type", "font": {"size": 14}},
            "barmode": "stack",
            "xaxis": xaxis,
            "showlegend": True,
            "legend": {"orientation": "h", "y": -0.2},
            "annotations": [] if data else [_empty_note("no defects received in these days")],
            "margin": {"l": 40, "r": 10, "t": 40, "b": 30},
        },
    }
