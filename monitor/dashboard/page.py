"""HTML of the dashboard pages. Every value from a report goes through `e()` (html.escape)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.metrics import METRICS_BY_ID, MetricValue

if TYPE_CHECKING:
    from monitor.dashboard.build import AccountView

COLOURS = {"critical": "#d92d20", "warning": "#f79009", "good": "#12b76a", "no_data": "#98a2b3"}
LABELS = {"critical": "critical", "warning": "warning", "good": "good", "no_data": "no data"}

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#101828;background:#f9fafb}
header{background:#101828;color:#fff;padding:14px 24px}header a{color:#d0d5dd}
main{padding:16px 24px}h2{margin-top:28px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px}
.tile{background:#fff;border:1px solid #eaecf0;border-radius:8px;padding:12px 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.card{background:#fff;border-radius:8px;padding:10px 14px;border-left:6px solid #98a2b3}
.value{font-size:1.6em;font-weight:600}.muted{color:#667085;font-size:.9em}
table{border-collapse:collapse;background:#fff;font-size:.9em;width:100%}
td,th{border-bottom:1px solid #eaecf0;padding:4px 8px;text-align:left;vertical-align:top}
.dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:6px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:12px}
.chart{background:#fff;border-radius:8px;height:260px}
.stale{background:#fffaeb;border:1px solid #fec84b;padding:8px 12px;border-radius:6px}
"""


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _doc(title: str, body: str, charts: Sequence[tuple[str, dict]] = ()) -> str:
    script = ""
    if charts:
        calls = "\n".join(f"Plotly.newPlot({json.dumps(div)},{_json(spec['data'])},{_json(spec['layout'])},"
                          f"{{displayModeBar:false,responsive:true}});" for div, spec in charts)
        script = f'<script src="plotly.min.js"></script>\n<script>\n{calls}\n</script>'
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head>'
            f"<body>{body}{script}</body></html>\n")


