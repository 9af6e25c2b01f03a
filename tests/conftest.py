"""Shared fixtures and helpers: databases (SQLite files, PostgreSQL schemas), real loopback
servers (a Slack-like webhook, SMTP through aiosmtpd), sample data, the reference folder.

Every test runs in its own temporary working directory, and the session fails if any
test wrote into the checkout (screenshots go to test-report/, which git ignores).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor import db
from monitor.config import Settings, load_settings, with_values
from monitor.metrics import Targets

# CI replays the same examples every run (a red build must be reproducible); locally they vary.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
# Amazon's schemas, fixtures and a real export: ../shared/reference beside the checkout, or AHM_REFERENCE_DIR
REFERENCE = Path(os.environ.get("AHM_REFERENCE_DIR") or ROOT.parent / "shared" / "reference")
REPORT_DIR = Path(os.environ.get("AHM_TEST_REPORT_DIR") or ROOT / "test-report")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# ------------------------------------------------------------------ the checkout stays clean
def _checkout_state() -> set[str]:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        line
        for line in done.stdout.splitlines()
        if "test-report/" not in line
        and ".venv/" not in line
        and "__pycache__" not in line
        and ".pytest_cache" not in line
        and ".ruff_cache" not in line
        and ".mypy_cache" not in line
        and ".hypothesis" not in line
    }


@pytest.fixture(scope="session", autouse=True)
def checkout_stays_clean() -> Iterator[None]:
    before = _checkout_state()
    yield
    written = sorted(_checkout_state() - before)
    assert not written, f"tests wrote into the checkout: {written}"


@pytest.fixture(autouse=True)
def own_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (reports/, data/, inbox/, .env) land in the test's own folder."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


# ------------------------------------------------------------------ databases
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


def skip_without_postgres() -> None:
    """Skip the running test, saying why, where the local PostgreSQL cannot be reached."""
    problem = postgres_problem()
    if problem:
        pytest.skip(f"PostgreSQL leg skipped: {problem}")


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
    skip_without_postgres()
    with fresh_schema() as url:
        yield url


@contextlib.contextmanager
def fresh_schema(url: str = POSTGRES_URL, prefix: str = "t") -> Iterator[str]:
    """The URL of a new, empty schema of the PostgreSQL database at `url` (its search_path set),
    dropped afterwards (tests and benchmarks)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        environ={
            "DATABASE_URL": database_url,
            "INBOX_DIR": str(tmp_path / "inbox"),
            "REPORTS_DIR": str(tmp_path / "reports"),
            "EVIDENCE_DIR": str(tmp_path / "evidence"),
        }
    )


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return load_settings(
        environ={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}",
            "REPORTS_DIR": str(tmp_path / "reports"),
            "EVIDENCE_DIR": str(tmp_path / "evidence"),
            "INBOX_DIR": str(tmp_path / "inbox"),
        }
    )


@pytest.fixture
def sessions(settings: Settings):
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    yield db.session_factory(engine)
    engine.dispose()


@pytest.fixture
def monitor(settings: Settings):
    """A Monitor on a fresh, migrated database."""
    from monitor.monitor import Monitor

    with Monitor.open(settings, migrate=True, sleep=lambda _s: None) as opened:
        yield opened


