"""The library's front door: what each command does, with the database opened from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from monitor.config import Settings
from monitor.ingest import ImportResult, import_paths


@contextmanager
def open_database(settings: Settings, migrate: bool = False) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database; it must be migrated (or `migrate=True`)."""
    engine = db.make_engine(settings.database_url)
    try:
        if migrate:
            db.migrate(engine)
        else:
            db.require_current(engine)
        yield db.session_factory(engine)
    finally:
        engine.dispose()


def init_database(settings: Settings) -> tuple[str | None, str | None]:
    """Create or upgrade the schema; returns (revision before, revision after)."""
    engine = db.make_engine(settings.database_url)
    try:
        return db.migrate(engine)
    finally:
        engine.dispose()


def import_files(settings: Settings, paths: list[Path], account: str | None = None,
                 forced_format: str | None = None, mapping: Path | None = None) -> list[ImportResult]:
    """`account-health import`: import each file, one result per file."""
    with open_database(settings) as sessions:
        return import_paths(sessions, paths, settings, account, forced_format, mapping)


def run_demo(settings: Settings, directory: Path) -> Iterator[str]:
    """`account-health demo`: sample reports for two accounts, imported; yields progress lines."""
    from monitor import demo

    files = demo.write_sample_reports(directory)
    yield f"wrote {len(files)} sample reports to {directory}/"
    with open_database(settings, migrate=True) as sessions:
        for path, account in files:
            (result,) = import_paths(sessions, [path], settings, account=account)
            yield (f"  {path.name}: {result.status}, {result.rows_read} rows, {result.inserted} inserted, "
                   f"{result.updated} updated, {result.quarantined} quarantined")
