"""Plain-text tables for the terminal (the CLI prints them; colour through click.style)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from monitor.metrics import METRICS_BY_ID, MetricValue

STATUS_COLOURS = {"critical": "red", "warning": "yellow", "good": "green", "no_data": "bright_black"}
STATUS_LABELS = {"critical": "CRITICAL", "warning": "WARNING", "good": "good", "no_data": "no data"}


def _percent(value: float | None) -> str:
    return "   -  " if value is None else f"{value * 100:5.2f} %"


def _target(value: MetricValue) -> str:
    return f"{'<' if value.direction == 'max' else '>='} {value.limit * 100:g} %"


def _status(status: str, width: int = 9) -> str:
    return click.style(STATUS_LABELS[status].ljust(width), fg=STATUS_COLOURS[status], bold=status == "critical")


def metrics_table(values: Sequence[MetricValue], history: bool = False) -> Iterator[str]:
    """One line per value: status, value against target, counts, headroom, forecast."""
    if not values:
        yield "no accounts yet: import some reports first (account-health import FILE)"
        return
    first = "day" if history else "account"
    yield click.style(f"{first:<12} {'metric':<40} {'status':<9} {'value':>8} {'target':>7}  counts"
                      f"{'':<36} headroom", bold=True)
    for v in values:
        label = (v.as_of.date().isoformat() if history else v.account)[:12]
        name = f"{METRICS_BY_ID[v.metric].name}, {v.channel.upper()}"
        if v.status == "no_data":
            counts = v.no_data_reason or ""
            room = ""
        else:
            counts = f"{v.numerator} of {v.denominator} {METRICS_BY_ID[v.metric].bad_label}"
            room = "" if v.headroom is None else f"{v.headroom} more bad"
        forecast = f"  breach forecast {v.forecast_breach}" if v.forecast_breach else ""
        yield (f"{label:<12} {name:<40} {_status(v.status)} {_percent(v.rate):>8} {_target(v):>7}  "
               f"{counts:<42} {room}{forecast}")


def offenders_table(rows, metric: str) -> Iterator[str]:
    if not rows:
        yield f"no orders count against {metric} in the current window"
        return
    yield click.style(f"{len(rows)} orders count against {METRICS_BY_ID[metric].name}:", bold=True)
    for r in rows:
        details = ", ".join(x for x in (r.sku and f"SKU {r.sku}", r.carrier, r.ship_service_level) if x)
        yield f"  {r.account:<12} {r.channel.upper()} {r.order_id:<22} {r.when:%Y-%m-%d %H:%M}  {r.reason}" + (
            f"  [{details}]" if details else "")


def comparison_table(rows) -> Iterator[str]:
    if not rows:
        yield "no Amazon performance report imported yet (GET_V2_SELLER_PERFORMANCE_REPORT)"
        return
    yield click.style(f"{'account':<12} {'market':<15} {'metric':<9} {'ch':<3} {'range':<23} "
                      f"{'Amazon':>18} {'ours':>18} {'diff':>11}", bold=True)
    for r in rows:
        amazon = f"{r.amazon_numerator if r.amazon_numerator is not None else '?'}/" \
                 f"{r.amazon_denominator if r.amazon_denominator is not None else '?'} {_percent(r.amazon_rate)}"
        ours = f"{r.numerator}/{r.denominator} {_percent(r.rate)}"
        diff = "/".join("?" if x is None else f"{x:+d}" for x in (r.count_difference, r.denominator_difference))
        span = f"{r.date_from:%Y-%m-%d}..{r.date_to:%Y-%m-%d}"
        yield (f"{r.account:<12} {str(r.marketplace or '-'):<15} {r.metric:<9} {r.channel:<3} {span:<23} "
               f"{amazon:>18} {ours:>18} {diff:>11}")


def check_summary(result) -> Iterator[str]:
    """What a check did: messages (in full on a dry run), deliveries, stale accounts."""
    if result.dry_run:
        for message in result.messages:
            yield click.style(f"would send: {message.subject}", bold=True)
            yield message.text
    firing = result.firing
    yield (f"{len(firing)} alerts firing, {len(result.messages)} messages "
           f"{'due (dry run: nothing sent, nothing changed)' if result.dry_run else 'queued'}")
    if not result.dry_run:
        d = result.delivery
        yield f"deliveries: {d.sent} sent, {d.pending} pending (retried next run), {d.dead} undeliverable"
        for error in d.errors:
            yield click.style(f"  {error}", fg="red")
        for name in d.dead_channels:
            yield click.style(f"  channel {name} is dead: fix its settings", fg="red")
    for account in result.stale_accounts:
        yield click.style(f"stale data: no successful import for {account} recently", fg="yellow")


def status_lines(state) -> Iterator[str]:
    ok = click.style("OK", fg="green", bold=True) if not state.failing else click.style("FAILING", fg="red", bold=True)
    yield f"{ok}  as of {state.now:%Y-%m-%d %H:%M:%S} UTC"
    colour = "green" if state.daemon == "running" else "red"
    yield f"daemon: {click.style(state.daemon, fg=colour)} ({state.daemon_detail})"
    yield f"last check: {state.last_check:%Y-%m-%d %H:%M:%S} UTC" if state.last_check else "last check: never"
    yield f"Selling Partner API sync: {state.sync}"
    yield f"deliveries waiting in the outbox: {state.pending_deliveries}"
    for name, reason in state.dead_channels.items():
        yield click.style(f"channel {name} is dead: {reason}", fg="red")
    for a in state.accounts:
        when = f"{a.last_import:%Y-%m-%d %H:%M} UTC" if a.last_import else "never"
        fresh = click.style("stale", fg="red") if a.stale else click.style("fresh", fg="green")
        alerts = ", ".join(a.open_alerts) or "no open alerts"
        yield f"  {a.account:<20} last import {when} ({fresh}); {alerts}"


def case_lines(entries) -> Iterator[str]:
    if not entries:
        yield "no case log entries yet (account-health case add ...)"
    for key, c in entries:
        follow = f", follow up {c.follow_up_on}" if c.follow_up_on and not c.closed else ""
        yield (f"#{c.id:<4} {c.occurred_at:%Y-%m-%d %H:%M} {key:<12} {c.channel:<6} {c.case_id or '-':<14} "
               f"{c.summary[:60]}{' -> ' + c.outcome[:40] if c.outcome else ''}{follow}{' (closed)' if c.closed else ''}")


def case_detail(c) -> Iterator[str]:
    yield f"case log entry #{c.id}"
    for label, value in (("when", f"{c.occurred_at:%Y-%m-%d %H:%M} UTC"), ("channel", c.channel),
                         ("case id", c.case_id or "-"), ("summary", c.summary), ("outcome", c.outcome or "-"),
                         ("follow up", c.follow_up_on or "-"), ("reminded", c.reminded_at or "-"),
                         ("closed", "yes" if c.closed else "no")):
        yield f"  {label:<10} {value}"


def checklist_lines(items) -> Iterator[str]:
    for item in items:
        mark = click.style("missing ", fg="red") if item.missing else click.style("attached", fg="green")
        files = ", ".join(Path(f.stored_path).name for f in item.files)
        yield f"  [{mark}] {item.item:<26} {item.description}" + (f"  ({files})" if files else "")
    missing = sum(i.missing for i in items)
    yield f"{len(items) - missing} of {len(items)} items attached" + (f"; {missing} missing" if missing else "")
