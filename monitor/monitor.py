"""The Monitor: what every command and every daemon job does, as methods that return typed
results. The CLI and the daemon are thin callers; only monitor/present turns results into
words.

A Monitor is built once from typed Settings, a session factory on the (migrated)
database, one httpx client for everything that goes out, and a clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor import account_admin, accounts, alerts, amazon, appeal, db, health, quarantine
from monitor import metrics as m
from monitor.accounts import AccountFault
from monitor.alerts import outbox
from monitor.appeal.shipping_log import ShippingLog
from monitor.config import Settings
from monitor.dashboard.build import DashboardRun
from monitor.domain import Channel
from monitor.errors import UsageError
from monitor.fleet import Lease
from monitor.httpclient import make_client
from monitor.inbox import InboxRun, import_inbox_once
from monitor.ingest import ImportRun, import_paths
from monitor.models import (
    Account,
    AppealAction,
    CaseEntry,
    CheckLog,
    Evidence,
    ImportAccount,
    ImportRecord,
    QuarantinedRow,
)
from monitor.notifiers import Notifier, configured
from monitor.notifiers.base import Printer
from monitor.spapi.channels import ScorecardPull
from monitor.spapi.sync import SyncResult
from monitor.status import StatusReport, read_status
from monitor.timeutil import utcnow

CHECK_LOG_DAYS = 90  # checks older than this are forgotten


@dataclass
class SyncRun:
    """What one Selling Partner API sync did, per account."""

    accounts: list[SyncResult] = field(default_factory=list)
    snapshots: int = 0
    scorecards: list[ScorecardPull] = field(default_factory=list)  # Walmart's and eBay's own figures

    JSON_EXTRA = ("changed", "failed")

    @property
    def off(self) -> bool:
        """No account is configured for the Selling Partner API, nor any other marketplace's API."""
        return not self.accounts and not self.scorecards

    @property
    def results(self) -> list[SyncResult | ScorecardPull]:
        """Every account's pull: its orders and reports, then the other marketplaces' figures."""
        return [*self.accounts, *self.scorecards]

    @property
    def changed(self) -> bool:
        return any(i.changed for r in self.results for i in r.imports)

    @property
    def failed(self) -> bool:
        return any(r.errors or any(i.failed for i in r.imports) for r in self.results)


@dataclass(frozen=True)
class DraftFiles:
    markdown: Path
    html: Path


