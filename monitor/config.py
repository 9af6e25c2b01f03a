"""Settings: one registry (name, default, help) drives loading, validation,
`config.example.env` and the README table.

Values come from the process environment and from a `.env` file (python-dotenv);
a real environment variable wins over the file. A secret may be given as
`NAME_FILE=/path/to/file` instead, and is then read from that file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from monitor.errors import ConfigError


# ---------------------------------------------------------------- parsers
def _str(value: str) -> str:
    return value.strip()


def _positive_int(value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"must be greater than 0, got {number}")
    return number


def _port(value: str) -> int:
    number = _positive_int(value)
    if number > 65535:
        raise ValueError(f"must be a TCP port (1-65535), got {number}")
    return number


def _positive_number(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not number > 0:
        raise ValueError(f"must be greater than 0, got {number:g}")
    return number


def _fraction(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"expected a number between 0 and 1, got {value!r}") from None
    if not 0 < number < 1:
        raise ValueError(f"must be between 0 and 1 (exclusive), got {number}")
    return number


def _database_url(value: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(value.strip())
    except ArgumentError:
        raise ValueError("is not a SQLAlchemy database URL (e.g. sqlite:///data/account_health.db)") from None
    return value.strip()


def _http_url(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    return parse


def _email_list(value: str) -> tuple[str, ...]:
    addresses = tuple(part.strip() for part in value.split(",") if part.strip())
    for address in addresses:
        if "@" not in address or any(c in address for c in "\r\n<>"):
            raise ValueError(f"{address!r} is not an e-mail address")
    return addresses


def _email(value: str) -> str:
    value = value.strip()
    if value and ("@" not in value or any(c in value for c in "\r\n")):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _boolean(value: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _csv_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _account_key(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 100 or any(c.isspace() for c in value):
        raise ValueError("must be 1-100 characters without spaces")
    return value


# ---------------------------------------------------------------- registry
@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = _str
    secret: bool = False
    group: str = "General"


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", "sqlite:///data/account_health.db",
            "SQLAlchemy URL of the database; PostgreSQL (postgresql+psycopg://...) for larger fleets",
            _database_url, secret=True, group="Storage"),
    Setting("INBOX_DIR", "inbox", "where report files are dropped; imported files move to processed/, rejected ones to rejected/", group="Storage"),
    Setting("REPORTS_DIR", "reports", "where the HTML dashboards (and plan-of-action drafts) are written",
            group="Storage"),
    Setting("EVIDENCE_DIR", "data/evidence", "where copies of the documents attached for appeals are kept",
            group="Storage"),
    Setting("DEFAULT_ACCOUNT", "default", "account key for report files that name none", _account_key, group="Import"),
    Setting("IMPORT_CHUNK_ROWS", "20000", "rows read and written per batch while importing (bounds memory)", _positive_int, group="Import"),
    Setting("FEEDBACK_DATE_FORMATS", "%m/%d/%y,%m/%d/%Y,%Y-%m-%d,%d.%m.%y,%d.%m.%Y",
            "date formats tried in order for the Date column of Amazon's feedback report", _csv_list, group="Import"),
    Setting("WARN_RATIO", "0.75", "a metric warns when its bad share reaches this share of its allowance", _fraction, group="Metrics"),
    Setting("FORECAST_DAYS", "7", "warn when the trend forecasts a breach within this many days", _positive_int, group="Metrics"),
    Setting("ODR_COUNT_CANCELLED", "true",
            "count cancelled orders in the ODR denominator (Amazon does not say; true is the usual reading)",
            _boolean, group="Metrics"),
    Setting("SNAPSHOT_DAYS", "180", "how many past days of daily metric values are kept up to date for charts",
            _positive_int, group="Metrics"),
    Setting("LIMIT_ODR", "0.01", "Order Defect Rate target (must stay below)", _fraction, group="Metrics"),
    Setting("LIMIT_LSR", "0.04", "Late Shipment Rate target (must stay below)", _fraction, group="Metrics"),
    Setting("LIMIT_CR", "0.025", "Pre-fulfilment Cancellation Rate target (must stay below)", _fraction, group="Metrics"),
    Setting("LIMIT_VTR", "0.95", "Valid Tracking Rate target (must stay at or above)", _fraction, group="Metrics"),
    Setting("LIMIT_OTDR", "0.90", "On-Time Delivery Rate target (must stay at or above)", _fraction, group="Metrics"),
    Setting("ALERT_REPEAT_HOURS", "24", "re-send a still-firing alert after this many hours", _positive_int, group="Alerts"),
    Setting("ALERT_CLEAR_MARGIN", "0.1",
            "an alert clears only below (WARN_RATIO - this) of the allowance, so a metric at the line does not flap",
            _fraction, group="Alerts"),
    Setting("STALE_HOURS", "36", "an account with no successful import for this long raises a no_data alert", _positive_int, group="Alerts"),
    Setting("SLACK_WEBHOOK_URL", "", "Slack incoming webhook URL; empty = Slack off", _http_url, secret=True, group="Alerts"),
    Setting("SMTP_HOST", "", "SMTP server for e-mail alerts; empty = e-mail off", group="Alerts"),
    Setting("SMTP_PORT", "587", "SMTP server port", _port, group="Alerts"),
    Setting("SMTP_USERNAME", "", "SMTP login user; empty = no login", group="Alerts"),
    Setting("SMTP_PASSWORD", "", "SMTP login password", secret=True, group="Alerts"),
    Setting("SMTP_SECURITY", "starttls", "starttls, ssl or none", _choice("starttls", "ssl", "none"), group="Alerts"),
    Setting("SMTP_CA_FILE", "", "CA bundle that signed the SMTP server's certificate; empty = the system's",
            group="Alerts"),
    Setting("ALERT_EMAIL_FROM", "", "sender address of alert e-mails", _email, group="Alerts"),
    Setting("ALERT_EMAIL_TO", "", "recipients of alert e-mails, comma-separated", _email_list, group="Alerts"),
    Setting("IMPORT_INTERVAL_MINUTES", "5", "inbox poll interval of the daemon, in minutes (fractions allowed)",
            _positive_number, group="Daemon"),
    Setting("INBOX_SETTLE_SECONDS", "10",
            "a file in the inbox modified more recently than this is still being written: it waits",
            _positive_number, group="Daemon"),
    Setting("SPAPI_REFRESH_TOKEN", "", "Selling Partner API refresh token; empty = sync off", secret=True, group="Selling Partner API"),
    Setting("SPAPI_CLIENT_ID", "", "Login-with-Amazon client id", group="Selling Partner API"),
    Setting("SPAPI_CLIENT_SECRET", "", "Login-with-Amazon client secret", secret=True, group="Selling Partner API"),
    Setting("SPAPI_REGION", "", "na, eu or fe", _choice("", "na", "eu", "fe"), group="Selling Partner API"),
    Setting("SPAPI_MARKETPLACE_IDS", "", "marketplace ids to sync, comma-separated", _csv_list, group="Selling Partner API"),
    Setting("SPAPI_ACCOUNT", "", "account key the synced data is stored under; empty = DEFAULT_ACCOUNT",
            group="Selling Partner API"),
    Setting("SPAPI_ACCOUNTS_FILE", "",
            "TOML file listing several seller accounts to sync (see the README); empty = the single account above",
            group="Selling Partner API"),
    Setting("SYNC_INTERVAL_MINUTES", "60", "how often the daemon syncs with the Selling Partner API",
            _positive_number, group="Selling Partner API"),
    Setting("SPAPI_REPORT_TIMEOUT_MINUTES", "30", "give up on a report still queued or in progress after this long",
            _positive_number, group="Selling Partner API"),
    Setting("SPAPI_ENDPOINT", "", "Selling Partner API base URL; empty = Amazon's for SPAPI_REGION", _http_url, group="Selling Partner API"),
    Setting("LWA_TOKEN_URL", "", "Login-with-Amazon token URL; empty = Amazon's", _http_url, group="Selling Partner API"),
)



@dataclass(frozen=True)
class Settings:
    """Validated settings; attribute names are the setting names in lower case."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name.upper()]
        except KeyError:
            raise AttributeError(name) from None


