"""Running fuzz inputs through the real importer, on a real SQLite file, in a worker process.

The parent hands the worker input numbers and waits for each result; an input that takes
longer than HANG_SECONDS is a hang: the worker is killed and a fresh one goes on with the
next input. Every input is checked for:

* an exception out of `import_file` (a crash);
* its outcome: ok, partial or rejected (or a duplicate of an earlier import), with a ledger row;
* nothing lost: rows read = inserted + updated + quarantined + skipped + duplicates (the ledger's
  own figures), the quarantine holding as many rows as the ledger says, each capped; for a
  file without quotes, rows read = its non-blank lines after the header (counted here, apart);
* a rejected file stored nothing;
* its time: at most TIME_BASE + TIME_PER_MB seconds per MB of input.

After every batch of inputs the database must pass `PRAGMA integrity_check`, and the metrics of
every account must still compute (one bad row must not poison the rest).
"""

from __future__ import annotations

import multiprocessing
import re
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from monitor.ingest.importer import QUARANTINE_RAW_CHARS

HANG_SECONDS = 20.0
TIME_BASE = 2.0  # seconds any input may take
TIME_PER_MB = 3.0  # and this much more per MB of input
BATCH = 40  # inputs per database
ACCOUNTS = ("fuzz-a", "fuzz-b", "fuzz-c")
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)


@dataclass
class Report:
    """What a run found."""

    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=dict)  # kind -> examples

    def fail(self, kind: str, example: str) -> None:
        self.failures.setdefault(kind, []).append(example)

    def count(self, kind: str) -> int:
        return len(self.failures.get(kind, []))

    def lines(self) -> list[str]:
        out = [f"inputs: {self.inputs}"]
        out.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())))
        kinds = ("crash", "hang", "lost", "slow", "no-ledger", "stored-when-rejected", "internal-error", "poison")
        for kind in (*kinds, "integrity"):
            out.append(f"{kind}: {self.count(kind)}")
        for kind, examples in sorted(self.failures.items()):
            for example in examples[:5]:
                out.append(f"  {kind}: {example}")
        return out


def _non_blank_lines_after_header(data: bytes, encoding: str) -> int | None:
    """Data lines of a delimited file without quotes, counted independently of the reader."""
    try:
        text = data.decode(encoding)
    except (UnicodeError, LookupError):
        return None
    if '"' in text:
        return None
    lines = [line.lstrip("\ufeff") for line in re.split(r"\r\n|\r|\n", text)]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None
    header = lines[0]
    delimiter = max(("\t", ",", ";"), key=header.count)
    return sum(1 for line in lines[1:] if not all(ch.isspace() or ch == delimiter for ch in line))


def _counts(session) -> dict[str, int]:
    from sqlalchemy import func, select

    from monitor.models import Defect, Feedback, Order, PerformanceReport, QuarantinedRow

    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Order, Defect, Feedback, PerformanceReport, QuarantinedRow)
    }


def check_one(
    sessions, settings, folder: Path, index: int, base: int, connection: Connection | None = None
) -> tuple[str, list[tuple[str, str]]]:
    """Import input `index`; (its outcome, [(failure kind, detail)]). The parent's clock (for
    hangs) starts once the input is made, with the import."""
    from tests.fuzz.mutate import mutant

    name, data, applied = mutant(index, base)
    if connection is not None:
        connection.send(("start", index))
    label = f"#{index} {name} {'+'.join(applied)}"
    return check_file(sessions, settings, folder, label, name, data, ACCOUNTS[index % len(ACCOUNTS)])