@dataclass
class Monitor:
    settings: Settings
    sessions: sessionmaker[Session]
    http: httpx.Client
    clock: Callable[[], datetime] = utcnow
    printer: Printer | None = None  # where the console notifier prints
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic  # the clock of waits (rate limits, report polling)
    lease: Lease | None = None  # several daemons on PostgreSQL: the accounts this one works on
    loads: health.SharedLoads | None = None  # a daemon cycle: the check's loads kept for its dashboards

    @classmethod
    @contextmanager
    def open(
        cls,
        settings: Settings,
        *,
        migrate: bool = False,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = utcnow,
        printer: Printer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Iterator[Monitor]:
        """A Monitor on the configured database, which must be migrated (or `migrate=True`)."""
        engine = db.make_engine(settings.database_url)
        client = http or make_client()
        try:
            if migrate:
                db.migrate(engine)
            else:
                db.require_current(engine)
            yield cls(settings, db.session_factory(engine), client, clock, printer, sleep)
        finally:
            if http is None:
                client.close()
            engine.dispose()

    @staticmethod
    def init_database(settings: Settings) -> tuple[str | None, str | None]:
        """Create or upgrade the schema; returns (revision before, revision after)."""
        engine = db.make_engine(settings.database_url)
        try:
            return db.migrate(engine)
        finally:
            engine.dispose()

    # ------------------------------------------------------------ shared pieces
    @property
    def targets(self) -> m.Targets:
        return m.Targets.from_settings(self.settings)

    def notifiers(self) -> dict[str, Notifier]:
        return configured(self.settings, self.http, self.printer)

    def base_url(self) -> str:
        """Where the pages are reached from: DASHBOARD_BASE_URL, else the folder's file:// URL."""
        return self.settings.dashboard_base_url or Path(self.settings.reports_dir).resolve().as_uri() + "/"

    def dashboard_url(self) -> str:
        return self.base_url() + "index.html"

    def account_url(self, account: str) -> str:
        from monitor.slugs import page_name

        return self.base_url() + page_name(account)

    # ------------------------------------------------------------ getting data in
    def import_paths(
        self,
        paths: Sequence[Path],
        account: str | None = None,
        forced_format: str | None = None,
        mapping: Path | None = None,
        new_account: bool = True,
        force: bool = False,
    ) -> ImportRun:
        """Import report files (a folder means the files in it), then bring the daily metric
        values of the accounts whose data changed up to date. Without `new_account` an `account`
        not known yet is a usage error (the command's default: a typo must not start a new account)."""
        if account is not None and not new_account:
            with self.sessions() as session:
                accounts.require_account(session, account, hint=" (--new-account creates it)")
        run = ImportRun(import_paths(self.sessions, paths, self.settings, account, forced_format, mapping, force))
        run.snapshots = self.refresh_snapshots(run)
        return run

    def import_inbox(self) -> InboxRun:
        """Import every settled file of INBOX_DIR and move it aside."""
        run = import_inbox_once(self.sessions, self.settings)
        run.snapshots = self.refresh_snapshots(run)
        return run

    def sync(self, account: str | None = None) -> SyncRun:
        """Orders and reports from the Selling Partner API, then snapshots."""
        from monitor.spapi.channels import pull_scorecards
        from monitor.spapi.sync import make_client as spapi_client
        from monitor.spapi.sync import sync_accounts, sync_fleet

        run = SyncRun()
        folder = Path(self.settings.inbox_dir).parent / "sync"
        targets = [t for t in sync_accounts(self.settings) if account is None or t.key == account]
        held: set[str] | None = {account} if account else None
        if self.lease is not None:  # several daemons: this one syncs the accounts it holds
            with self.sessions() as session:
                held = {
                    key
                    for key in session.scalars(select(Account.key).where(Account.id.in_(self.lease.account_ids)))
                    if account is None or key == account
                }
            targets = [t for t in targets if t.key in held]
        fleet = sync_fleet(
            targets,
            lambda target: spapi_client(self.settings, target, self.http, self.sleep, self.monotonic),
            self.sessions,
            self.settings,
            folder,
            self.sleep,
            self.monotonic,
            self.settings.sync_concurrency,
        )
        run.accounts = [fleet.results[t.key] for t in targets]
        run.scorecards = pull_scorecards(
            self.settings,
            self.http,
            self.sessions,
            folder,
            self.sleep,
            self.monotonic,
            held,
        )
        imports = [i for r in run.results for i in r.imports]
        run.snapshots = self.refresh_snapshots(ImportRun(imports))
        return run

    def refresh_snapshots(self, run: ImportRun | None = None) -> int:
        """Recompute the stored daily values of the accounts imports changed (every account when
        `run` is None); returns the rows written.

        Which imports still need it is in the ledger (`refreshed_at` empty), not in `run`: a
        refresh cut short (the process killed after an import committed) is done by the next one."""
        with self.sessions.begin() as session:
            pending = list(
                session.scalars(
                    select(ImportRecord.id).where(
                        ImportRecord.refreshed_at.is_(None), ImportRecord.status.in_(("ok", "partial"))
                    )
                )
            )
            if run is None:  # the daily refresh: every account (of this daemon, when several share the fleet)
                ids = set(session.scalars(select(Account.id)))
                if self.lease is not None:
                    ids &= self.lease.account_ids
            else:
                ids = set(session.scalars(select(ImportAccount.account_id).where(ImportAccount.import_id.in_(pending))))
            written = health.refresh_snapshots(
                session, self.targets, ids, self.settings.snapshot_days, self.clock().date()
            )
            if pending:
                session.execute(update(ImportRecord).where(ImportRecord.id.in_(pending)).values(refreshed_at=utcnow()))
            return written

    # ------------------------------------------------------------ the quarantine
    def quarantined_imports(self) -> list[quarantine.QuarantinedImport]:
        with self.sessions() as session:
            return quarantine.imports_with_bad_rows(session)

    def quarantined_rows(self, import_id: int) -> list[QuarantinedRow]:
        with self.sessions() as session:
            return quarantine.bad_rows(session, import_id)

    def retry_quarantine(self, import_id: int, mapping: Path | None = None) -> ImportRun:
        """Read an import's quarantined rows again (with a fixed mapping), then the snapshots."""
        run = ImportRun([quarantine.retry(self.sessions, self.settings, import_id, mapping)])
        run.snapshots = self.refresh_snapshots(run)
        return run

    # ------------------------------------------------------------ accounts
    def accounts(self) -> list[account_admin.AccountSummary]:
        with self.sessions() as session:
            return account_admin.summaries(session)

    def rename_account(self, old: str, new: str) -> None:
        with self.sessions.begin() as session:
            account_admin.rename(session, old, new, self.clock())

    def merge_accounts(self, source: str, into: str) -> dict[str, int]:
        """`source`'s data into `into` (the account a typo created into the right one); the merged
        account's daily values are recomputed."""
        with self.sessions.begin() as session:
            moved = account_admin.merge(session, source, into, self.clock())
            target = accounts.require_account(session, into).id
            health.refresh_snapshots(session, self.targets, [target], self.settings.snapshot_days, self.clock().date())
        return moved

    def delete_account(self, key: str) -> dict[str, int]:
        with self.sessions.begin() as session:
            return account_admin.delete_account(session, key, self.clock())

    # ------------------------------------------------------------ metrics
    def metrics(
        self,
        account: str | None = None,
        as_of: datetime | None = None,
        history_days: int | None = None,
        marketplace: str | None = None,
    ) -> health.MetricsRun:
        """Every metric now (or at `as_of`), or its daily history, per marketplace and channel; an
        account that cannot be evaluated is reported, the others still are."""
        faults: list[AccountFault] = []
        with self.sessions() as session:
            values = health.current(
                session, self.targets, as_of or self.clock(), account, history_days, _marketplace(marketplace), faults
            )
        return health.MetricsRun(values, faults)

    def explain(
        self,
        metric: str,
        account: str | None = None,
        channel: Channel | None = None,
        as_of: datetime | None = None,
        marketplace: str | None = None,
        faults: list[AccountFault] | None = None,
    ) -> list[health.Offender]:
        """The orders that count against a metric in Amazon's current window (the accounts that
        cannot be evaluated go to `faults`)."""
        with self.sessions() as session:
            return health.explain(
                session,
                self.targets,
                as_of or self.clock(),
                metric,
                account,
                channel,
                _marketplace(marketplace),
                faults,
            )

    def compare_with_amazon(
        self, account: str | None = None, marketplace: str | None = None
    ) -> list[amazon.Comparison]:
        """Amazon's figures beside ours, over Amazon's ranges, at each report's time."""
        with self.sessions() as session:
            return amazon.compare_with_amazon(session, self.targets, account, _marketplace(marketplace))

    # ------------------------------------------------------------ alerts, pages, health
    def check(
        self,
        as_of: datetime | None = None,
        dry_run: bool = False,
        all_firing: bool = False,
        incremental: bool | None = None,
    ) -> alerts.CheckRun:
        """Evaluate, update alert state, send what is due; the check is recorded (for `status`)
        unless it is a dry run."""
        now = self.clock()
        run = alerts.check_once(
            self.sessions,
            self.settings,
            self.notifiers(),
            as_of or now,
            now,
            self.dashboard_url(),
            dry_run,
            self.sleep,
            all_firing,
            self.account_url,
            self.lease,
            (as_of is None and not dry_run) if incremental is None else incremental,
            self.loads if as_of is None and not dry_run else None,
        )
        if not dry_run:
            with self.sessions.begin() as session:
                session.execute(delete(CheckLog).where(CheckLog.checked_at < now - timedelta(days=CHECK_LOG_DAYS)))
                session.add(
                    CheckLog(
                        checked_at=now,
                        as_of=as_of or now,
                        firing=len(run.firing),
                        messages=len(run.messages),
                        failed=run.failed,
                    )
                )
        return run

    def build_dashboards(
        self, out: Path | None = None, as_of: datetime | None = None, incremental: bool | None = None
    ) -> DashboardRun:
        """Write the HTML pages (by default, into REPORTS_DIR now: only those whose account changed)."""
        from monitor.dashboard.build import build

        with self.sessions() as session:
            return build(
                session,
                self.targets,
                Path(out or self.settings.reports_dir),
                as_of or self.clock(),
                self.settings.stale_hours,
                self.settings.dashboard_base_url,
                self.lease.account_ids if self.lease else None,
                (out is None and as_of is None) if incremental is None else incremental,
                self.loads if out is None and as_of is None else None,
            )

    def status(self) -> StatusReport:
        """Daemon heartbeat, data freshness, alerts, notifiers."""
        with self.sessions() as session:
            return read_status(session, self.settings, self.clock())

    def reset_notifier(self, kind: str) -> int:
        """Revive a dead notifier; returns how many missed messages were queued for it again."""
        from monitor.notifiers import NOTIFIERS

        if kind not in NOTIFIERS:
            raise UsageError(f"unknown notifier {kind!r} (known: {', '.join(NOTIFIERS)})")
        with self.sessions.begin() as session:
            return outbox.revive(session, kind)

    # ------------------------------------------------------------ the appeal kit
    def add_case(
        self,
        account: str,
        medium: str,
        summary: str,
        case_id: str | None = None,
        outcome: str | None = None,
        follow_up_on: date | None = None,
        occurred_at: datetime | None = None,
    ) -> CaseEntry:
        with self.sessions.begin() as session:
            return appeal.add_case(session, account, medium, summary, case_id, outcome, follow_up_on, occurred_at)

    def cases(self, account: str | None = None) -> list[tuple[str, CaseEntry]]:
        with self.sessions() as session:
            if account is not None:
                accounts.require_account(session, account)
            return appeal.cases(session, account)

    def case(self, number: int) -> CaseEntry:
        with self.sessions() as session:
            return appeal.get_case(session, number)

    def update_case(
        self,
        number: int,
        outcome: str | None = None,
        follow_up_on: date | None = None,
        summary: str | None = None,
        close: bool = False,
    ) -> CaseEntry:
        with self.sessions.begin() as session:
            return appeal.update_case(session, number, outcome, follow_up_on, summary, close)

    def attach_evidence(self, account: str, reason: str, item: str, path: Path, note: str | None = None) -> Evidence:
        with self.sessions.begin() as session:
            found = appeal.attach(session, Path(self.settings.evidence_dir), account, reason, item, path, note)
        self.refresh_pages(account)
        return found

    def checklist(self, account: str, reason: str) -> list[appeal.ChecklistItem]:
        with self.sessions() as session:
            return appeal.checklist(session, account, reason)

    def add_action(
        self, account: str, metric: str, kind: str, description: str, taken_on: date | None = None
    ) -> AppealAction:
        with self.sessions.begin() as session:
            return appeal.add_action(session, account, metric, kind, description, taken_on)

    def draft_appeal(
        self,
        account: str,
        metric: str,
        channel: str | None = None,
        as_of: datetime | None = None,
        marketplace: str | None = None,
    ) -> DraftFiles:
        """The plan of action as Markdown and HTML files."""
        from monitor.appeal.draft import build_draft, write_draft

        moment = as_of or self.clock()
        with self.sessions() as session:
            draft = build_draft(session, self.targets, account, metric, moment, channel, _marketplace(marketplace))
        md, page = write_draft(draft, Path(self.settings.reports_dir) / "appeals", moment.date().isoformat())
        self.refresh_pages(account)
        return DraftFiles(md, page)

    def refresh_pages(self, account: str) -> None:
        """Rewrite one account's pages (its appeal page lists a new draft or document)."""
        from monitor.dashboard.build import build_account

        with self.sessions() as session:
            build_account(
                session,
                self.targets,
                Path(self.settings.reports_dir),
                self.clock(),
                self.settings.stale_hours,
                account,
                self.settings.dashboard_base_url,
            )

    def shipping_log(
        self,
        account: str,
        first_day: date | None = None,
        last_day: date | None = None,
        days: int = 120,
        marketplace: str | None = None,
        attach: bool = True,
    ) -> ShippingLog:
        """The shipping log of a period as a CSV under REPORTS_DIR/appeals (attached as evidence)."""
        from monitor.appeal.shipping_log import write_shipping_log

        now = self.clock()
        last = last_day or (now - timedelta(days=1)).date()
        first = first_day or last - timedelta(days=days - 1)
        if first > last:
            raise UsageError(f"--from {first} is after --to {last}")
        folder = Path(self.settings.reports_dir) / "appeals"
        with self.sessions.begin() as session:
            log = write_shipping_log(session, account, folder, first, last, now, _marketplace(marketplace))
            if attach:
                appeal.attach(
                    session,
                    Path(self.settings.evidence_dir),
                    account,
                    "lsr",
                    "shipping-log",
                    log.path,
                    f"generated by the monitor: {log.orders} orders, {first} to {last}",
                )
        self.refresh_pages(account)
        return log

    # ------------------------------------------------------------ the demo
    def demo(self, directory: Path) -> ImportRun:
        """Sample reports for two accounts, written and imported."""
        from monitor import demo

        files = demo.write_sample_reports(directory, self.clock().replace(minute=0, second=0, microsecond=0))
        run = ImportRun()
        for path, account in files:
            run.results += import_paths(self.sessions, [path], self.settings, account=account)
        run.snapshots = self.refresh_snapshots(run)
        return run


def _marketplace(value: str | None) -> str | None:
    """--marketplace as a user writes it (amazon.de, A1PA6795UKMFR9), as the values carry it."""
    from monitor.marketplaces import normalize

    return normalize(value) if value else None
