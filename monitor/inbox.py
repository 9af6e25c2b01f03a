"""The inbox: report files dropped in a folder, imported once, then moved aside.

* Only settled files are taken: `*.part` files and hidden files wait, and so does a file
  modified in the last INBOX_SETTLE_SECONDS or still open for writing by any process (Linux:
  /proc) - a file being written slowly is not imported half-written.
* Anything that is not a plain file is refused without being followed or opened: a symlink
  (even a loop, or one pointing outside the inbox), a FIFO, a socket, a device. It moves to
  `rejected/` with the reason beside it. Folders are left alone.
* A file in a sub-folder, `inbox/<account>/file`, is imported into that account (created on
  first use): one folder per seller, for files that do not name their account.
* Every file ends in `processed/` (imported, or already known: same content) or in
  `rejected/` with the reason in `NAME.reason.txt`, on its first pass: a file the importer
  cannot read never blocks the ones behind it. Names too long to take the time-stamp
  prefix are shortened (a hash keeps them apart).
* A file is moved only after its import committed, so a crash in between at worst re-reads it
  as a duplicate. A file that changed while it was imported stays in the inbox and is
  imported again, whole, as a new version: rows appended late are never lost.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Settings
from monitor.ingest import ImportRun, import_file
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)
NAME_BYTES = 200  # of a file's own name in processed/ and rejected/ (255 with the prefix and .reason.txt)


@dataclass
class InboxRun(ImportRun):
    """An import of the inbox, and what it left waiting or refused."""

    waiting: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # not plain files: moved to rejected/ unread
    changed_while_read: list[str] = field(default_factory=list)  # imported again next pass


@dataclass(frozen=True)
class Refused:
    path: Path
    reason: str


OWN_FOLDERS = ("processed", "rejected")


def _entries(inbox: Path) -> list[Path]:
    """Every entry of the inbox and of its account sub-folders (one level)."""
    found: list[Path] = []
    for path in sorted(inbox.iterdir()):
        if path.name not in OWN_FOLDERS and not path.name.startswith(".") and _is_folder(path):
            found += sorted(path.iterdir())
        else:
            found.append(path)
    return found


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def settled_files(
    inbox: Path, settle_seconds: float, now: float | None = None
) -> tuple[list[Path], list[str], list[Refused]]:
    """(plain files ready to import, names still being written, entries refused unread)."""
    now = time.time() if now is None else now
    ready, waiting, refused = [], [], []
    for path in _entries(inbox):
        shown = path.relative_to(inbox).as_posix()
        if path.name.startswith(".") or path.name.endswith(".part"):
            waiting.append(shown)
            continue
        try:
            info = path.lstat()  # never follows a link
        except OSError:  # gone meanwhile
            continue
        if stat.S_ISDIR(info.st_mode):
            continue
        if stat.S_ISLNK(info.st_mode):
            refused.append(Refused(path, "a symbolic link: links are not followed, drop the file itself"))
            continue
        if not stat.S_ISREG(info.st_mode):
            refused.append(Refused(path, "not a regular file (a FIFO, socket or device): not read"))
            continue
        if now - info.st_mtime < settle_seconds:
            waiting.append(shown)
            continue
        ready.append(path)
    writing = open_for_writing(ready)
    waiting += [p.relative_to(inbox).as_posix() for p in ready if p in writing]
    return [p for p in ready if p not in writing], sorted(waiting), refused


def open_for_writing(paths: list[Path]) -> set[Path]:
    """Which of `paths` some process holds open for writing (Linux /proc; elsewhere none known)."""
    wanted = {str(p.resolve()): p for p in paths}
    found: set[Path] = set()
    proc = Path("/proc")
    if not wanted or not (proc / "self" / "fd").is_dir():
        return found
    for pid in proc.iterdir():
        if not pid.name.isdigit():
            continue
        try:
            fds = list((pid / "fd").iterdir())
        except OSError:  # gone, or not ours to see
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
                if target not in wanted:
                    continue
                flags = next(
                    int(line.split()[1], 8)
                    for line in (pid / "fdinfo" / fd.name).read_text().splitlines()
                    if line.startswith("flags:")
                )
            except (OSError, StopIteration, ValueError, IndexError):
                continue
            if flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                found.add(wanted[target])
    return found


def import_inbox_once(sessions: sessionmaker[Session], settings: Settings) -> InboxRun:
    """Import every settled file of INBOX_DIR and move it aside."""
    inbox = Path(settings.inbox_dir)
    for folder in (inbox, inbox / "processed", inbox / "rejected"):
        folder.mkdir(parents=True, exist_ok=True)
    ready, waiting, refused = settled_files(inbox, settings.inbox_settle_seconds)
    result = InboxRun(waiting=waiting)
    for entry in refused:
        log.warning("refused %s: %s", entry.path.name, entry.reason)
        if _move(
            entry.path, inbox / "rejected", entry.reason, None if entry.path.parent == inbox else entry.path.parent.name
        ):
            result.refused.append(entry.path.name)
    for path in ready:
        before = _signature(path)
        account = path.parent.name if path.parent != inbox else None
        outcome = import_file(sessions, path, settings, account)
        result.results.append(outcome)
        if _signature(path) != before:  # written to while it was read: read it again, whole
            log.warning("%s changed while it was imported: it is imported again next pass", path.name)
            result.changed_while_read.append(path.name)
            continue
        folder = inbox / ("rejected" if outcome.status == "rejected" else "processed")
        _move(path, folder, outcome.error if outcome.status == "rejected" else None, account)
    return result


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def short_name(name: str, limit: int = NAME_BYTES) -> str:
    """`name` within `limit` bytes: its start, a hash of the whole, and its extension."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, suffix = name.rpartition(".")
    suffix = f".{suffix}" if dot and len(suffix) <= 10 else ""
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    room = limit - len(suffix.encode()) - len(digest) - 1
    start = (stem if dot and suffix else name).encode()[:room].decode(errors="ignore")
    return f"{start}~{digest}{suffix}"


def _move(path: Path, folder: Path, reason: str | None, account: str | None = None) -> bool:
    """Move `path` (a link itself, never its target) into `folder`, with the reason beside it
    when there is one; False when it could not be moved (it is tried again next pass). A file of
    an account sub-folder keeps the account in its name."""
    stamp = f"{utcnow():%Y%m%dT%H%M%S}"
    name = short_name(f"{account}-{path.name}" if account else path.name)
    target = folder / f"{stamp}-{name}"
    n = 1
    while target.exists() or target.is_symlink():
        target = folder / f"{stamp}-{n}-{name}"
        n += 1
    try:
        os.rename(path, target)
        if reason is not None:
            target.with_name(target.name + ".reason.txt").write_text(f"{reason}\n", encoding="utf-8")
    except OSError as exc:
        log.error("cannot move %s to %s: %s", path.name, folder, exc)
        return False
    return True
