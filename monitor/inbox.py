"""The inbox: report files dropped in a folder, imported once, then moved aside.

* Only settled files are taken: `*.part` files, hidden files and files modified
  in the last INBOX_SETTLE_SECONDS are still being written and wait.
* A link that points out of the inbox is ignored (never followed).
* Imported files (and files already imported: same content hash) move to
  `processed/`; rejected ones to `rejected/`, with the reason in
  `NAME.reason.txt` beside them. A file is moved only after its import
  committed, so a crash in between at worst re-reads it as a duplicate.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Settings
from monitor.ingest import ImportResult, ImportRun, import_file
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass
class InboxRun(ImportRun):
    """An import of the inbox, and what it left waiting or ignored."""

    waiting: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def settled_files(
    inbox: Path, settle_seconds: float, now: float | None = None
) -> tuple[list[Path], list[str], list[str]]:
    """(files ready to import, names still being written, names ignored)."""
    now = time.time() if now is None else now
    ready, waiting, ignored = [], [], []
    root = inbox.resolve()
    for path in sorted(inbox.iterdir()):
        if path.name.startswith(".") or path.name.endswith(".part"):
            waiting.append(path.name)
            continue
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root) or not target.is_file():
                ignored.append(path.name)
                continue
        if not path.is_file():
            continue
        if now - path.stat().st_mtime < settle_seconds:
            waiting.append(path.name)
            continue
        ready.append(path)
    return ready, waiting, ignored


def import_inbox_once(sessions: sessionmaker[Session], settings: Settings) -> InboxRun:
    """Import every settled file of INBOX_DIR and move it aside."""
    inbox = Path(settings.inbox_dir)
    for folder in (inbox, inbox / "processed", inbox / "rejected"):
        folder.mkdir(parents=True, exist_ok=True)
    ready, waiting, ignored = settled_files(inbox, settings.inbox_settle_seconds)
    result = InboxRun(waiting=waiting, ignored=ignored)
    for path in ready:
        outcome = import_file(sessions, path, settings)
        result.results.append(outcome)
        _move_aside(path, inbox, outcome)
    return result


def _move_aside(path: Path, inbox: Path, outcome: ImportResult) -> None:
    folder = inbox / ("rejected" if outcome.status == "rejected" else "processed")
    target = folder / f"{utcnow():%Y%m%dT%H%M%S}-{path.name}"
    n = 1
    while target.exists():
        target = folder / f"{utcnow():%Y%m%dT%H%M%S}-{n}-{path.name}"
        n += 1
    path.replace(target)
    if outcome.status == "rejected":
        target.with_name(target.name + ".reason.txt").write_text(f"{outcome.error}\n", encoding="utf-8")
