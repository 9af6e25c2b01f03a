"""Settings: one typed, frozen `Settings` object, built once from the environment and `.env`.

The dataclass is the registry: each field carries its setting's default (as the
text a user would write), help, parser, group and whether it is a secret. That
one declaration drives loading, validation, `config.example.env` and the
README table, and mypy checks every read (`settings.smtp_port` is an `int`).

Values come from the process environment and from a `.env` file (python-dotenv);
a real environment variable wins over the file. A secret may be given as
`NAME_FILE=/path/to/file` instead, and is then read from that file.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import ConfigError

log = logging.getLogger(__name__)


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


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _database_url(value: str) -> str:
    # a cheap shape check: SQLAlchemy itself is not imported to load settings (`--help` stays fast)
    value = value.strip()
    if not _URL.match(value):
        raise ValueError("is not a SQLAlchemy database URL (e.g. sqlite:///data/account_health.db)")
    for short in ("postgres://", "postgresql://"):  # what hosting providers hand out: the psycopg driver
        if value.startswith(short):
            return "postgresql+psycopg://" + value[len(short) :]
    return value


def _http_url(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


def _base_url(value: str) -> str:
    """An http(s) or file URL of a folder (a trailing slash is added)."""
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.netloc):
        raise ValueError("must be an http(s) or file URL of the folder the dashboards are in")
    return value if value.endswith("/") else value + "/"


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


def _count(value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None
    if not 0 <= number <= 1_000_000:
        raise ValueError(f"must be between 0 and 1,000,000, got {number}")
    return number


def _stars(value: str) -> float:
    """An average rating, from 1 to 5 stars."""
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"expected a number of stars, got {value!r}") from None
    if not 1 <= number <= 5:
        raise ValueError(f"must be between 1 and 5 stars, got {number}")
    return number


def _days(value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"expected a whole number of days, got {value!r}") from None
    if not 0 <= number <= 365:
        raise ValueError(f"must be between 0 and 365 days, got {number}")
    return number


def _window_days(value: str) -> int:
    """A window length the monitor holds the data for (its loads reach about five months back)."""
    number = _days(value)
    if not 1 <= number <= 150:
        raise ValueError(f"must be between 1 and 150 days, got {number}")
    return number


def _long_window_days(value: str) -> int:
    """eBay's low-volume window: up to a year and a day (its loads reach back that far for eBay's orders)."""
    number = _days(value)
    if not 1 <= number <= 366:
        raise ValueError(f"must be between 1 and 366 days, got {number}")
    return number


def _marketplace(value: str) -> str:
    from monitor.marketplaces import normalize

    return normalize(value) or ""


def _timezones(value: str) -> tuple[tuple[str, str], ...]:
    from monitor.marketplaces import parse_timezones

    return tuple(sorted(parse_timezones(value).items()))


def _account_key(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 100 or any(c.isspace() for c in value):
        raise ValueError("must be 1-100 characters without spaces")
    return value


# ---------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Setting:
    """One setting as the user sees it: its environment name, default text and help."""

    name: str
    default: str
    help: str
    parse: Callable[[str], Any]
    secret: bool
    group: str


def _setting(
    default: str, help: str, parse: Callable[[str], Any] = _str, *, secret: bool = False, group: str = "General"
) -> Any:
    """A Settings field: its parsed default, and the registry facts in its metadata."""
    meta = {"default": default, "help": help, "parse": parse, "secret": secret, "group": group}
    return field(default=parse(default), metadata=meta)


STORAGE, IMPORT, METRICS, CHANNELS, ALERTS, DAEMON, SPAPI = (
    "Storage",
    "Import",
    "Metrics",
    "Other channels (Walmart, eBay, Etsy)",
    "Alerts",
    "Daemon",
    "Selling Partner API",
)


@dataclass(frozen=True)
class Settings:
    """Validated settings; each field is the setting of the same name in upper case."""

    database_url: str = _setting(
        "sqlite:///data/account_health.db",
        "SQLAlchemy URL of the database; PostgreSQL (postgresql+psycopg://...) for larger fleets",
        _database_url,
        secret=True,
        group=STORAGE,
    )
    inbox_dir: str = _setting(
        "inbox",
        "where report files are dropped; imported files move to processed/, rejected ones to rejected/",
        group=STORAGE,
    )
    reports_dir: str = _setting(
        "reports", "where the HTML dashboards (and plan-of-action drafts) are written", group=STORAGE
    )
    dashboard_base_url: str = _setting(
        "",
        "where REPORTS_DIR is reachable from elsewhere (your web server, a synced share, or `account-health serve` "
        "through an SSH tunnel, e.g. http://127.0.0.1:8050/): alert and page links start with it; empty = file:// "
        "paths on this machine",
        _base_url,
        group=STORAGE,
    )
    evidence_dir: str = _setting(
        "data/evidence", "where copies of the documents attached for appeals are kept", group=STORAGE
    )
    default_account: str = _setting(
        "default", "account key for report files that name none", _account_key, group=IMPORT
    )
    import_chunk_rows: int = _setting(
        "20000", "rows read and written per batch while importing (bounds memory)", _positive_int, group=IMPORT
    )
    import_worker_min_mb: float = _setting(
        "16",
        "order files of at least this many MB are read and converted by two forked processes while this one "
        "writes (on PostgreSQL, item-row formats excepted; a very large number turns them off)",
        _positive_number,
        group=IMPORT,
    )
    feedback_date_formats: tuple[str, ...] = _setting(
        "%m/%d/%y,%m/%d/%Y,%Y-%m-%d,%d.%m.%y,%d.%m.%Y",
        "date formats tried in order for the Date column of Amazon's feedback report",
        _csv_list,
        group=IMPORT,
    )
    mappings_dir: str = _setting(
        "mappings",
        "your column mappings (*.toml): a file whose header matches one's [detect] columns is read with it",
        group=IMPORT,
    )
    shipstation_stores: tuple[str, ...] = _setting(
        "",
        "your Amazon shops' names in ShipStation exports (glob patterns, comma-separated, e.g. Amazon*): "
        "the other shops' rows are skipped",
        _csv_list,
        group=IMPORT,
    )
    warn_ratio: float = _setting(
        "0.75", "a metric warns when its bad share reaches this share of its allowance", _fraction, group=METRICS
    )
    forecast_days: int = _setting(
        "7", "warn when the trend forecasts a breach within this many days", _positive_int, group=METRICS
    )
    odr_count_cancelled: bool = _setting(
        "true",
        "count cancelled orders in the ODR denominator (Amazon does not say; true is the usual reading)",
        _boolean,
        group=METRICS,
    )
    snapshot_days: int = _setting(
        "180", "how many past days of daily metric values are kept up to date for charts", _positive_int, group=METRICS
    )
    limit_odr: float = _setting("0.01", "Order Defect Rate target (must stay below)", _fraction, group=METRICS)
    limit_lsr: float = _setting("0.04", "Late Shipment Rate target (must stay below)", _fraction, group=METRICS)
    limit_cr: float = _setting(
        "0.025", "Pre-fulfilment Cancellation Rate target (must stay below)", _fraction, group=METRICS
    )
    limit_vtr: float = _setting("0.95", "Valid Tracking Rate target (must stay at or above)", _fraction, group=METRICS)
    limit_otdr: float = _setting(
        "0.90", "On-Time Delivery Rate target (must stay at or above)", _fraction, group=METRICS
    )
    lag_odr_days: int = _setting(
        "15",
        "how many days before the report day Amazon's ODR window ends (an imported Amazon report of the "
        "marketplace overrides it)",
        _days,
        group=METRICS,
    )
    lag_lsr_days: int = _setting("0", "the same for the Late Shipment Rate", _days, group=METRICS)
    lag_cr_days: int = _setting("1", "the same for the Pre-fulfilment Cancellation Rate", _days, group=METRICS)
    lag_vtr_days: int = _setting("10", "the same for the Valid Tracking Rate", _days, group=METRICS)
    lag_otdr_days: int = _setting("7", "the same for the On-Time Delivery Rate (in units)", _days, group=METRICS)
    default_marketplace: str = _setting(
        "", "marketplace of orders that name none, e.g. amazon.com (empty: unknown)", _marketplace, group=METRICS
    )
    # other channels: orders whose marketplace is walmart.com, ebay.* or etsy.com (README: "Other channels")
    limit_walmart_cancel_rate: float = _setting(
        "0.02", "Walmart: seller cancellations per order (must stay at or below)", _fraction, group=CHANNELS
    )
    limit_walmart_otd_rate: float = _setting(
        "0.90", "Walmart: on-time delivery (must stay at or above)", _fraction, group=CHANNELS
    )
    limit_walmart_vtr_rate: float = _setting(
        "0.99", "Walmart: shipments with valid tracking (must stay at or above)", _fraction, group=CHANNELS
    )
    limit_walmart_response_rate: float = _setting(
        "0.95", "Walmart: inquiries answered within 48 h (only Walmart measures it)", _fraction, group=CHANNELS
    )
    limit_walmart_refund_rate: float = _setting(
        "0.06",
        "Walmart: orders refunded for a seller-responsible reason (its Insights summary)",
        _fraction,
        group=CHANNELS,
    )
    limit_walmart_negative_feedback_rate: float = _setting(
        "0.02", "Walmart: orders with a 1- or 2-star review (its Insights summary)", _fraction, group=CHANNELS
    )
    limit_walmart_return_rate: float = _setting(
        "0.06", "Walmart: delivered orders returned (its Insights summary)", _fraction, group=CHANNELS
    )
    limit_walmart_inr_rate: float = _setting(
        "0.02", "Walmart: orders reported not received (its Insights summary)", _fraction, group=CHANNELS
    )
    limit_ebay_defect_rate: float = _setting(
        "0.02", "eBay: transaction defect rate, Below Standard above it (Top Rated: 0.005)", _fraction, group=CHANNELS
    )
    limit_ebay_late_shipment_rate: float = _setting(
        "0.07", "eBay: late shipment rate (Top Rated: 0.03)", _fraction, group=CHANNELS
    )
    limit_ebay_cases_closed_rate: float = _setting(
        "0.003",
        "eBay: cases closed without the seller's resolution, Below Standard above it",
        _fraction,
        group=CHANNELS,
    )
    limit_ebay_tracking_on_time_rate: float = _setting(
        "0.95",
        "eBay: shipments confirmed on time with a tracking number, Top Rated at or above it",
        _fraction,
        group=CHANNELS,
    )
    limit_etsy_on_time_shipping_rate: float = _setting(
        "0.80", "Etsy: orders shipped by the ship-by date (Star Seller: 0.95)", _fraction, group=CHANNELS
    )
    limit_etsy_low_review_share: float = _setting(
        "0.10",
        "Etsy: reviews of 3 stars or less, missed at or above it (from ETSY_REVIEWS_FOR_SHARE reviews)",
        _fraction,
        group=CHANNELS,
    )
    limit_etsy_average_rating: float = _setting(
        "4.8", "Etsy: the average review rating, in stars (Star Seller: 4.8)", _stars, group=CHANNELS
    )
    min_etsy_low_reviews: int = _setting(
        "4",
        "Etsy: under ETSY_REVIEWS_FOR_SHARE reviews, at most this many of 3 stars or less",
        _count,
        group=CHANNELS,
    )
    etsy_reviews_for_share: int = _setting(
        "40", "Etsy: from this many reviews in the window, the share of low reviews counts", _count, group=CHANNELS
    )
    min_ebay_late_shipments: int = _setting(
        "7",
        "eBay: the late shipment rate counts against the seller only above this many (Top Rated: 5)",
        _count,
        group=CHANNELS,
    )
    min_ebay_defects: int = _setting(
        "4",
        "eBay: the defect rate counts against the seller only above this many defects (eBay: from 5 unique "
        "buyers; its figures give defects, at least as many as their buyers)",
        _count,
        group=CHANNELS,
    )
    min_ebay_cases: int = _setting(
        "2", "eBay: the cases-closed rate counts against the seller only above this many cases", _count, group=CHANNELS
    )
    window_walmart_days: int = _setting("30", "Walmart's window, in days", _window_days, group=CHANNELS)
    window_walmart_reviews_days: int = _setting(
        "60",
        "Walmart's window for negative feedback, returns and items not received, in days",
        _window_days,
        group=CHANNELS,
    )
    window_ebay_days: int = _setting(
        "90",
        "eBay's window, in days (3 months; below MIN_EBAY_TRANSACTIONS, WINDOW_EBAY_LOW_VOLUME_DAYS)",
        _window_days,
        group=CHANNELS,
    )
    window_ebay_low_volume_days: int = _setting(
        "365",
        "eBay's window when its usual one holds fewer than MIN_EBAY_TRANSACTIONS shipments, in days (12 months)",
        _long_window_days,
        group=CHANNELS,
    )
    min_ebay_transactions: int = _setting(
        "400",
        "eBay: below this many transactions in its usual window (3 months), it evaluates over 12 months "
        "(counted here: the metric's shipments in the window)",
        _count,
        group=CHANNELS,
    )
    window_etsy_days: int = _setting("90", "Etsy's window, in days (3 months)", _window_days, group=CHANNELS)
    lag_channel_days: int = _setting(
        "0", "how many days before the day the other channels' windows end", _days, group=CHANNELS
    )
    marketplace_timezones: tuple[tuple[str, str], ...] = _setting(
        "",
        "time zones that override Amazon's for date-only deadlines, e.g. amazon.com=America/New_York,...",
        _timezones,
        group=METRICS,
    )
    cr_unknown_initiator: str = _setting(
        "count",
        "count or ignore: cancellations whose initiator is unknown (count is the cautious reading)",
        _choice("count", "ignore"),
        group=METRICS,
    )
    alert_repeat_hours: int = _setting(
        "24", "re-send a still-firing alert after this many hours", _positive_int, group=ALERTS
    )
    alert_clear_margin: float = _setting(
        "0.1",
        "an alert clears only below (WARN_RATIO - this) of the allowance, so a metric at the line does not flap",
        _fraction,
        group=ALERTS,
    )
    stale_hours: int = _setting(
        "36",
        "an account whose newest order is this old is stale (judged on the data, not the import time)",
        _positive_int,
        group=ALERTS,
    )
    slack_webhook_url: str = _setting(
        "", "Slack incoming webhook URL; empty = Slack off", _http_url, secret=True, group=ALERTS
    )
    webhook_url: str = _setting(
        "",
        "generic JSON webhook: every alert is POSTed there as JSON; empty = off",
        _http_url,
        secret=True,
        group=ALERTS,
    )
    smtp_host: str = _setting("", "SMTP server for e-mail alerts; empty = e-mail off", group=ALERTS)
    smtp_port: int = _setting("587", "SMTP server port", _port, group=ALERTS)
    smtp_username: str = _setting("", "SMTP login user; empty = no login", group=ALERTS)
    smtp_password: str = _setting("", "SMTP login password", secret=True, group=ALERTS)
    smtp_security: str = _setting("starttls", "starttls, ssl or none", _choice("starttls", "ssl", "none"), group=ALERTS)
    smtp_ca_file: str = _setting(
        "", "CA bundle that signed the SMTP server's certificate; empty = the system's", group=ALERTS
    )
    alert_email_from: str = _setting("", "sender address of alert e-mails", _email, group=ALERTS)
    alert_email_to: tuple[str, ...] = _setting(
        "", "recipients of alert e-mails, comma-separated", _email_list, group=ALERTS
    )
    lease_seconds: float = _setting(
        "180",
        "PostgreSQL, several daemons: an account's lease lasts this long without its daemon's heartbeat "
        "(renewed every third of it); a dead daemon's accounts are taken over within two",
        _positive_number,
        group=DAEMON,
    )
    import_interval_minutes: float = _setting(
        "5", "inbox poll interval of the daemon, in minutes (fractions allowed)", _positive_number, group=DAEMON
    )
    inbox_settle_seconds: float = _setting(
        "10",
        "a file in the inbox modified more recently than this is still being written: it waits",
        _positive_number,
        group=DAEMON,
    )
    spapi_refresh_token: str = _setting(
        "", "Selling Partner API refresh token; empty = sync off", secret=True, group=SPAPI
    )
    spapi_client_id: str = _setting("", "Login-with-Amazon client id", group=SPAPI)
    spapi_client_secret: str = _setting("", "Login-with-Amazon client secret", secret=True, group=SPAPI)
    spapi_region: str = _setting("", "na, eu or fe", _choice("", "na", "eu", "fe"), group=SPAPI)
    spapi_marketplace_ids: tuple[str, ...] = _setting(
        "", "marketplace ids to sync, comma-separated", _csv_list, group=SPAPI
    )
    spapi_account: str = _setting(
        "", "account key the synced data is stored under; empty = DEFAULT_ACCOUNT", group=SPAPI
    )
    spapi_accounts_file: str = _setting(
        "",
        "TOML file listing several seller accounts to sync (see the README); empty = the single account above",
        group=SPAPI,
    )
    sync_interval_minutes: float = _setting(
        "60", "how often the daemon syncs with the Selling Partner API", _positive_number, group=SPAPI
    )
    sync_concurrency: int = _setting(
        "8", "how many seller accounts are synced at the same time", _positive_int, group=SPAPI
    )
    spapi_report_timeout_minutes: float = _setting(
        "30", "give up on a report still queued or in progress after this long", _positive_number, group=SPAPI
    )
    spapi_endpoint: str = _setting(
        "", "Selling Partner API base URL; empty = Amazon's for SPAPI_REGION", _http_url, group=SPAPI
    )
    lwa_token_url: str = _setting("", "Login-with-Amazon token URL; empty = Amazon's", _http_url, group=SPAPI)
    walmart_client_id: str = _setting(
        "", "Walmart Marketplace API client id: its Insights summaries are pulled at each sync", group=SPAPI
    )
    walmart_client_secret: str = _setting(
        "", "Walmart Marketplace API client secret; empty = no Walmart pull", secret=True, group=SPAPI
    )
    walmart_account: str = _setting(
        "", "account key Walmart's figures are stored under; empty = DEFAULT_ACCOUNT", group=SPAPI
    )
    walmart_endpoint: str = _setting("", "Walmart Marketplace API base URL; empty = Walmart's", _http_url, group=SPAPI)
    ebay_client_id: str = _setting(
        "", "eBay application's client id: its seller standards profile is pulled at each sync", group=SPAPI
    )
    ebay_client_secret: str = _setting("", "eBay application's client secret", secret=True, group=SPAPI)
    ebay_refresh_token: str = _setting(
        "",
        "the seller's eBay refresh token (scope sell.analytics.readonly); empty = no eBay pull",
        secret=True,
        group=SPAPI,
    )
    ebay_account: str = _setting(
        "", "account key eBay's figures are stored under; empty = DEFAULT_ACCOUNT", group=SPAPI
    )
    ebay_endpoint: str = _setting("", "eBay API base URL; empty = eBay's", _http_url, group=SPAPI)
    ebay_token_url: str = _setting("", "eBay OAuth token URL; empty = eBay's", _http_url, group=SPAPI)
    etsy_api_key: str = _setting(
        "",
        "Etsy Open API key (x-api-key: keystring, or keystring:shared_secret): the shop's reviews are pulled at "
        "each sync; empty = no Etsy pull",
        secret=True,
        group=SPAPI,
    )
    etsy_shop_id: str = _setting("", "the Etsy shop's numeric id (its reviews are pulled)", group=SPAPI)
    etsy_account: str = _setting(
        "", "account key Etsy's reviews are stored under; empty = DEFAULT_ACCOUNT", group=SPAPI
    )
    etsy_endpoint: str = _setting("", "Etsy Open API base URL; empty = Etsy's", _http_url, group=SPAPI)

    def secrets(self) -> list[str]:
        """The values of every secret setting (to keep them out of logs and stored errors)."""
        return [
            value for s in SETTINGS if s.secret and isinstance(value := getattr(self, s.name.lower()), str) and value
        ]


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        f.name.upper(),
        f.metadata["default"],
        f.metadata["help"],
        f.metadata["parse"],
        f.metadata["secret"],
        f.metadata["group"],
    )
    for f in fields(Settings)
    if f.default is not MISSING
)


def _raw_value(setting: Setting, env: Mapping[str, str | None], file_values: Mapping[str, str | None]) -> str:
    for source in (env, file_values):
        value = source.get(setting.name)
        if value is not None:
            return value
        path = source.get(f"{setting.name}_FILE")
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{setting.name}_FILE: cannot read {path}: {exc.strerror}") from None
    return setting.default


def _env_file(env_file: str | Path | None) -> Mapping[str, str | None]:
    from dotenv import dotenv_values

    if env_file is not None:
        path = Path(env_file)
        if not path.is_file():
            raise ConfigError(f"--env-file: {path} does not exist")
        return dotenv_values(path)
    return dotenv_values(".env") if Path(".env").is_file() else {}


def unknown_keys(file_values: Mapping[str, str | None]) -> list[str]:
    """One line per key of a settings file that is no setting: a misspelled name is otherwise
    ignored without a word. Names close to a setting say which one was probably meant."""
    known = {s.name for s in SETTINGS} | {f"{s.name}_FILE" for s in SETTINGS}
    lines = []
    for key in file_values:
        if key in known:
            continue
        close = difflib.get_close_matches(key.upper(), sorted(known), n=1, cutoff=0.75)
        if close:
            lines.append(f"settings file: unknown setting {key} ignored (did you mean {close[0]}?)")
        elif key.isupper():
            lines.append(f"settings file: unknown setting {key} ignored (see config.example.env for the names)")
    return lines


def load_settings(env_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Build validated Settings from the environment and an optional .env file (its unknown keys
    are warned about, one line each)."""
    environ = os.environ if environ is None else environ
    file_values = _env_file(env_file)
    for line in unknown_keys(file_values):
        log.warning("%s", line)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = _raw_value(setting, environ, file_values)
        try:
            values[setting.name.lower()] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.name}: {exc}") from None
    return Settings(**values)


def with_values(settings: Settings, **changes: str) -> Settings:
    """A copy of `settings` with some settings given as the text a user would write."""
    by_name = {s.name.lower(): s for s in SETTINGS}
    parsed = {}
    for name, raw in changes.items():
        try:
            parsed[name] = by_name[name].parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name.upper()}: {exc}") from None
    from dataclasses import replace

    return replace(settings, **parsed)


def example_env() -> str:
    """The text of config.example.env, generated from the registry."""
    lines = [
        "# account-health-monitor settings. Copy to .env and edit; real environment",
        "# variables win over this file. A secret may also be given as NAME_FILE=/path.",
        "# Generated from monitor/config.py (Settings); a test keeps the two in step.",
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


README_TABLE_START = "<!-- settings table: generated by `make config-example` -->"
README_TABLE_END = "<!-- end of settings table -->"


def readme_with_table(readme: str) -> str:
    """The README with its settings table replaced by the registry's."""
    start = readme.index(README_TABLE_START) + len(README_TABLE_START)
    end = readme.index(README_TABLE_END)
    return readme[:start] + "\n" + settings_table() + "\n" + readme[end:]
