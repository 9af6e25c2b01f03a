"""The daemon: APScheduler around single Monitor calls, each testable alone.

    Monitor.import_inbox       every IMPORT_INTERVAL_MINUTES
    Monitor.sync               every SYNC_INTERVAL_MINUTES (when configured)
    Monitor.check              after an import or sync that changed data, and at least hourly
    Monitor.build_dashboards   after every check
    Monitor.refresh_snapshots  daily, shortly after midnight UTC

On SQLite, one daemon per database (a file lock beside it). On PostgreSQL any
number of daemons share the accounts through leases in the database
(monitor.fleet): each works on the accounts it holds. SIGTERM or SIGINT lets the running step finish,
then the process exits 0. A heartbeat row tells `account-health status` that
the daemon is alive.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TypeVar

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from monitor import accounts, db, fleet, health
from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.httpclient import make_client
from monitor.models import Heartbeat
from monitor.monitor import Monitor
from monitor.present.terminal import job_line
from monitor.spapi.sync import synced_accounts
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 3600
T = TypeVar("T")


class AlreadyRunning(MonitorError):
    """Another daemon holds this database."""


# ------------------------------------------------------------------ one daemon per database
class DaemonLock:
    """SQLite: one daemon per database, held for the daemon's life; released by the OS if the
    process dies (even kill -9). (PostgreSQL shares the fleet through leases instead.)"""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        url = make_url(str(self.engine.url))
        path = Path(f"{url.database or 'memory'}.daemon.lock")
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise AlreadyRunning(
                f"another daemon already runs on this database ({holder}); stop it first (one daemon per SQLite "
                "database; on PostgreSQL several daemons share the accounts)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()


# ------------------------------------------------------------------ the steps
@dataclass
class Daemon:
    """The scheduled jobs, each one Monitor call; the log line comes from the presentation layer."""

    monitor: Monitor
    printer: Callable[[str], None] = print
    started_at: datetime = field(default_factory=utcnow)

    failures: list[str] = field(default_factory=list)  # the steps that failed, as logged
    gained: bool = False  # accounts newly leased: check them at the next cycle

    def __post_init__(self) -> None:
        self._step = threading.Lock()  # steps never overlap, whichever job runs them

    def _timed(self, name: str, step: Callable[[], T]) -> T | None:
        """Run one step; it failed when it raised or its result says so (a file rejected, an
        account that could not be evaluated, an alert not delivered)."""
        with self._step:
            started = time.monotonic()
            result: T | None = None
            try:
                result = step()
                summary = job_line(name, result)
                failed = bool(getattr(result, "failed", False))
            except Exception as exc:  # one failing job must not stop the daemon
                log.exception("job %s failed", name)
                summary = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                failed = True
            line = f"{utcnow():%Y-%m-%dT%H:%M:%SZ} {name}: {summary} ({time.monotonic() - started:.1f} s)"
            self.printer(line)
            if failed:
                self.failures.append(f"{name}: {summary}")
            self.beat(f"{name}: {summary}", check=name == "check", outcome=(name, summary if failed else None))
            return result

    def beat(
        self,
        job: str | None = None,
        check: bool = False,
        stopped: bool = False,
        outcome: tuple[str, str | None] | None = None,
    ) -> None:
        """The heartbeat; `outcome` (job, what failed or None) keeps each job's last failure until
        it next succeeds, for `account-health status`."""
        now = utcnow()
        with self.monitor.sessions.begin() as session:
            row = session.get(Heartbeat, 1)
            if row is None:
                row = Heartbeat(id=1)
                session.add(row)
            if row.pid != os.getpid() or row.started_at != self.started_at:  # a new run takes the row over
                row.pid, row.host, row.started_at, row.stopped_at = (
                    os.getpid(),
                    socket.gethostname(),
                    self.started_at,
                    None,
                )
            row.beat_at = now
            row.interval_seconds = self.monitor.settings.import_interval_minutes * 60
            if job:
                row.last_job = job[:500]
            if check:
                row.last_check_at = now
            if stopped:
                row.stopped_at = now
            if outcome is not None:
                failing = json.loads(row.failing or "{}")
                job_name, failure = outcome
                if failure is None:
                    failing.pop(job_name, None)
                else:
                    failing[job_name] = f"{now:%Y-%m-%d %H:%M} UTC: {failure}"[:500]
                row.failing = json.dumps(failing) if failing else None

    # the fleet (PostgreSQL): the accounts this daemon works on
    def join_fleet(self) -> None:
        """Register, make sure every account the sync will bring has a row (so that it is leased
        like the others), and claim a fair share."""
        owner = fleet.new_daemon_id()
        with self.monitor.sessions.begin() as session:
            fleet.register(session, owner, utcnow())
            for key in synced_accounts(self.monitor.settings):
                accounts.account_id(session, key)
        self.monitor.lease = fleet.Lease(owner, self.monitor.settings.lease_seconds)
        self.renew_leases()

    def renew_leases(self) -> None:
        """Renew, give back beyond the fair share, claim free and expired ones (monitor.fleet)."""
        assert self.monitor.lease is not None
        before = self.monitor.lease.account_ids
        with self.monitor.sessions.begin() as session:
            lease = fleet.renew_and_claim(session, self.monitor.lease, utcnow())
        self.monitor.lease = lease
        if lease.account_ids - before:
            self.gained = True  # the next cycle checks them (a takeover: their alerts go on from here)
        if lease.account_ids != before:
            gained, lost = len(lease.account_ids - before), len(before - lease.account_ids)
            self.printer(
                f"{utcnow():%Y-%m-%dT%H:%M:%SZ} leases: {len(lease.account_ids)} accounts held "
                f"(+{gained} -{lost}) by {lease.owner}"
            )

    # the jobs the scheduler runs
    def cycle(self) -> None:
        """Import, and when data changed (or accounts were taken over): check, then dashboards."""
        run = self._timed("import", self.monitor.import_inbox)
        if (run is not None and run.changed) or self.gained:
            self.gained = False
            self.check_and_dashboards()

    def sync_cycle(self) -> None:
        run = self._timed("sync", self.monitor.sync)
        if run is not None and run.changed:
            self.check_and_dashboards()

    def check_and_dashboards(self) -> None:
        """The check, then the dashboards, sharing one load of each account the check evaluates."""
        self.monitor.loads = health.SharedLoads()
        try:
            self._timed("check", self.monitor.check)
            self._timed("dashboards", self.monitor.build_dashboards)
        finally:
            self.monitor.loads = None

    def snapshots(self) -> None:
        self._timed("snapshots", self.monitor.refresh_snapshots)

    def full_cycle(self) -> None:
        """`run --once`: every step once."""
        self._timed("import", self.monitor.import_inbox)
        if synced_accounts(self.monitor.settings):
            self._timed("sync", self.monitor.sync)
        self.snapshots()
        self.check_and_dashboards()


def run(settings: Settings, once: bool = False, printer: Callable[[str], None] = print) -> int:
    """`account-health run`: the daemon (or one full cycle). Returns the exit code.

    On SQLite one daemon per database (a lock). On PostgreSQL any number, sharing the accounts
    through leases (monitor.fleet)."""
    engine = db.make_engine(settings.database_url)
    db.require_current(engine)
    shared = make_url(str(engine.url)).get_backend_name() != "sqlite"
    lock = None if shared else DaemonLock(engine)
    if lock is not None:
        lock.acquire()
    client = make_client()
    monitor = Monitor(settings, db.session_factory(engine), client)
    daemon = Daemon(monitor, printer)
    try:
        if shared:
            daemon.join_fleet()
        if once:
            daemon.full_cycle()
            return 1 if daemon.failures else 0
        return _schedule(daemon, settings, printer)
    finally:
        daemon.beat("stopped", stopped=True)
        if monitor.lease is not None:
            with monitor.sessions.begin() as session:
                fleet.release_all(session, monitor.lease.owner, utcnow())
        client.close()
        if lock is not None:
            lock.release()
        engine.dispose()


def _schedule(daemon: Daemon, settings: Settings, printer: Callable[[str], None]) -> int:
    scheduler = BlockingScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    )
    interval = settings.import_interval_minutes * 60
    now = utcnow()
    scheduler.add_job(daemon.cycle, "interval", seconds=interval, next_run_time=now, id="import")
    scheduler.add_job(
        daemon.check_and_dashboards, "interval", seconds=CHECK_EVERY_SECONDS, id="check", next_run_time=now
    )
    scheduler.add_job(daemon.snapshots, "cron", hour=0, minute=15, id="snapshots")
    if synced_accounts(settings):
        scheduler.add_job(
            daemon.sync_cycle, "interval", seconds=settings.sync_interval_minutes * 60, next_run_time=now, id="sync"
        )
    scheduler.add_job(daemon.beat, "interval", seconds=min(60.0, max(interval, 5.0)), id="heartbeat")
    if daemon.monitor.lease is not None:
        scheduler.add_job(
            daemon.renew_leases, "interval", seconds=daemon.monitor.lease.renew_every, id="leases", max_instances=1
        )

    def stop(signum: int, _frame: object) -> None:
        printer(f"{utcnow():%Y-%m-%dT%H:%M:%SZ} received {signal.Signals(signum).name}: finishing the running step")
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    printer(
        f"{utcnow():%Y-%m-%dT%H:%M:%SZ} daemon started (pid {os.getpid()}): inbox {settings.inbox_dir} every "
        f"{interval:g} s, check at least hourly"
    )
    scheduler.start()
    with daemon._step:  # wait for a step still running in the pool to finish
        pass
    printer(f"{utcnow():%Y-%m-%dT%H:%M:%SZ} daemon stopped")
    return 0