def check_file(
    sessions, settings, folder: Path, label: str, name: str, data: bytes, account: str
) -> tuple[str, list[tuple[str, str]]]:
    """Import one file's content and check everything the module docstring lists."""
    from sqlalchemy import func, select

    from monitor.ingest import import_file
    from monitor.models import ImportRecord, QuarantinedRow

    path = folder / name
    path.write_bytes(data)
    with sessions() as session:
        before = _counts(session)
    started = time.perf_counter()
    try:
        result = import_file(sessions, path, settings, account=account)
    except Exception as exc:  # noqa: BLE001 (a crash is what the fuzzer looks for)
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return "crash", [
            ("crash", f"{label}: {type(exc).__name__}: {str(exc)[:200]} at {where.filename}:{where.lineno}")
        ]
    finally:
        path.unlink(missing_ok=True)
    elapsed = time.perf_counter() - started
    failures: list[tuple[str, str]] = []
    limit = TIME_BASE + TIME_PER_MB * len(data) / 1e6
    if elapsed > limit:
        failures.append(("slow", f"{label}: {elapsed:.1f} s for {len(data):,} bytes (limit {limit:.1f} s)"))
    if result.status not in ("ok", "partial", "rejected", "duplicate"):
        failures.append(("lost", f"{label}: outcome {result.status}"))
    with sessions() as session:
        ledger = session.get(ImportRecord, result.import_id) if result.import_id is not None else None
        after = _counts(session)
        if ledger is None:
            failures.append(("no-ledger", f"{label}: {result.status} without a ledger row ({result.error})"))
            return result.status, failures
        if result.status == "duplicate":
            return "duplicate", failures
        if ledger.status != result.status or ledger.error != result.error:
            failures.append(("no-ledger", f"{label}: ledger says {ledger.status}, the result {result.status}"))
        if result.status == "rejected":
            if {k: v for k, v in after.items()} != before:
                failures.append(("stored-when-rejected", f"{label}: {before} -> {after} ({result.error})"))
            if not result.error or "\n" in result.error:
                failures.append(("no-ledger", f"{label}: rejected without a one-line reason: {result.error!r}"))
            if result.error.startswith("internal error"):  # the last resort worked, but it is a bug to fix
                failures.append(("internal-error", f"{label}: {result.error}"))
            return "rejected", failures
        skipped = getattr(ledger, "skipped", 0) or 0
        duplicates = getattr(ledger, "duplicates", 0) or 0
        accounted = ledger.inserted + ledger.updated + ledger.quarantined + skipped + duplicates
        if ledger.rows_read != accounted:
            failures.append(
                (
                    "lost",
                    f"{label}: read {ledger.rows_read} != inserted {ledger.inserted} + updated {ledger.updated} + "
                    f"quarantined {ledger.quarantined} + skipped {skipped} + duplicates {duplicates}",
                )
            )
        stored = session.scalar(
            select(func.count()).select_from(QuarantinedRow).where(QuarantinedRow.import_id == ledger.id)
        )
        if stored != ledger.quarantined:
            failures.append(("lost", f"{label}: {ledger.quarantined} quarantined, {stored} in the quarantine"))
        longest = session.scalar(
            select(func.max(func.length(QuarantinedRow.raw))).where(QuarantinedRow.import_id == ledger.id)
        )

        if longest is not None and longest > QUARANTINE_RAW_CHARS + 100:
            failures.append(("lost", f"{label}: a quarantined row of {longest} characters"))
        if ledger.format != "amazon-performance" and result.encoding:
            lines = _non_blank_lines_after_header(data, result.encoding)
            if lines is not None and lines != ledger.rows_read:
                failures.append(("lost", f"{label}: {lines} data lines, {ledger.rows_read} rows read"))
    return result.status, failures


def check_database(sessions) -> list[tuple[str, str]]:
    """The database is sound and every account's metrics still compute."""
    from sqlalchemy import text

    from monitor import health
    from monitor.metrics import Targets

    failures = []
    with sessions() as session:
        verdict = session.execute(text("PRAGMA integrity_check")).scalar()
        if verdict != "ok":
            failures.append(("integrity", str(verdict)[:200]))
        for moment in (AS_OF, datetime.now(UTC)):
            try:
                health.current(session, Targets(), moment, days=3)
            except Exception as exc:  # noqa: BLE001
                failures.append(("poison", f"metrics at {moment:%Y-%m-%d}: {type(exc).__name__}: {str(exc)[:200]}"))
    return failures


def _worker(connection: Connection, indices: list[int], base: int) -> None:
    import logging

    from monitor import db
    from monitor.config import load_settings

    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="ahm-fuzz-") as folder:
        root = Path(folder)
        for start in range(0, len(indices), BATCH):
            batch = indices[start : start + BATCH]
            database = root / f"fuzz-{batch[0]}.db"
            settings = load_settings(
                environ={
                    "DATABASE_URL": f"sqlite:///{database}",
                    "REPORTS_DIR": str(root / "reports"),
                    "INBOX_DIR": str(root / "inbox"),
                    "EVIDENCE_DIR": str(root / "evidence"),
                }
            )
            engine = db.make_engine(settings.database_url)
            db.migrate(engine)
            sessions = db.session_factory(engine)
            for index in batch:
                try:
                    outcome, failures = check_one(sessions, settings, root, index, base, connection)
                except Exception as exc:  # noqa: BLE001 (the checks themselves must never stop the run)
                    outcome, failures = "crash", [("crash", f"#{index}: checking failed: {exc!r}")]
                connection.send(("done", index, outcome, failures))
            connection.send(("batch", batch[-1], check_database(sessions)))
            engine.dispose()
            database.unlink(missing_ok=True)
    connection.send(("end",))


def run(count: int, base: int = 0, only: list[int] | None = None, progress: bool = False) -> Report:
    """Fuzz `count` inputs (or just `only`) and report."""
    indices = only if only is not None else list(range(count))
    report = Report()
    context = multiprocessing.get_context("spawn")
    while indices:
        parent, child = context.Pipe()
        worker = context.Process(target=_worker, args=(child, indices, base), daemon=True)
        worker.start()
        child.close()
        current: int | None = None
        done: set[int] = set()
        while True:
            if not parent.poll(HANG_SECONDS):
                report.fail("hang", f"#{current}: no answer in {HANG_SECONDS:.0f} s")
                worker.kill()
                break
            try:
                message: Any = parent.recv()
            except EOFError:
                report.fail("crash", f"#{current}: the worker died")
                break
            if message[0] == "start":
                current = message[1]
            elif message[0] == "done":
                _, index, outcome, failures = message
                done.add(index)
                report.inputs += 1
                report.outcomes[outcome] += 1
                for kind, detail in failures:
                    report.fail(kind, detail)
                if progress and report.inputs % 500 == 0:
                    print(f"... {report.inputs} inputs", flush=True)
            elif message[0] == "batch":
                for kind, detail in message[2]:
                    report.fail(kind, f"batch ending #{message[1]}: {detail}")
            else:
                break
        worker.join(5)
        if current is not None and current not in done:
            report.inputs += 1
            done.add(current)
        indices = [i for i in indices if i not in done]
    return report
