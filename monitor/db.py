"""Engine, sessions, SQLite pragmas and migrations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import DatabaseNotReady, MonitorError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 65_536
STAGED = "staged"  # the schema an import opens its readers' staged orders as (SQLite, see ingest.store)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # bulk upserts touch big indexes
    cursor.close()


def _sqlite_checkout(dbapi_connection, _record, _proxy) -> None:
    # an import turns foreign-key checks off for its own transaction (see without_foreign_key_checks);
    # every connection handed out has them on again
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _sqlite_checkin(dbapi_connection, _record) -> None:
    # an import opens the orders its readers staged as an attached database (ingest.store), which
    # it cannot let go of inside its transaction: it goes, with its memory, when the connection returns
    if (
        dbapi_connection is not None
        and dbapi_connection.execute("SELECT 1 FROM pragma_database_list WHERE name = ?", (STAGED,)).fetchone()
    ):
        dbapi_connection.execute(f"DETACH {STAGED}")


def without_foreign_key_checks(session: Session) -> None:
    """Skip foreign-key checks for the transaction `session` is about to begin (SQLite), or is in
    (PostgreSQL, where the role may).

    For bulk writes whose keys the writer itself has just looked up (checking three keys of
    each of a million orders costs SQLite more than storing them). Must come before the
    transaction's first statement; the connection has the checks on again when it is next
    handed out.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not driver_connection(connection).in_transaction:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    elif connection.dialect.name == "postgresql":
        # PostgreSQL checks keys with triggers, which a role of `replica` skips for this transaction
        # alone (SET LOCAL); only a superuser or a role granted SET on it may: others keep the checks
        savepoint = connection.begin_nested()
        try:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        except DBAPIError:
            savepoint.rollback()
        else:
            savepoint.commit()


def driver_connection(connection: Connection) -> Any:
    """The DB-API connection under a SQLAlchemy one (for bulk work through the driver itself)."""
    raw = connection.connection.dbapi_connection
    if raw is None:
        raise MonitorError("the database connection was closed")
    return raw


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkout", _sqlite_checkout)
        event.listen(engine, "checkin", _sqlite_checkin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise MonitorError(
            f"DATABASE_URL needs the {exc.name} driver: pip install 'account-health-monitor[postgres]'"
        ) from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrations_dir() -> Path:
    """migrations/ in a source checkout, or the copy packed into the wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "migrations", package / "_migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise MonitorError("the Alembic migrations are missing from this installation")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise MonitorError(f"cannot open the database: {_short(exc)}") from None


def migrate(engine: Engine) -> tuple[str | None, str | None]:
    """Upgrade the database to the newest migration; returns (before, after) revisions."""
    before = current_revision(engine)
    try:
        command.upgrade(alembic_config(engine), "head")
    except SQLAlchemyError as exc:
        raise MonitorError(f"migration failed: {_short(exc)}") from None
    return before, current_revision(engine)


def require_current(engine: Engine) -> None:
    """Raise DatabaseNotReady unless the schema is at the newest migration."""
    current = current_revision(engine)
    if current is None:
        raise DatabaseNotReady("the database is empty: run `account-health init` first")
    if current != head_revision():
        raise DatabaseNotReady("the database schema is out of date: run `account-health init` to upgrade it")


def _short(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0]
