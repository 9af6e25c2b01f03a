"""The `account-health` command: parse arguments, call one Monitor method, print its result.

Heavy modules (pandas, SQLAlchemy, the Monitor) are imported inside the commands, so
that `account-health --help` answers at once.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.config import Settings, load_settings
from monitor.errors import MonitorError

if TYPE_CHECKING:
    from monitor.accounts import AccountFault
    from monitor.monitor import Monitor

log = logging.getLogger("monitor")
FORMATS = click.Choice(["table", "json"])


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """--env-file and --debug on every command; settings loaded once, passed in."""

    @click.option(
        "--env-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="settings file (default: .env in the working directory, when it exists)",
    )
    @click.option("--debug", is_flag=True, help="show tracebacks and debug logs")
    @functools.wraps(command)
    def wrapper(env_file: Path | None, debug: bool, **kwargs: Any) -> Any:
        logging.basicConfig(
            level=logging.DEBUG if debug else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        return command(load_settings(env_file), **kwargs)

    return wrapper


@contextmanager
def _monitor(settings: Settings, **options: Any) -> Iterator[Monitor]:
    from monitor.monitor import Monitor

    with Monitor.open(settings, **options) as monitor:
        yield monitor


def _echo(lines: Iterable[str], err: bool = False) -> None:
    for line in lines:
        click.echo(line, err=err)


def _json(value: Any) -> None:
    from monitor.present.jsonout import dumps

    click.echo(dumps(value))


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    from monitor.timeutil import parse_as_of, utcnow

    try:
        moment = parse_as_of(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    now = utcnow()
    if moment > now:  # nothing about it can be known yet: unconfirmed orders would look late
        raise click.BadParameter(
            f"{moment:%Y-%m-%d %H:%M} UTC is in the future (now: {now:%Y-%m-%d %H:%M} UTC); "
            "a date means the end of that day: leave --as-of out for now",
            param_hint="--as-of",
        )
    return moment


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="account-health-monitor")
def cli() -> None:
    """Watch Amazon seller account health and warn before a metric crosses its limit."""


@cli.command()
@_common
def init(settings: Settings) -> None:
    """Create or upgrade the database to the newest migration."""
    from monitor.monitor import Monitor

    before, after = Monitor.init_database(settings)
    if before == after:
        click.echo(f"database is up to date (revision {after})")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to revision {after}")


@cli.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--account", help="account key for rows that name none (default: DEFAULT_ACCOUNT)")
@click.option("--format", "forced_format", help="force a format instead of detecting it by header")
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML column mapping for a layout the monitor does not know",
)
@click.option("--new-account", is_flag=True, help="create the --account if it does not exist yet")
@click.option("--force", is_flag=True, help="apply a file again even if it was imported before (new ledger row)")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_common
def import_(
    settings: Settings,
    paths: tuple[Path, ...],
    account: str | None,
    forced_format: str | None,
    mapping: Path | None,
    new_account: bool,
    force: bool,
    output: str,
) -> None:
    """Import report files (a directory means the files in it)."""
    from monitor.present.terminal import import_line

    with _monitor(settings) as monitor:
        run = monitor.import_paths(list(paths), account, forced_format, mapping, new_account, force)
    if output == "json":
        _json(run.results)
    else:
        for result in run.results:
            click.echo(import_line(result), err=result.failed)
    if run.failed:
        sys.exit(1)


@cli.command(name="metrics")
@click.option("--account", help="one account (default: all)")
@click.option("--marketplace", help="one marketplace: amazon.com, or its id (default: all)")
@click.option("--as-of", "as_of", help="ISO timestamp, or a date meaning the end of that day (UTC); default now")
@click.option(
    "--history", "history_days", type=click.IntRange(1, 3650), help="one value per day for the last DAYS days"
)
@click.option("--format", "output", type=FORMATS, default="table", show_default=True)
@click.option("--explain", "explain_metric", metavar="METRIC", help="list the orders that count against METRIC")
@click.option("--channel", type=click.Choice(["afn", "mfn"]), help="with --explain: one channel")
@click.option("--amazon", is_flag=True, help="Amazon's own figures beside ours, over Amazon's reporting ranges")
@_common
def metrics_(
    settings: Settings,
    account: str | None,
    marketplace: str | None,
    as_of: str | None,
    history_days: int | None,
    output: str,
    explain_metric: str | None,
    channel: str | None,
    amazon: bool,
) -> None:
    """Compute the account health metrics (ODR, LSR, CR, VTR, OTDR)."""
    from monitor.domain import Channel
    from monitor.present import terminal

    moment = _as_of(as_of)
    faults: list[AccountFault] = []
    with _monitor(settings) as monitor:
        if explain_metric:
            channel_ = Channel(channel) if channel else None
            offenders = monitor.explain(explain_metric, account, channel_, moment, marketplace, faults)
            _json(offenders) if output == "json" else _echo(terminal.offenders_table(offenders, explain_metric))
        elif amazon:
            rows = monitor.compare_with_amazon(account, marketplace)
            _json(rows) if output == "json" else _echo(terminal.comparison_table(rows))
        else:
            run = monitor.metrics(account, moment, history_days, marketplace)
            faults = run.faults
            _json(run.values) if output == "json" else _echo(terminal.metrics_table(run.values, bool(history_days)))
    _echo(terminal.fault_lines(faults), err=True)
    if faults:
        sys.exit(1)


@cli.command()
@click.option("--as-of", "as_of", help="evaluate at this time instead of now (ISO timestamp or date)")
@click.option("--dry-run", is_flag=True, help="print every message that would be sent; send nothing, change nothing")
@click.option(
    "--all", "all_firing", is_flag=True, help="with --dry-run: also print the alerts already sent and still firing"
)
@_common
def check(settings: Settings, as_of: str | None, dry_run: bool, all_firing: bool) -> None:
    """Evaluate the metrics, update alert state and send due notifications."""
    from monitor.present.terminal import check_summary

    if all_firing and not dry_run:
        raise click.UsageError("--all only goes with --dry-run (a real check sends what is due, once)")
    with _monitor(settings, printer=None if dry_run else click.echo) as monitor:
        run = monitor.check(_as_of(as_of), dry_run, all_firing)
    _echo(check_summary(run))
    if run.failed and not dry_run:
        sys.exit(1)


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="folder (default: REPORTS_DIR)")
@click.option("--as-of", "as_of", help="evaluate at this time instead of now (ISO timestamp or date)")
@_common
def dashboard(settings: Settings, out: Path | None, as_of: str | None) -> None:
    """Write the HTML dashboards; print the path of the index page."""
    from monitor.present.terminal import dashboard_line, fault_lines

    with _monitor(settings) as monitor:
        run = monitor.build_dashboards(out, _as_of(as_of))
    click.echo(dashboard_line(run))
    _echo(fault_lines(run.faults), err=True)
    if run.failed:
        sys.exit(1)


@cli.command()
@click.option("--account", help="one account (default: every configured account)")
@_common
def sync(settings: Settings, account: str | None) -> None:
    """Pull orders and reports from the Selling Partner API, Walmart's and eBay's own figures and Etsy's reviews."""
    from monitor.present.terminal import sync_lines

    with _monitor(settings) as monitor:
        run = monitor.sync(account)
    if run.off:
        click.echo(
            "sync is off: no credentials configured (Selling Partner API: SPAPI_REFRESH_TOKEN, SPAPI_CLIENT_ID, "
            "SPAPI_CLIENT_SECRET, SPAPI_MARKETPLACE_IDS; Walmart: WALMART_CLIENT_ID, WALMART_CLIENT_SECRET; eBay: "
            "EBAY_CLIENT_ID, EBAY_CLIENT_SECRET, EBAY_REFRESH_TOKEN; Etsy: ETSY_API_KEY, ETSY_SHOP_ID)",
            err=True,
        )
        sys.exit(1 if account else 0)
    for line, is_error in sync_lines(run):
        click.echo(line, err=is_error)
    if run.failed:
        sys.exit(1)


