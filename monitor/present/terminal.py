"""Plain-text lines for the terminal and the daemon's log (colour through click.style)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.present import fmt

if TYPE_CHECKING:
    from monitor.account_admin import AccountSummary
    from monitor.accounts import AccountFault
    from monitor.alerts import CheckRun
    from monitor.amazon import Comparison
    from monitor.appeal import ChecklistItem
    from monitor.dashboard.build import DashboardRun
    from monitor.health import Offender
    from monitor.inbox import InboxRun
    from monitor.ingest import ImportResult, ImportRun
    from monitor.metrics import MetricValue
    from monitor.models import CaseEntry, QuarantinedRow
    from monitor.monitor import SyncRun
    from monitor.quarantine import QuarantinedImport
    from monitor.status import SourceStatus, StatusReport


def _status(status: str, width: int = 9) -> str:
    label = fmt.status_label(status)
    label = label.upper() if status in ("critical", "warning") else label
    return click.style(label.ljust(width), fg=fmt.TERMINAL_COLOURS[status], bold=status == "critical")


# ------------------------------------------------------------------ imports
def import_line(result: ImportResult) -> str:
    """One line per file: what it was and what it did, or why it was rejected."""
    name = fmt.clean(Path(result.file).name)
    if result.status == "rejected":
        return f"{name}: rejected: {fmt.clean(result.error or '')}"
    if result.status == "duplicate":
        return f"{name}: already imported (import #{result.import_id}), nothing changed"
    line = (
        f"{name}: {result.format}, {result.rows_read} rows read, {result.inserted} inserted, "
        f"{result.updated} updated, {result.quarantined} quarantined"
    )
    extra = [f"{n} {what}" for n, what in ((result.skipped, "skipped"), (result.duplicates, "duplicates")) if n]
    if result.failed:
        extra.append("nothing imported: see `account-health quarantine show " + str(result.import_id) + "`")
    return line + (f" ({', '.join(extra)})" if extra else "")


def demo_lines(run: ImportRun, directory: Path) -> Iterator[str]:
    yield f"wrote {len(run.results)} sample reports to {directory}/"
    for r in run.results:
        yield (
            f"  {fmt.clean(Path(r.file).name)}: {r.status}, {r.rows_read} rows, {r.inserted} inserted, "
            f"{r.updated} updated, {r.quarantined} quarantined"
        )


def quarantine_lines(found: Sequence[QuarantinedImport]) -> Iterator[str]:
    if not found:
        yield "the quarantine is empty: every row read was imported"
        return
    yield click.style(f"{'import':>7}  {'rows':>6}  {'account':<16} {'format':<24} file / first reason", bold=True)
    for q in found:
        yield (
            f"#{q.import_id:>6}  {q.rows:>6}  {fmt.clean(q.account or '-'):<16} {q.format or '-':<24} "
            f"{fmt.clean(q.file_name)}: {fmt.clean(q.first_reason)[:80]}"
        )
    yield "rows of one import: account-health quarantine show IMPORT; again: quarantine retry IMPORT [--mapping F]"


def quarantined_row_lines(rows: Sequence[QuarantinedRow]) -> Iterator[str]:
    if not rows:
        yield "no rows of this import are in the quarantine"
    for r in rows:
        yield f"line {r.line_number}: {fmt.clean(r.reason)}"
        yield f"  {fmt.clean(r.raw)[:300]}"


def account_lines(found: Sequence[AccountSummary]) -> Iterator[str]:
    if not found:
        yield "no accounts yet: import a report (account-health import FILE --account NAME --new-account)"
        return
    yield click.style(f"{'account':<24} {'orders':>8}  {'newest order':<17} last import", bold=True)
    for a in found:
        newest = fmt.minute(a.newest_order, fmt.NONE).removesuffix(" UTC")
        yield f"{fmt.clean(a.key):<24} {a.orders:>8}  {newest:<17} {fmt.minute(a.last_import)}"


# ------------------------------------------------------------------ metrics
def metrics_table(values: Sequence[MetricValue], history: bool = False) -> Iterator[str]:
    """One line per value: status, value against target, counts, headroom, forecast."""
    if not values:
        yield "no accounts yet: import some reports first (account-health import FILE)"
        return
    first = "day" if history else "account"
    yield click.style(
        f"{first:<12} {'marketplace':<13} {'metric':<40} {'status':<9} {'value':>8} {'target':>7}  counts{'':<36} headroom",
        bold=True,
    )
    for v in values:
        label = fmt.clean(v.as_of.date().isoformat() if history else v.account)[:12]
        name = f"{v.definition.name}, {v.channel.upper()}"
        if v.status == "no_data":
            counts, room = v.no_data_reason or "", ""
        elif v.rate is None:  # only the marketplace's own figure
            own = fmt.percent(v.amazon_rate, unit=v.definition.unit)
            counts, room = f"{fmt.whose(v.marketplace)} own figure {own} ({v.amazon_status})", ""
        else:
            counts = fmt.counts(v)
            room = "" if v.headroom is None else fmt.more(v.headroom, v.definition.miss_label)
        forecast = f"  breach forecast {v.forecast_breach}" if v.forecast_breach else ""
        yield (
            f"{label:<12} {fmt.clean(v.marketplace):<13} {name:<40} {_status(v.status)} {fmt.percent(v.rate, '   -  ', v.definition.unit):>8} "
            f"{fmt.target(v.limit, v.direction, False, v.definition.unit, v.definition.at_limit_ok):>7}  {counts:<42} {room}{forecast}"
        )


def offenders_table(rows: Sequence[Offender], metric: str) -> Iterator[str]:
    from monitor.metrics import metric_def

    if not rows:
        yield f"no orders count against {metric} in the current window"
        return
    yield click.style(f"{len(rows)} orders count against {metric_def(metric).name}:", bold=True)
    for r in rows:
        details = fmt.clean(", ".join(x for x in (r.sku and f"SKU {r.sku}", r.carrier, r.ship_service_level) if x))
        yield (
            f"  {fmt.clean(r.account):<12} {fmt.clean(r.marketplace):<13} {r.channel.upper()} "
            f"{fmt.clean(r.order_id):<22} {r.when:%Y-%m-%d %H:%M}  {fmt.clean(r.reason)}"
        ) + (f"  [{details}]" if details else "")


def comparison_table(rows: Sequence[Comparison]) -> Iterator[str]:
    if not rows:
        yield "no Amazon performance report imported yet (GET_V2_SELLER_PERFORMANCE_REPORT)"
        return
    yield click.style(
        f"{'account':<12} {'market':<15} {'metric':<9} {'ch':<3} {'range':<23} "
        f"{'Amazon':>18} {'ours':>18} {'diff':>11}",
        bold=True,
    )
    for r in rows:
        theirs = f"{fmt.count(r.amazon_numerator)}/{fmt.count(r.amazon_denominator)} {fmt.percent(r.amazon_rate)}"
        ours = f"{r.numerator}/{r.denominator} {fmt.percent(r.rate)}"
        diff = "/".join(fmt.NONE if x is None else f"{x:+d}" for x in (r.count_difference, r.denominator_difference))
        span = fmt.window(r.date_from, r.date_to, "..")
        yield (
            f"{fmt.clean(r.account):<12} {fmt.clean(str(r.marketplace or '-')):<15} {r.metric:<9} {r.channel:<3} {span:<23} "
            f"{theirs:>18} {ours:>18} {diff:>11}"
        )


def fault_lines(faults: Sequence[AccountFault]) -> Iterator[str]:
    """Accounts the monitor could not evaluate (the others were)."""
    for fault in faults:
        yield click.style(
            f"error: account {fmt.clean(fault.account)} could not be evaluated: {fmt.clean(fault.error)} "
            "(the other accounts were; --debug shows the traceback)",
            fg="red",
        )


# ------------------------------------------------------------------ alerts
def check_summary(run: CheckRun) -> Iterator[str]:
    """What a check did: messages (in full on a dry run), deliveries, stale accounts."""
    from monitor.present.alerts import subject, text

    if run.dry_run:
        for message in run.messages:
            yield click.style(f"would send: {subject(message)}", bold=True)
            yield text(message)
    yield (
        f"{fmt.plural(len(run.firing), 'alert')} firing, {fmt.plural(len(run.messages), 'message')} "
        f"{'due (dry run: nothing sent, nothing changed)' if run.dry_run else 'queued'}"
        + (f"; {run.evaluated} accounts evaluated, {run.unchanged} unchanged" if run.unchanged else "")
    )
    if run.dry_run and not run.messages and run.firing:
        yield "every firing alert was sent before: `check --dry-run --all` prints them again"
    if not run.dry_run:
        d = run.delivery
        yield f"deliveries: {d.sent} sent, {d.pending} pending (retried next run), {d.dead} undeliverable"
        for error in d.errors:
            yield click.style(f"  {fmt.clean(error)}", fg="red")
        for kind in d.dead_notifiers:
            yield click.style(
                f"  notifier {kind} is dead: fix its settings, then `account-health notifier reset {kind}`", fg="red"
            )
    for account in run.stale_accounts:
        yield click.style(f"stale data: no successful import for {fmt.clean(account)} recently", fg="yellow")
    yield from fault_lines(run.faults)


# ------------------------------------------------------------------ status
def status_lines(state: StatusReport) -> Iterator[str]:
    ok = click.style("OK", fg="green", bold=True) if state.ok else click.style("FAILING", fg="red", bold=True)
    yield f"{ok}  as of {state.now:%Y-%m-%d %H:%M:%S} UTC"
    colour = "green" if state.daemon == "running" else "red"
    yield f"daemon: {click.style(state.daemon, fg=colour)} ({state.daemon_detail})"
    yield f"last check: {state.last_check:%Y-%m-%d %H:%M:%S} UTC" if state.last_check else "last check: never"
    for d in state.daemons:  # several daemons sharing the fleet (PostgreSQL)
        life = click.style("alive", fg="green") if d.alive else click.style("gone", fg="red")
        yield (
            f"  daemon {fmt.clean(d.id)} ({life}, heartbeat {fmt.minute(d.beat_at)}): "
            f"{fmt.plural(len(d.accounts), 'account')}"
            + (f" ({', '.join(d.accounts[:5])}{', ...' if len(d.accounts) > 5 else ''})" if d.accounts else "")
        )
    yield f"Selling Partner API sync: {state.sync}"
    yield f"deliveries waiting in the outbox: {state.pending_deliveries}"
    for kind, reason in state.dead_notifiers.items():
        yield click.style(f"notifier {kind} is dead: {fmt.clean(reason)}", fg="red")
    for job, failure in state.failing_jobs.items():
        yield click.style(f"daemon job {job} failed: {fmt.clean(failure)}", fg="red")
    for a in state.accounts:
        fresh = click.style("stale", fg="red") if a.stale else click.style("fresh", fg="green")
        open_alerts = ", ".join(a.open_alerts) or "no open alerts"
        yield (
            f"  {fmt.clean(a.account):<20} newest order {fmt.minute(a.newest_order)} ({fresh}), last import "
            f"{fmt.minute(a.last_import)}; {open_alerts}"
        )
        for market, sources in a.coverage.items():
            yield f"    {fmt.clean(market)}: " + "; ".join(_source_word(s) for s in sources)


def _source_word(s: SourceStatus) -> str:
    label = fmt.source_label(s.source)
    if s.state == "never":
        return click.style(f"{label} never imported", fg="bright_black")
    if s.newest_data_at is None:  # imported, but holding none yet (a defects file with no claims)
        return f"{label} none yet (imported {fmt.minute(s.last_import_at).removesuffix(' UTC')})"
    when = fmt.minute(s.newest_data_at).removesuffix(" UTC")
    return click.style(f"{label} STOPPED at {when}", fg="red") if s.state == "stopped" else f"{label} {when}"


# ------------------------------------------------------------------ the daemon's log
def job_line(name: str, result: object) -> str:
    """What one daemon job did, in one line (without the time and duration)."""
    from monitor.alerts import CheckRun
    from monitor.dashboard.build import DashboardRun
    from monitor.inbox import InboxRun
    from monitor.monitor import SyncRun

    if isinstance(result, InboxRun):
        return _inbox_summary(result)
    if isinstance(result, SyncRun):
        return _sync_summary(result)
    if isinstance(result, CheckRun):
        d = result.delivery
        return (
            f"{fmt.plural(len(result.firing), 'alert')} firing, {fmt.plural(len(result.messages), 'message')}, "
            f"{result.evaluated} accounts evaluated, {result.unchanged} unchanged, "
            f"deliveries {d.sent} sent "
            f"{d.pending} pending {d.dead} dead, {len(result.stale_accounts)} accounts stale"
        )
    if isinstance(result, DashboardRun):
        kept = f", {result.unchanged} unchanged" if result.unchanged else ""
        return f"{len(result.pages)} account pages written to {result.index.parent}{kept}"
    if isinstance(result, int):
        return f"{result} daily values stored"
    return str(result)


def _inbox_summary(run: InboxRun) -> str:
    summary = (
        f"{len(run.results)} files ({run.count('ok', 'partial')} imported, {run.count('duplicate')} already "
        f"known, {run.count('rejected')} rejected), {sum(r.inserted for r in run.results)} new and "
        f"{sum(r.updated for r in run.results)} updated rows, "
        f"{sum(r.quarantined for r in run.results)} quarantined"
    )
    if run.waiting:
        summary += f", {len(run.waiting)} still being written"
    if run.refused:
        summary += f", {len(run.refused)} refused unread (not plain files)"
    if run.changed_while_read:
        summary += f", {len(run.changed_while_read)} changed while read (imported again next pass)"
    return summary + ("; data changed" if run.changed else "")


def _sync_summary(run: SyncRun) -> str:
    errors = [e for r in run.results for e in r.errors]
    summary = f"{len(run.accounts)} accounts, {sum(r.orders for r in run.accounts)} orders pulled, {len(errors)} errors"
    if run.scorecards:
        summary += f", {len(run.scorecards)} scorecards pulled"
    if errors:
        summary += f" (first: {errors[0][:160]})"
    return summary + ("; data changed" if run.changed else "")


def sync_lines(run: SyncRun) -> Iterator[tuple[str, bool]]:
    """(line, is an error) for `account-health sync`."""
    for result in run.accounts:
        yield f"{fmt.clean(result.account)}: {result.orders} orders pulled", False
        for imported in result.imports:
            yield f"  {import_line(imported)}", imported.failed
        for error in result.errors:
            yield click.style(f"  {fmt.clean(error)}", fg="red"), True
    for pull in run.scorecards:
        what = {
            "walmart": "Walmart Insights summaries",
            "ebay": "eBay seller standards profiles",
            "etsy": "Etsy reviews",
        }[pull.channel]
        yield f"{fmt.clean(pull.account)}: {pull.pulled} {what} pulled", False
        for imported in pull.imports:
            yield f"  {import_line(imported)}", imported.failed
        for error in pull.errors:
            yield click.style(f"  {fmt.clean(error)}", fg="red"), True


def dashboard_line(run: DashboardRun) -> str:
    return str(run.index.resolve())


def headline_lines(run: DashboardRun) -> Iterator[str]:
    """Each account's headline, the most urgent first, coloured by its status."""
    from monitor.present.headline import sentence

    for h in run.headlines:
        colour = "red" if h.fault else fmt.TERMINAL_COLOURS[str(h.status)]
        yield f"{click.style(fmt.clean(h.account), bold=True)}: {click.style(sentence(h), fg=colour)}"


