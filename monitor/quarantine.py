"""The quarantine, as a user works with it: which imports left bad rows, what they are, and
reading them again once the mapping (or the monitor) is fixed."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Settings
from monitor.errors import UsageError
from monitor.ingest import ImportResult, import_file, load_mapping
from monitor.models import ImportRecord, QuarantinedRow


@dataclass(frozen=True)
class QuarantinedImport:
    """An import with rows still in the quarantine."""

    import_id: int
    file_name: str
    format: str | None
    account: str | None
    started_at: object
    rows: int
    first_reason: str


def imports_with_bad_rows(session: Session) -> list[QuarantinedImport]:
    counts = session.execute(
        select(QuarantinedRow.import_id, func.count(), func.min(QuarantinedRow.reason)).group_by(
            QuarantinedRow.import_id
        )
    ).all()
    out = []
    for import_id, rows, reason in counts:
        ledger = session.get(ImportRecord, import_id)
        if ledger is not None:
            out.append(
                QuarantinedImport(
                    import_id, ledger.file_name, ledger.format, ledger.account_key, ledger.started_at, rows, reason
                )
            )
    return sorted(out, key=lambda q: q.import_id)


def bad_rows(session: Session, import_id: int) -> list[QuarantinedRow]:
    if session.get(ImportRecord, import_id) is None:
        raise UsageError(f"no import #{import_id} (account-health quarantine list shows the imports with bad rows)")
    return list(
        session.scalars(
            select(QuarantinedRow).where(QuarantinedRow.import_id == import_id).order_by(QuarantinedRow.line_number)
        )
    )


def retry(
    sessions: sessionmaker[Session], settings: Settings, import_id: int, mapping_file: Path | None = None
) -> ImportResult:
    """Read the quarantined rows of an import again (with `mapping_file`, or the import's own
    format), as a new import of the same account. Rows that now read are stored and leave the
    quarantine; rows still bad stay there, under the new import, with their original line numbers."""
    with sessions() as session:
        ledger = session.get(ImportRecord, import_id)
        if ledger is None:
            raise UsageError(f"no import #{import_id}")
        rows = bad_rows(session, import_id)
        header, delimiter, fmt, account, name = (
            ledger.header,
            ledger.delimiter,
            ledger.format,
            ledger.account_key,
            ledger.file_name,
        )
    if not rows:
        raise UsageError(f"import #{import_id} has no rows in the quarantine")
    if not header or not delimiter:
        raise UsageError(
            f"import #{import_id} ({fmt or 'unknown format'}) kept no header: its rows cannot be read again; "
            "import the fixed file with --force"
        )
    mapping = load_mapping(mapping_file, settings) if mapping_file else None
    with tempfile.TemporaryDirectory(prefix="ahm-retry-") as folder:
        path = Path(folder) / f"retry-{import_id}-{Path(name).stem}.txt"
        path.write_text("\n".join([header, *(r.raw for r in rows)]) + "\n", encoding="utf-8")
        result = import_file(sessions, path, settings, account, None if mapping else fmt, mapping, force=True)
    if result.status in ("ok", "partial") and result.import_id is not None:
        originals = [r.line_number for r in rows]
        with sessions.begin() as session:
            for row in session.scalars(select(QuarantinedRow).where(QuarantinedRow.import_id == result.import_id)):
                row.line_number = originals[row.line_number - 2]  # line 1 of the retry file is the header
            session.execute(delete(QuarantinedRow).where(QuarantinedRow.import_id == import_id))
            session.execute(
                update(ImportRecord)
                .where(ImportRecord.id == result.import_id)
                .values(file_name=f"{name} (quarantine of import #{import_id})"[:500])
            )
    return result