# ------------------------------------------------------------------ the appeal kit
@cli.group(name="quarantine")
def quarantine_() -> None:
    """Rows that could not be read: which imports left some, what they are, reading them again."""


@quarantine_.command(name="list")
@_common
def quarantine_list(settings: Settings) -> None:
    """The imports with rows in the quarantine."""
    from monitor.present.terminal import quarantine_lines

    with _monitor(settings) as monitor:
        _echo(quarantine_lines(monitor.quarantined_imports()))


@quarantine_.command(name="show")
@click.argument("import_id", type=int)
@_common
def quarantine_show(settings: Settings, import_id: int) -> None:
    """The bad rows of one import: line, reason and text."""
    from monitor.present.terminal import quarantined_row_lines

    with _monitor(settings) as monitor:
        _echo(quarantined_row_lines(monitor.quarantined_rows(import_id)))


@quarantine_.command(name="retry")
@click.argument("import_id", type=int)
@click.option(
    "--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="a fixed TOML column mapping"
)
@_common
def quarantine_retry(settings: Settings, import_id: int, mapping: Path | None) -> None:
    """Read the bad rows of an import again (as a new import of the same account)."""
    from monitor.present.terminal import import_line

    with _monitor(settings) as monitor:
        run = monitor.retry_quarantine(import_id, mapping)
    for result in run.results:
        click.echo(import_line(result), err=result.failed)
    if run.failed:
        sys.exit(1)