def secret_values(settings: Settings) -> list[str]:
    """The values of every secret setting (to keep them out of logs and stored errors)."""
    return [v for s in SETTINGS if s.secret and isinstance(v := settings.values.get(s.name), str) and v]


def _raw_value(setting: Setting, env: Mapping[str, str | None], file_values: Mapping[str, str | None]) -> str:
    for source in (env, file_values):
        if source.get(setting.name) is not None:
            return source[setting.name] or ""
        path = source.get(f"{setting.name}_FILE")
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{setting.name}_FILE: cannot read {path}: {exc.strerror}") from None
    return setting.default


def load_settings(env_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Build validated Settings from the environment and an optional .env file."""
    environ = os.environ if environ is None else environ
    file_values: Mapping[str, str | None] = {}
    if env_file is not None:
        path = Path(env_file)
        if not path.is_file():
            raise ConfigError(f"--env-file: {path} does not exist")
        file_values = dotenv_values(path)
    elif Path(".env").is_file():
        file_values = dotenv_values(".env")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = _raw_value(setting, environ, file_values)
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.name}: {exc}") from None
    return Settings(values)


def example_env() -> str:
    """The text of config.example.env, generated from the registry."""
    lines = [
        "# account-health-monitor settings. Copy to .env and edit; real environment",
        "# variables win over this file. A secret may also be given as NAME_FILE=/path.",
        "# Generated from monitor/config.py (SETTINGS); a test keeps the two in step.",
    ]
    group = None
    for setting in SETTINGS:
        if setting.group != group:
            group = setting.group
            lines += ["", f"# --- {group}"]
        lines.append(f"# {setting.help}")
        lines.append(f"{setting.name}={setting.default}")
    return "\n".join(lines) + "\n"


def settings_table() -> str:
    """A Markdown table of every setting, for the README."""
    rows = ["| name | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "empty"
        rows.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)
