"""The daemon: APScheduler around single steps, each testable alone.

    import_inbox_once  every IMPORT_INTERVAL_MINUTES
    check_once         after an import that changed data, and at least hourly
    dashboards_once    after every check
    snapshots_once     daily, shortly after midnight UTC

One daemon per database (a lock: a file lock beside a SQLite database, an
advisory lock on PostgreSQL). SIGTERM or SIGINT lets the running step finish,
then the process exits 0. A heartbeat row tells `account-health status` that
the daemon is alive.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from monitor import alerts, db, health, inbox
from monitor.alerts.channels import configured
from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.metrics import Targets
from monitor.models import Account, Heartbeat
from monitor.spapi.sync import sync_accounts
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 3600
LOCK_KEY = 0x4148_4D31  # "AHM1": the advisory lock id on PostgreSQL


class AlreadyRunning(MonitorError):
    """Another daemon holds this database."""


# ------------------------------------------------------------------ one daemon per database
class DaemonLock:
    """Held for the daemon's life; released by the OS if the process dies (even kill -9)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._file = None
        self._connection: Connection | None = None

    def acquire(self) -> None:
        url = make_url(str(self.engine.url))
        if url.get_backend_name() == "sqlite":
            path = Path(f"{url.database or 'memory'}.daemon.lock")
            self._file = path.open("a+")
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._file.seek(0)
                holder = self._file.read().strip() or "another process"
                self._file.close()
                raise AlreadyRunning(f"another daemon already runs on this database ({holder}); "
                                     "stop it first (one daemon per database)") from None
            self._file.seek(0)
            self._file.truncate()
            self._file.write(f"pid {os.getpid()} on {socket.gethostname()}")
            self._file.flush()
            return
        self._connection = self.engine.connect()
        # keyed by schema too: two monitors may share a PostgreSQL database in different schemas
        if not self._connection.execute(text("SELECT pg_try_advisory_lock(:k, hashtext(current_schema()))"),
                                        {"k": LOCK_KEY}).scalar():
            self._connection.close()
            raise AlreadyRunning("another daemon already runs on this database; stop it first "
                                 "(one daemon per database)")
        self._connection.commit()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._connection is not None:
            # a pooled connection keeps its session (and the lock) alive: unlock explicitly
            self._connection.execute(text("SELECT pg_advisory_unlock(:k, hashtext(current_schema()))"),
                                     {"k": LOCK_KEY})
            self._connection.commit()
            self._connection.close()