@cli.group()
def account() -> None:
    """The seller accounts: list, rename, merge (a typo's account into the right one), delete."""


@account.command(name="list")
@click.option("--format", "output", type=FORMATS, default="table", show_default=True)
@_common
def account_list(settings: Settings, output: str) -> None:
    """Every account with its orders, newest order and last import."""
    from monitor.present.terminal import account_lines

    with _monitor(settings) as monitor:
        found = monitor.accounts()
    _json(found) if output == "json" else _echo(account_lines(found))


@account.command(name="rename")
@click.argument("old")
@click.argument("new")
@_common
def account_rename(settings: Settings, old: str, new: str) -> None:
    """Give an account another name (its data stays)."""
    with _monitor(settings) as monitor:
        monitor.rename_account(old, new)
    click.echo(f"account {old} is now {new}")


@account.command(name="merge")
@click.argument("source")
@click.argument("into")
@_common
def account_merge(settings: Settings, source: str, into: str) -> None:
    """Move SOURCE's data into INTO and delete SOURCE (orders both hold are merged)."""
    with _monitor(settings) as monitor:
        moved = monitor.merge_accounts(source, into)
    counts = ", ".join(f"{n} {table}" for table, n in moved.items() if n)
    click.echo(f"merged {source} into {into}: {counts or 'nothing to move'}")


@account.command(name="delete")
@click.argument("key")
@click.option("--yes", is_flag=True, help="really delete the account and everything stored for it")
@_common
def account_delete(settings: Settings, key: str, yes: bool) -> None:
    """Delete an account and all its data (the ledger keeps a row saying what it held)."""
    if not yes:
        raise click.UsageError(f"deleting {key} removes all its data for good: add --yes to do it")
    with _monitor(settings) as monitor:
        counts = monitor.delete_account(key)
    held = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
    click.echo(f"deleted account {key} ({held or 'no data'}); account_events keeps the record")


@cli.group()
def case() -> None:
    """The case log: every interaction with Amazon about an account."""


@case.command(name="add")
@click.option("--account", required=True)
@click.option(
    "--medium",
    "--channel",
    "medium",
    type=click.Choice(["case", "email", "phone", "chat"]),
    required=True,
    help="how it took place (--channel is the old name)",
)
@click.option("--summary", required=True, help="what was said or asked")
@click.option("--case-id", help="Seller Support case number")
@click.option("--outcome", help="what came of it")
@click.option("--follow-up", "follow_up", help="date to follow up (YYYY-MM-DD): a reminder goes out that day")
@click.option("--when", help="when it happened (ISO timestamp; default now)")
@_common
def case_add(
    settings: Settings,
    account: str,
    medium: str,
    summary: str,
    case_id: str | None,
    outcome: str | None,
    follow_up: str | None,
    when: str | None,
) -> None:
    """Record an interaction."""
    with _monitor(settings) as monitor:
        entry = monitor.add_case(account, medium, summary, case_id, outcome, _date(follow_up), _as_of(when))
    click.echo(f"case log entry #{entry.id} recorded")


@case.command(name="list")
@click.option("--account")
@_common
def case_list(settings: Settings, account: str | None) -> None:
    """The case log, oldest first."""
    from monitor.present.terminal import case_lines

    with _monitor(settings) as monitor:
        _echo(case_lines(monitor.cases(account)))