# ------------------------------------------------------------------ the appeal kit
def case_lines(entries: Sequence[tuple[str, CaseEntry]]) -> Iterator[str]:
    if not entries:
        yield "no case log entries yet (account-health case add ...)"
    for key, c in entries:
        follow = f", follow up {c.follow_up_on}" if c.follow_up_on and not c.closed else ""
        outcome = f" -> {c.outcome[:40]}" if c.outcome else ""
        yield (
            f"#{c.id:<4} {c.occurred_at:%Y-%m-%d %H:%M} {key:<12} {c.medium:<6} {c.case_id or '-':<14} "
            f"{fmt.clean(c.summary[:60])}{fmt.clean(outcome)}{follow}{' (closed)' if c.closed else ''}"
        )


def case_detail(c: CaseEntry) -> Iterator[str]:
    yield f"case log entry #{c.id}"
    for label, value in (
        ("when", fmt.minute(c.occurred_at)),
        ("medium", c.medium),
        ("case id", c.case_id or "-"),
        ("summary", c.summary),
        ("outcome", c.outcome or "-"),
        ("follow up", c.follow_up_on or "-"),
        ("reminded", c.reminded_at or "-"),
        ("closed", "yes" if c.closed else "no"),
    ):
        yield f"  {label:<10} {value}"


def checklist_lines(items: Sequence[ChecklistItem]) -> Iterator[str]:
    for item in items:
        mark = click.style("missing ", fg="red") if item.missing else click.style("attached", fg="green")
        files = ", ".join(Path(f.stored_path).name for f in item.files)
        yield f"  [{mark}] {item.item:<26} {item.description}" + (f"  ({files})" if files else "")
    missing = sum(i.missing for i in items)
    yield f"{len(items) - missing} of {len(items)} items attached" + (f"; {missing} missing" if missing else "")