def env_of(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a CLI run needs to see the same database and folders as `settings`."""
    return {
        "DATABASE_URL": settings.database_url,
        "REPORTS_DIR": settings.reports_dir,
        "INBOX_DIR": settings.inbox_dir,
        "EVIDENCE_DIR": settings.evidence_dir,
        **extra,
    }


def reconfigured(settings: Settings, **values: Any) -> Settings:
    """`settings` with some settings changed, given as a user would write them."""
    return with_values(settings, **{k: str(v) for k, v in values.items()})


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
        pytest.fail(f"the shared reference folder is missing: {REFERENCE} (set AHM_REFERENCE_DIR)")
    return REFERENCE


# ------------------------------------------------------------------ sample data
ORDERS_HEADER = (
    "order_id,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at,cancelled_at,"
    "cancelled_by,tracking_valid,carrier,sku\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def import_orders_and_claims(
    sessions: Any, settings: Settings, folder: Path, orders: list[str], claims: list[str], account: str = "acme"
) -> None:
    """Import order rows (ORDERS_HEADER's columns) and A-to-z claims ("order,received_at" each)."""
    from monitor.ingest import import_file

    import_file(
        sessions, write(folder / "orders.csv", ORDERS_HEADER + "\n".join(orders) + "\n"), settings, account=account
    )
    lines = "".join(f"{claim},open\n".replace(",", ",a_to_z_claim,", 1) for claim in claims)
    import_file(
        sessions,
        write(folder / "claims.csv", "order_id,defect_type,received_at,status\n" + lines),
        settings,
        account=account,
    )


def shop(folder: Path) -> Path:
    """20 MFN orders shipped on time, 2 shipped late, 1 not confirmed; 1 seller cancellation; a
    fresh AFN order four hours before T."""
    rows = []
    for n in range(20):
        rows.append(f"OK-{n},2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:59:59Z,2026-10-26T10:00:00Z,,,true,UPS,MUG")
    rows.append("LATE-1,2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:59:59Z,2026-10-28T10:00:00Z,,,true,DHL,POT")
    rows.append("LATE-2,2026-10-26T10:00:00Z,MFN,Shipped,2026-10-28T23:59:59Z,2026-10-30T01:00:00Z,,,false,DHL,POT")
    rows.append("OPEN-1,2026-10-28T10:00:00Z,MFN,Unshipped,2026-10-30T23:59:59Z,,,,,,POT")
    rows.append("CXL-1,2026-10-29T10:00:00Z,MFN,Canceled,2026-10-31T23:59:59Z,,2026-10-29T12:00:00Z,seller,,,MUG")
    rows.append("FBA-1,2026-10-31T20:00:00Z,AFN,Pending,,,,,,,MUG")  # the newest order: the data is fresh
    return write(folder / "orders.csv", ORDERS_HEADER + "\n".join(rows) + "\n")


# the pure metric tests' frame builders
T = datetime(2026, 11, 1, tzinfo=UTC)  # as-of: the end of 2026-10-31
TARGETS = Targets()
FRAME_COLUMNS = [
    "order_id",
    "marketplace",
    "sales_channel",
    "buyer_requested_cancel",
    "tracking_id",
    "quantity",
    "purchase_date",
    "fulfillment_channel",
    "order_status",
    "latest_ship_date",
    "shipped_at",
    "cancelled_at",
    "cancelled_by",
    "tracking_valid",
    "carrier",
    "ship_service_level",
    "latest_delivery_date",
    "delivered_at",
    "sku",
    "product_name",
]
FRAME_TIMES = [
    "purchase_date",
    "latest_ship_date",
    "shipped_at",
    "cancelled_at",
    "latest_delivery_date",
    "delivered_at",
]


def d(days: float = 0, hours: float = 0, seconds: float = 0) -> datetime:
    """A time relative to T (negative = before)."""
    return T + timedelta(days=days, hours=hours, seconds=seconds)


def orders(*rows: dict[str, Any]) -> pd.DataFrame:
    """An orders frame as health.load makes it: MFN, shipped, bought 5 days before T, unless a row says."""
    full = []
    for n, row in enumerate(rows):
        base: dict[str, Any] = {c: None for c in FRAME_COLUMNS}
        base.update(order_id=f"O-{n}", fulfillment_channel="MFN", order_status="Shipped", purchase_date=d(-5))
        base.update(row)
        full.append(base)
    frame = pd.DataFrame(full, columns=FRAME_COLUMNS)
    for name in FRAME_TIMES:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def defects(*rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [{"status": None, "rating": None, "comment": None, **r} for r in rows],
        columns=["order_id", "defect_type", "received_at", "status", "rating", "comment"],
    )
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    return frame


# ------------------------------------------------------------------ real servers on loopback
@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SlackLike:
    """Answers like Slack's incoming webhook (or any JSON webhook): scripted (status, body,
    headers), then 200 ok; keeps every payload it accepted."""

    def __init__(self) -> None:
        self.script: deque[tuple[int, str, dict[str, str]]] = deque()
        self.received: list[dict[str, Any]] = []
        self.on_accept: Callable[[dict[str, Any]], None] | None = None  # runs before the answer goes out
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status, reply, headers = outer.script.popleft() if outer.script else (200, "ok", {})
                if status == 200:
                    outer.received.append(json.loads(body))
                    if outer.on_accept is not None:
                        outer.on_accept(outer.received[-1])
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret-token-XYZ"


@pytest.fixture
def slack() -> Iterator[SlackLike]:
    server = SlackLike()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


class SmtpInbox:
    """aiosmtpd handler that keeps every message it accepted."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's naming)
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: Any, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"alerts" and auth_data.password == b"pw-123"
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


@dataclass
class SmtpServer:
    inbox: SmtpInbox
    port: int
    controller: Controller

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[Callable[..., SmtpServer]]:
    """Start a real SMTP server on loopback: smtp(port, tls_context=..., ssl_context=...)."""
    started: list[SmtpServer] = []

    def start(port: int, tls_context: Any = None, ssl_context: Any = None) -> SmtpServer:
        inbox = SmtpInbox()
        kwargs: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": port,
            "authenticator": _authenticator,
            "auth_require_tls": True,
        }
        if ssl_context is not None:  # implicit TLS from the first byte (SMTP_SECURITY=ssl)
            kwargs.update(ssl_context=ssl_context, auth_require_tls=False)  # aiosmtpd sees STARTTLS only
        elif tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        else:
            kwargs.update(auth_require_tls=False)
        controller = Controller(inbox, **kwargs)
        controller.start()
        server = SmtpServer(inbox, port, controller)
        started.append(server)
        return server

    yield start
    for server in started:
        with contextlib.suppress(AssertionError, RuntimeError):  # stopped by the test already
            server.stop()


def smtp_settings(settings: Settings, port: int, **extra: Any) -> Settings:
    values = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "alert_email_from": "monitor@example.com",
        "alert_email_to": "owner@example.com, ops@example.com",
    }
    return reconfigured(settings, **{**values, **extra})