@case.command(name="show")
@click.argument("number", type=int)
@_common
def case_show(settings: Settings, number: int) -> None:
    """One entry in full."""
    from monitor.present.terminal import case_detail

    with _monitor(settings) as monitor:
        _echo(case_detail(monitor.case(number)))


@case.command(name="update")
@click.argument("number", type=int)
@click.option("--outcome")
@click.option("--summary")
@click.option("--follow-up", "follow_up", help="a new follow-up date (YYYY-MM-DD)")
@click.option("--close", is_flag=True, help="nothing more to follow up")
@_common
def case_update(
    settings: Settings, number: int, outcome: str | None, summary: str | None, follow_up: str | None, close: bool
) -> None:
    """Change an entry: its outcome, its follow-up date, or close it."""
    with _monitor(settings) as monitor:
        monitor.update_case(number, outcome, _date(follow_up), summary, close)
    click.echo(f"case log entry #{number} updated")


@cli.group()
def evidence() -> None:
    """Documents for an appeal, per deactivation reason."""


@evidence.command(name="add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", required=True)
@click.option("--reason", required=True, help="odr, lsr, cr, ip-authenticity, restricted-product or policy")
@click.option("--item", required=True, help="the checklist item (see `evidence list`)")
@click.option("--note")
@_common
def evidence_add(settings: Settings, path: Path, account: str, reason: str, item: str, note: str | None) -> None:
    """Attach a document: it is copied into EVIDENCE_DIR with its sha256 recorded."""
    with _monitor(settings) as monitor:
        found = monitor.attach_evidence(account, reason, item, path, note)
    click.echo(f"attached {path.name} (sha256 {found.sha256[:12]}...) as {found.reason}/{found.item}")


@evidence.command(name="list")
@click.option("--account", required=True)
@click.option("--reason", required=True)
@_common
def evidence_list(settings: Settings, account: str, reason: str) -> None:
    """The checklist for a reason: what is attached and what is missing."""
    from monitor.present.terminal import checklist_lines

    with _monitor(settings) as monitor:
        items = monitor.checklist(account, reason)
    _echo(checklist_lines(items))
    if any(i.missing for i in items):
        sys.exit(1)


@evidence.command(name="shipping-log")
@click.option("--account", required=True)
@click.option("--marketplace", help="one marketplace (amazon.de or its id); default: all of them")
@click.option("--days", type=click.IntRange(1, 3650), default=120, show_default=True, help="the last N days")
@click.option("--from", "first", help="first order day (YYYY-MM-DD) instead of --days")
@click.option("--to", "last", help="last order day (YYYY-MM-DD), default yesterday")
@click.option("--no-attach", is_flag=True, help="write the file only; do not attach it to the LSR checklist")
@_common
def evidence_shipping_log(
    settings: Settings,
    account: str,
    marketplace: str | None,
    days: int,
    first: str | None,
    last: str | None,
    no_attach: bool,
) -> None:
    """Write the shipping log of a period (every order: ship-by, confirmation, carrier, tracking,
    delivery) from the monitor's data, and attach it as the LSR checklist's shipping log."""
    with _monitor(settings) as monitor:
        log = monitor.shipping_log(account, _date(first), _date(last), days, marketplace, attach=not no_attach)
    click.echo(
        f"{log.path.resolve()}: {log.orders} orders from {log.first_day} to {log.last_day}, {log.late} shipped late or not "
        "confirmed by their ship-by date" + ("" if no_attach else "; attached as lsr/shipping-log")
    )


@cli.group(name="appeal")
def appeal_group() -> None:
    """Actions taken and the plan-of-action draft."""


@appeal_group.group(name="action")
def appeal_action() -> None:
    """Corrective actions and preventive measures."""


@appeal_action.command(name="add")
@click.option("--account", required=True)
@click.option("--metric", required=True)
@click.option("--kind", type=click.Choice(["corrective", "preventive"]), required=True)
@click.option("--description", required=True)
@click.option("--on", "taken_on", help="when it was done (YYYY-MM-DD; default today)")
@_common
def appeal_action_add(
    settings: Settings, account: str, metric: str, kind: str, description: str, taken_on: str | None
) -> None:
    """Record what was done about a metric."""
    with _monitor(settings) as monitor:
        action = monitor.add_action(account, metric, kind, description, _date(taken_on))
    click.echo(f"{kind} action #{action.id} recorded for {metric}")


