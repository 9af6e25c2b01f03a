from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor import db
from monitor.config import load_settings

# CI replays the same examples every run (a red build must be reproducible); locally they vary.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_problem() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except OperationalError as exc:
        return f"PostgreSQL is not reachable at {POSTGRES_URL}: {str(exc.orig).splitlines()[0]}"
    return None


_PG_PROBLEM: list[str | None] = []


def postgres_problem() -> str | None:
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_postgres_problem())
    return _PG_PROBLEM[0]


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """A clean environment for load_settings: only what the test sets."""
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new schema in the local PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    problem = postgres_problem()
    if problem:
        pytest.skip(f"PostgreSQL leg skipped: {problem}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path):
    return load_settings(environ={"DATABASE_URL": database_url, "INBOX_DIR": str(tmp_path / "inbox"),
                                  "REPORTS_DIR": str(tmp_path / "reports")})


@pytest.fixture
def sqlite_settings(tmp_path: Path):
    return load_settings(environ={"DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}"})


def _sessions(url: str):
    engine = db.make_engine(url)
    db.migrate(engine)
    return engine, db.session_factory(engine)


@pytest.fixture
def sessions(settings):
    engine, factory = _sessions(settings.database_url)
    yield factory
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """One migrated SQLite file for property tests to copy (migrating for every example is slow)."""
    path = tmp_path_factory.mktemp("template") / "m.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.migrate(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"the shared reference folder is missing: {REFERENCE}")
    return REFERENCE