# ------------------------------------------------------------------ the steps
@dataclass
class Daemon:
    settings: Settings
    sessions: sessionmaker[Session]
    client: object  # httpx.Client for the Slack channel
    printer: Callable[[str], None] = print
    started_at: object = None

    def __post_init__(self) -> None:
        self.started_at = utcnow()
        self._step = threading.Lock()  # steps never overlap, whichever job runs them

    def _timed(self, name: str, step: Callable[[], str]) -> str:
        with self._step:
            started = time.monotonic()
            try:
                summary = step()
            except Exception as exc:  # one failing job must not stop the daemon
                log.exception("job %s failed", name)
                summary = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            line = f"{utcnow():%Y-%m-%dT%H:%M:%SZ} {name}: {summary} ({time.monotonic() - started:.1f} s)"
            self.printer(line)
            self.beat(f"{name}: {summary}", check=name == "check")
            return summary

    def beat(self, job: str | None = None, check: bool = False, stopped: bool = False) -> None:
        now = utcnow()
        with self.sessions.begin() as session:
            row = session.get(Heartbeat, 1)
            if row is None:
                row = Heartbeat(id=1)
                session.add(row)
            if row.pid != os.getpid() or row.started_at != self.started_at:  # a new run takes the row over
                row.pid, row.host, row.started_at, row.stopped_at = os.getpid(), socket.gethostname(), \
                    self.started_at, None
            row.beat_at = now
            row.interval_seconds = self.settings.import_interval_minutes * 60
            if job:
                row.last_job = job[:500]
            if check:
                row.last_check_at = now
            if stopped:
                row.stopped_at = now

    def import_step(self) -> str:
        result = inbox.import_inbox_once(self.sessions, self.settings)
        from monitor.app import refresh_after_import

        refresh_after_import(self.sessions, self.settings, result.results)
        counts = {status: sum(r.status == status for r in result.results)
                  for status in ("ok", "partial", "duplicate", "rejected")}
        summary = (f"{len(result.results)} files ({counts['ok'] + counts['partial']} imported, "
                   f"{counts['duplicate']} already known, {counts['rejected']} rejected), "
                   f"{sum(r.inserted for r in result.results)} new and {sum(r.updated for r in result.results)} "
                   f"updated rows, {sum(r.quarantined for r in result.results)} quarantined")
        if result.waiting:
            summary += f", {len(result.waiting)} still being written"
        return summary + ("" if not result.changed else "; data changed")

    def sync_step(self) -> str:
        from monitor.app import run_sync

        results = run_sync(self.settings, client=self.client)
        orders = sum(r.orders for r in results)
        errors = [e for r in results for e in r.errors]
        changed = any(i.inserted or i.updated for r in results for i in r.imports)
        summary = f"{len(results)} accounts, {orders} orders pulled, {len(errors)} errors"
        if errors:
            summary += f" (first: {errors[0][:160]})"
        return summary + ("; data changed" if changed else "")

    def sync_cycle(self) -> None:
        if self._timed("sync", self.sync_step).endswith("data changed"):
            self.check_and_dashboards()

    def check_step(self) -> str:
        now = utcnow()
        result = alerts.check_once(self.sessions, self.settings, configured(self.settings, self.client), now, now)
        d = result.delivery
        return (f"{len(result.firing)} alerts firing, {len(result.messages)} messages, deliveries {d.sent} sent "
                f"{d.pending} pending {d.dead} dead, {len(result.stale_accounts)} accounts stale")

    def dashboards_step(self) -> str:
        from monitor.dashboard.build import build

        with self.sessions() as session:
            built = build(session, Targets.from_settings(self.settings), Path(self.settings.reports_dir), utcnow(),
                          self.settings.stale_hours)
        return f"{len(built.pages)} account pages written to {built.index.parent}"

    def snapshots_step(self) -> str:
        with self.sessions.begin() as session:
            ids = list(session.scalars(select(Account.id)))
            rows = health.refresh_snapshots(session, Targets.from_settings(self.settings), ids,
                                            self.settings.snapshot_days)
        return f"{rows} daily values stored for {len(ids)} accounts"

    # the jobs the scheduler runs
    def cycle(self) -> None:
        """Import, and when data changed: check, then dashboards."""
        summary = self._timed("import", self.import_step)
        if summary.endswith("data changed"):
            self.check_and_dashboards()

    def check_and_dashboards(self) -> None:
        self._timed("check", self.check_step)
        self._timed("dashboards", self.dashboards_step)

    def full_cycle(self) -> None:
        """`run --once`: every step once."""
        self._timed("import", self.import_step)
        if sync_accounts(self.settings):
            self._timed("sync", self.sync_step)
        self._timed("snapshots", self.snapshots_step)
        self.check_and_dashboards()


def run(settings: Settings, once: bool = False, printer: Callable[[str], None] = print) -> int:
    """`account-health run`: the daemon (or one full cycle). Returns the exit code."""
    import httpx

    engine = db.make_engine(settings.database_url)
    db.require_current(engine)
    lock = DaemonLock(engine)
    lock.acquire()
    client = httpx.Client(timeout=httpx.Timeout(10.0))
    daemon = Daemon(settings, db.session_factory(engine), client, printer)
    try:
        if once:
            daemon.full_cycle()
            return 0
        return _schedule(daemon, settings, printer)
    finally:
        daemon.beat("stopped", stopped=True)
        client.close()
        lock.release()
        engine.dispose()


def _schedule(daemon: Daemon, settings: Settings, printer: Callable[[str], None]) -> int:
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    interval = settings.import_interval_minutes * 60
    now = utcnow()
    scheduler.add_job(daemon.cycle, "interval", seconds=interval, next_run_time=now, id="import")
    scheduler.add_job(daemon.check_and_dashboards, "interval", seconds=CHECK_EVERY_SECONDS, id="check",
                      next_run_time=now)
    scheduler.add_job(daemon._timed, "cron", hour=0, minute=15, args=("snapshots", daemon.snapshots_step),
                      id="snapshots")
    if sync_accounts(settings):
        scheduler.add_job(daemon.sync_cycle, "interval", seconds=settings.sync_interval_minutes * 60,
                          next_run_time=now, id="sync")
    scheduler.add_job(daemon.beat, "interval", seconds=min(60.0, max(interval, 5.0)), id="heartbeat")

    def stop(signum, _frame) -> None:
        printer(f"{utcnow():%Y-%m-%dT%H:%M:%SZ} received {signal.Signals(signum).name}: finishing the running step")
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    printer(f"{utcnow():%Y-%m-%dT%H:%M:%SZ} daemon started (pid {os.getpid()}): inbox {settings.inbox_dir} every "
            f"{interval:g} s, check at least hourly")
    scheduler.start()
    with daemon._step:  # wait for a step still running in the pool to finish
        pass
    printer(f"{utcnow():%Y-%m-%dT%H:%M:%SZ} daemon stopped")
    return 0
