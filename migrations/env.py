"""Alembic environment: the engine comes from monitor.db (or DATABASE_URL for the alembic CLI)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from monitor.models import Base

config = context.config
target_metadata = Base.metadata


def _engine():
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic upgrade head` from a checkout
        from monitor.config import load_settings
        from monitor.db import make_engine

        engine = make_engine(load_settings().database_url)
    return engine


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; connect to a database")
run_migrations_online()