@appeal_group.command(name="draft")
@click.option("--account", required=True)
@click.option("--metric", required=True)
@click.option("--channel", type=click.Choice(["afn", "mfn"]))
@click.option("--marketplace", help="one marketplace (default: the one where the metric was worst)")
@click.option("--as-of", "as_of")
@_common
def appeal_draft(
    settings: Settings, account: str, metric: str, channel: str | None, marketplace: str | None, as_of: str | None
) -> None:
    """Write the plan of action (Markdown and HTML) built from the data."""
    with _monitor(settings) as monitor:
        files = monitor.draft_appeal(account, metric, channel, _as_of(as_of), marketplace)
    click.echo(str(files.markdown.resolve()))
    click.echo(str(files.html.resolve()))


# ------------------------------------------------------------------ running it
@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True)
@_common
def serve(settings: Settings, port: int) -> None:
    """Serve the dashboards (REPORTS_DIR) read-only on 127.0.0.1, for an SSH tunnel."""
    from monitor.serve import server

    folder = Path(settings.reports_dir)
    if not (folder / "index.html").is_file():
        raise click.ClickException(f"no dashboards in {folder} yet: run `account-health dashboard` first")
    try:
        httpd = server(folder, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    click.echo(f"serving {folder.resolve()} read-only on http://127.0.0.1:{httpd.server_address[1]}/ (Ctrl-C stops)")
    click.echo(f"from your computer: ssh -L {port}:127.0.0.1:{port} THIS-SERVER, then open http://127.0.0.1:{port}/")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


@cli.command(name="run")
@click.option("--once", is_flag=True, help="run one full cycle (import, snapshots, check, dashboards) and exit")
@_common
def run_(settings: Settings, once: bool) -> None:
    """The daemon: scheduled inbox import, check and dashboards; SIGTERM stops it cleanly."""
    from monitor import daemon

    sys.exit(daemon.run(settings, once, printer=click.echo))


@cli.command()
@click.option("--format", "output", type=FORMATS, default="table", show_default=True)
@_common
def status(settings: Settings, output: str) -> None:
    """Last import per account, last check, open alerts, dead notifiers; exit 1 when stale."""
    from monitor.present.terminal import status_lines

    with _monitor(settings) as monitor:
        state = monitor.status()
    _json(state) if output == "json" else _echo(status_lines(state))
    if state.failing:
        sys.exit(1)


@cli.group()
def notifier() -> None:
    """Where alerts go: console, Slack, e-mail, webhook."""


@notifier.command(name="reset")
@click.argument("kind")
@_common
def notifier_reset(settings: Settings, kind: str) -> None:
    """Revive a notifier found dead (once its settings are fixed); it is sent what it missed."""
    with _monitor(settings) as monitor:
        queued = monitor.reset_notifier(kind)
    click.echo(f"notifier {kind} reset; {queued} missed messages queued for it again")


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo"),
    show_default=True,
    help="where the sample reports are written",
)
@_common
def demo(settings: Settings, directory: Path) -> None:
    """Write realistic sample reports for two accounts and run one cycle on them."""
    from monitor.present import terminal

    with _monitor(settings, migrate=True, printer=click.echo) as monitor:
        _echo(terminal.demo_lines(monitor.demo(directory), directory))
        click.echo("")
        _echo(terminal.metrics_table(monitor.metrics().values))
        click.echo("")
        _echo(terminal.check_summary(monitor.check()))
        built = monitor.build_dashboards()
        click.echo("\nevery account in one line, the most urgent first (the history says since when):")
        _echo(terminal.headline_lines(built))
        click.echo("\nwhich orders did the damage: account-health metrics --explain vtr_30d --account acme-us")
        click.echo(f"dashboards: {terminal.dashboard_line(built)}")


def main() -> None:
    """Entry point: one-line errors, exit codes 0/1/2 as the CLI contract says."""
    debug = "--debug" in sys.argv
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except MonitorError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc()
        click.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