def _json(value: Any) -> str:
    """JSON that cannot close the <script> element it sits in."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.2f} %"


def _target(v: MetricValue) -> str:
    return f"{'<' if v.direction == 'max' else '≥'} {v.limit * 100:g} %"


def _name(v: MetricValue) -> str:
    return f"{METRICS_BY_ID[v.metric].name} · {v.channel.upper()}"


def _status(status: str) -> str:
    return f'<span class="dot" style="background:{COLOURS[status]}"></span>{LABELS[status]}'


def _fresh(view: AccountView) -> str:
    when = view.last_import.strftime("%Y-%m-%d %H:%M UTC") if view.last_import else "never"
    return f'<span class="{"stale" if view.stale else "muted"}">last import {when}' + \
        (" — data is stale" if view.stale else "") + "</span>"


# ------------------------------------------------------------------ index
def index_page(views: Sequence[AccountView], as_of: datetime) -> str:
    tiles = []
    for view in views:
        worst = max((v.status for v in view.values), key=lambda s: ["no_data", "good", "warning", "critical"].index(s),
                    default="no_data")
        rows = "".join(f"<tr><td>{_status(v.status)}</td><td>{e(_name(v))}</td><td>{_percent(v.rate)}</td>"
                       f"<td class=muted>{_target(v)}</td><td>{'' if v.headroom is None else v.headroom}</td></tr>"
                       for v in view.values)
        tiles.append(
            f'<div class="tile" style="border-top:6px solid {COLOURS[worst]}"><h3><a href="{e(view.page)}">'
            f"{e(view.key)}</a></h3><p>{len(view.open_alerts)} open alerts · {_fresh(view)}</p>"
            f"<table><tr><th>status</th><th>metric</th><th>value</th><th>target</th><th>headroom</th></tr>"
            f"{rows}</table></div>")
    body = (f"<header><h1>Account health</h1><span>as of {as_of:%Y-%m-%d %H:%M} UTC · {len(views)} accounts"
            f"</span></header><main><div class=tiles>{''.join(tiles) or '<p>No accounts yet.</p>'}</div></main>")
    return _doc("Account health", body)


# ------------------------------------------------------------------ account page
def account_page(view: AccountView) -> str:
    cards = "".join(
        f'<div class="card" style="border-left-color:{COLOURS[v.status]}"><div class=muted>{e(_name(v))}</div>'
        f'<div class=value>{_percent(v.rate)}</div><div>{_status(v.status)} · target {_target(v)}</div>'
        f"<div class=muted>{v.numerator} of {v.denominator}"
        + ("" if v.headroom is None else f" · headroom {v.headroom}")
        + (f" · breach forecast {e(v.forecast_breach)}" if v.forecast_breach else "") + "</div></div>"
        for v in view.values)
    charts = [(f"chart-{v.metric}-{v.channel}",
               _metric_chart(v, view.history.get((v.metric, v.channel), []), view.warn_ratio)) for v in view.values]
    charts.append(("chart-defects", _defects_chart(view.defects_by_day)))
    chart_divs = "".join(f'<div class="chart" id="{div}"></div>' for div, _ in charts)
    body = (f'<header><a href="index.html">← all accounts</a> · <a href="{e(view.appeal_page)}">case log, '
            f'evidence checklist and plan-of-action drafts</a><h1>{e(view.key)}</h1>'
            f"<span>as of {view.as_of:%Y-%m-%d %H:%M} UTC</span></header><main>"
            f"<p>{_fresh(view)}</p><div class=cards>{cards}</div>"
            f"<h2>Trend (last 90 days)</h2><div class=charts>{chart_divs}</div>"
            f"<h2>Orders that count against a metric now</h2>{_offenders(view)}"
            f"<h2>Amazon's own figures</h2>{_amazon(view)}"
            f"<h2>Open alerts</h2>{_open_alerts(view)}"
            f"<h2>Alert history</h2>{_alert_history(view)}"
            f"<h2>Import history</h2>{_imports(view)}</main>")
    return _doc(f"{view.key} · account health", body, charts)


def _metric_chart(v: MetricValue, series: list[tuple[str, float | None, str]], warn: float) -> dict:
    days = [d for d, _, _ in series]
    values = [None if r is None else round(r * 100, 3) for _, r, _ in series]
    limit = v.limit * 100
    if v.direction == "max":
        band, bad = (warn * limit, limit), (limit, max([limit * 1.5, *(x for x in values if x is not None)]))
    else:
        band, bad = (limit, 100 - warn * (100 - limit)), (min([limit - 5, *(x for x in values if x is not None)]), limit)
    shapes = [{"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": band[0], "y1": band[1],
               "fillcolor": "#fef0c7", "line": {"width": 0}, "layer": "below"},
              {"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": bad[0], "y1": bad[1],
               "fillcolor": "#fee4e2", "line": {"width": 0}, "layer": "below"},
              {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": limit, "y1": limit,
               "line": {"color": "#d92d20", "dash": "dash"}}]
    return {"data": [{"type": "scatter", "mode": "lines", "x": days, "y": values, "name": "daily value",
                      "line": {"color": "#1570ef"}, "connectgaps": False}],
            "layout": {"title": {"text": f"{METRICS_BY_ID[v.metric].name} · {v.channel.upper()} (%)"},
                       "shapes": shapes, "margin": {"l": 40, "r": 10, "t": 40, "b": 30}, "showlegend": False}}


def _defects_chart(by_day: dict[str, dict[str, int]]) -> dict:
    names = {"a_to_z_claim": "A-to-z claims", "negative_feedback": "negative feedback", "chargeback": "chargebacks"}
    data = [{"type": "bar", "name": names.get(kind, kind), "x": sorted(days), "y": [days[d] for d in sorted(days)]}
            for kind, days in sorted(by_day.items())]
    return {"data": data, "layout": {"title": {"text": "Defects received, by type"}, "barmode": "stack",
                                     "margin": {"l": 40, "r": 10, "t": 40, "b": 30}}}


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> str:
    if not rows:
        return f"<p class=muted>{e(empty)}</p>"
    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _offenders(view: AccountView) -> str:
    rows = [(METRICS_BY_ID[o.metric].name, o.channel.upper(), o.order_id, f"{o.when:%Y-%m-%d %H:%M}", o.reason,
             o.sku, o.product_name, o.carrier) for o in view.offenders]
    return _table(("metric", "ch", "order", "date", "why", "SKU", "product", "carrier"), rows,
                  "No metric is in warning or critical: no offending orders to show.")


def _amazon(view: AccountView) -> str:
    parts = []
    for r in view.reports:
        parts.append(f"<p>Marketplace {e(r.marketplace_id or '-')}: account status <b>{e(r.account_status or '-')}"
                     f"</b>, Account Health Rating <b>{e(r.ahr_score if r.ahr_score is not None else '-')}</b> "
                     f"({e(r.ahr_status or '-')}), imported {r.imported_at:%Y-%m-%d}.</p>")
    rows = [(c.metric, c.channel, f"{c.date_from:%Y-%m-%d} – {c.date_to:%Y-%m-%d}",
             f"{c.amazon_numerator}/{c.amazon_denominator} {_percent(c.amazon_rate)} {c.amazon_status or ''}",
             f"{c.numerator}/{c.denominator} {_percent(c.rate)} {c.status}", c.count_difference,
             c.denominator_difference) for c in view.amazon]
    parts.append(_table(("metric", "ch", "Amazon's range", "Amazon", "ours", "Δ bad", "Δ counted"), rows,
                        "No performance report (GET_V2_SELLER_PERFORMANCE_REPORT) imported."))
    if view.policies:
        parts.append(_table(("policy", "count", "status"),
                            [(p.name, p.numerator, p.status) for p in view.policies], ""))
    return "".join(parts)


def _open_alerts(view: AccountView) -> str:
    rows = [(a.level, a.metric, a.channel.upper(), f"{a.since:%Y-%m-%d %H:%M}", _percent(a.last_rate))
            for a in view.open_alerts]
    return _table(("level", "metric", "ch", "since", "last value"), rows, "No open alerts.")


def _alert_history(view: AccountView) -> str:
    rows = [(f"{n.created_at:%Y-%m-%d %H:%M}", n.level, n.subject) for n in view.alert_history]
    return _table(("sent", "level", "message"), rows, "No alert sent yet.")


def _imports(view: AccountView) -> str:
    rows = [(f"{i.started_at:%Y-%m-%d %H:%M}", i.file_name, i.format, i.status, i.rows_read, i.inserted, i.updated,
             i.quarantined, i.error) for i in view.imports]
    return _table(("when", "file", "format", "status", "rows", "new", "updated", "quarantined", "error"), rows,
                  "No import yet.")


def appeal_page(view: AccountView) -> str:
    """The account's appeal kit: case log, evidence checklists, drafts."""
    from monitor.dashboard.build import page_name

    cases = _table(("#", "when", "channel", "case id", "summary", "outcome", "follow up"),
                   [(c.id, f"{c.occurred_at:%Y-%m-%d %H:%M}", c.channel, c.case_id, c.summary, c.outcome,
                     "closed" if c.closed else (c.follow_up_on or "")) for c in view.cases],
                   "No interaction with Amazon recorded yet (account-health case add).")
    lists = []
    for reason, items in view.checklists.items():
        missing = sum(i.missing for i in items)
        rows = [("missing" if i.missing else "attached", i.description,
                 ", ".join(f.stored_path.rsplit("/", 1)[-1] for f in i.files)) for i in items]
        lists.append(f"<h3>{e(reason)}: {len(items) - missing} of {len(items)} attached</h3>"
                     + _table(("status", "document", "files"), rows, ""))
    drafts = "".join(f'<li><a href="appeals/{e(name)}">{e(name)}</a></li>' for name in view.drafts) or \
        "<li class=muted>No draft yet (account-health appeal draft --account ... --metric ...).</li>"
    body = (f'<header><a href="index.html">← all accounts</a> · <a href="{e(page_name(view.key))}">{e(view.key)}'
            f"</a><h1>Appeal kit: {e(view.key)}</h1></header><main><h2>Case log</h2>{cases}"
            f"<h2>Plan-of-action drafts</h2><ul>{drafts}</ul><h2>Evidence checklists</h2>{''.join(lists)}</main>")
    return _doc(f"{view.key} · appeal kit", body)
