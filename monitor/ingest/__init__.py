"""Getting sellers' data in: report files (and, later, the Selling Partner API)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Settings
from monitor.ingest.formats import load_mapping
from monitor.ingest.importer import ImportResult, import_file

__all__ = ["ImportResult", "ImportRun", "import_file", "import_paths", "load_mapping"]


@dataclass
class ImportRun:
    """What one import command (or inbox pass, or sync) did: one result per file."""

    results: list[ImportResult] = field(default_factory=list)
    snapshots: int = 0  # daily metric values recomputed afterwards

    JSON_EXTRA = ("changed", "failed")

    @property
    def changed(self) -> bool:
        """Did any file insert or update data (so metrics must be looked at again)?"""
        return any(r.changed for r in self.results)

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.results)

    def count(self, *statuses: str) -> int:
        return sum(r.status in statuses for r in self.results)


def import_paths(
    sessions: sessionmaker[Session],
    paths: Iterable[Path],
    settings: Settings,
    account: str | None = None,
    forced_format: str | None = None,
    mapping_file: Path | None = None,
    force: bool = False,
) -> list[ImportResult]:
    """Import each file in turn; a directory stands for the files directly in it."""
    mapping = load_mapping(mapping_file, settings) if mapping_file else None
    results = []
    for path in _expand(paths):
        results.append(import_file(sessions, path, settings, account, forced_format, mapping, force=force))
    return results


def _expand(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            files.append(path)
    return files
