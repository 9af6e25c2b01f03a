"""Pulling orders and reports from the Selling Partner API into the same importers as files.

Orders: the 2026-01-01 Orders API `searchOrders`, incrementally by last-update
time with a cursor per account and marketplace, following `nextToken`. It is
chosen over v0 `getOrders` + `getOrderItems` because one call returns what the
metrics need (ship-by and deliver-by windows, packages with ship time, carrier
and tracking, item cancellations with who cancelled) without a second call per
order, at one request per 180 s with a burst of 20.

Reports: createReport, getReport polled with back-off, getReportDocument, the
download (GZIP when `compressionAlgorithm` says so), then the file importer.

A fleet is synced pipelined (`sync_fleet`): every account's orders are pulled and its reports
requested first, up to SYNC_CONCURRENCY accounts at a time, then all pending reports of all
accounts are polled together and each document is imported as soon as it is ready, so a cycle
takes about one report latency, not one per account.
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
import threading
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor import accounts
from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.ingest import ImportResult, import_file
from monitor.ingest.importer import ReportContext
from monitor.models import SyncCursor
from monitor.slugs import slug
from monitor.spapi.client import ENDPOINTS, LWA_TOKEN_URL, Credentials, SpApiClient, SpApiError
from monitor.timeutil import parse_timestamp, utcnow

log = logging.getLogger(__name__)

ORDERS_PATH = "/orders/2026-01-01/orders"
REPORTS_PATH = "/reports/2021-06-30"
FIRST_SYNC_DAYS = 60  # the ODR window: how far back a first sync reaches
FEEDBACK_REPORT = "GET_SELLER_FEEDBACK_DATA"
REPORT_TYPES = (FEEDBACK_REPORT, "GET_V2_SELLER_PERFORMANCE_REPORT")
FEEDBACK_DAYS = 90  # the period each feedback report is asked for, and replaces
CHANNELS = {"AMAZON": "AFN", "MERCHANT": "MFN"}
STATUSES = {
    "PENDING_AVAILABILITY": "PendingAvailability",
    "PENDING": "Pending",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}
CANCELLERS = {"BUYER": "buyer", "MERCHANT": "seller", "SELLER": "seller", "AMAZON": "amazon"}
COLUMNS = [
    "order_id",
    "purchase_date",
    "fulfillment_channel",
    "order_status",
    "marketplace",
    "latest_ship_date",
    "shipped_at",
    "cancelled_by",
    "buyer_requested_cancel",
    "sales_channel",
    "tracking_id",
    "carrier",
    "ship_service_level",
    "latest_delivery_date",
    "sku",
    "asin",
    "product_name",
    "quantity",
    "order_total",
    "currency",
]


@dataclass(frozen=True)
class SpApiAccount:
    key: str
    region: str
    marketplace_ids: tuple[str, ...]
    refresh_token: str = field(repr=False)


def sync_accounts(settings: Settings) -> list[SpApiAccount]:
    """The accounts to sync: SPAPI_ACCOUNTS_FILE (several), or the single one of the settings."""
    if settings.spapi_accounts_file:
        return _accounts_file(Path(settings.spapi_accounts_file), settings)
    if not settings.spapi_refresh_token:
        return []
    return [
        SpApiAccount(
            settings.spapi_account or settings.default_account,
            settings.spapi_region or "na",
            tuple(settings.spapi_marketplace_ids),
            settings.spapi_refresh_token,
        )
    ]


def synced_accounts(settings: Settings) -> list[str]:
    """The keys of every account a sync brings data to: the Selling Partner API's, and those other
    marketplaces' own figures go to (empty: nothing to sync)."""
    from monitor.spapi.channels import configured

    keys = [target.key for target in sync_accounts(settings)]
    for channel in configured(settings):
        key = getattr(settings, f"{channel}_account") or settings.default_account
        if key not in keys:
            keys.append(key)
    return keys


def _accounts_file(path: Path, settings: Settings) -> list[SpApiAccount]:
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"SPAPI_ACCOUNTS_FILE: cannot read {path}: {exc}") from None
    accounts = []
    for n, entry in enumerate(spec.get("account", []), 1):
        name = entry.get("refresh_token_env", "")
        token = os.environ.get(name, "") if name else ""
        if not entry.get("key") or not entry.get("marketplace_ids") or not token:
            raise ConfigError(
                f"SPAPI_ACCOUNTS_FILE: account #{n} needs key, marketplace_ids and refresh_token_env "
                "naming an environment variable that holds its refresh token"
            )
        accounts.append(
            SpApiAccount(
                entry["key"], entry.get("region", settings.spapi_region or "na"), tuple(entry["marketplace_ids"]), token
            )
        )
    return accounts


def make_client(settings: Settings, account: SpApiAccount, http, sleep=time.sleep, clock=time.monotonic) -> SpApiClient:
    if not (settings.spapi_client_id and settings.spapi_client_secret):
        raise ConfigError("SPAPI_CLIENT_ID and SPAPI_CLIENT_SECRET are needed for the Selling Partner API")
    endpoint = settings.spapi_endpoint or ENDPOINTS[account.region]
    return SpApiClient(
        http,
        Credentials(account.refresh_token, settings.spapi_client_id, settings.spapi_client_secret),
        endpoint,
        settings.lwa_token_url or LWA_TOKEN_URL,
        sleep,
        clock,
    )


# ------------------------------------------------------------------ orders
def map_order(order: dict[str, Any]) -> dict[str, str]:
    """One searchOrders order as a canonical orders row (strings; empty = not given)."""
    fulfillment = order.get("fulfillment") or {}
    packages = order.get("packages") or []
    items = order.get("orderItems") or []
    ship_times = sorted(p["shipTime"] for p in packages if p.get("shipTime"))
    cancelled_by, buyer_requested = "", ""
    for item in items:
        execution = ((item.get("cancellation") or {}).get("cancellationExecution") or {}).get("cancelledBy")
        requester = ((item.get("cancellation") or {}).get("cancellationRequest") or {}).get("requester")
        # who asked wins over who carried it out: a buyer's request the seller executed is the buyer's
        cancelled_by = cancelled_by or CANCELLERS.get(str(requester or execution or "").upper(), "")
        if str(requester or "").upper() == "BUYER":
            buyer_requested = "true"
    total = (order.get("proceeds") or {}).get("grandTotal") or {}
    products = [i.get("product") or {} for i in items]
    first = packages[0] if packages else {}
    return {
        "order_id": order["orderId"],
        "purchase_date": order.get("createdTime", ""),
        "fulfillment_channel": CHANNELS.get(str(fulfillment.get("fulfilledBy", "")).upper(), ""),
        "order_status": STATUSES.get(str(fulfillment.get("fulfillmentStatus", "")).upper(), ""),
        "marketplace": (order.get("salesChannel") or {}).get("marketplaceId", ""),
        "latest_ship_date": (fulfillment.get("shipByWindow") or {}).get("latestDateTime", ""),
        "shipped_at": ship_times[0] if ship_times else "",
        "cancelled_by": cancelled_by,
        "buyer_requested_cancel": buyer_requested,
        "sales_channel": "Non-Amazon"
        if str((order.get("salesChannel") or {}).get("channelName", "")).upper() == "NON_AMAZON"
        else "",
        "tracking_id": first.get("trackingNumber", ""),
        "carrier": first.get("carrier", ""),
        "ship_service_level": fulfillment.get("fulfillmentServiceLevel", ""),
        "latest_delivery_date": (fulfillment.get("deliverByWindow") or {}).get("latestDateTime", ""),
        "sku": ", ".join(p["sellerSku"] for p in products if p.get("sellerSku")),
        "asin": ", ".join(p["asin"] for p in products if p.get("asin")),
        "product_name": ", ".join(p["title"] for p in products if p.get("title"))[:2000],
        "quantity": str(sum(int(i.get("quantityOrdered") or 0) for i in items)) if items else "",
        "order_total": str(total.get("amount", "")),
        "currency": total.get("currencyCode", ""),
    }


@dataclass
class SyncResult:
    account: str
    imports: list[ImportResult] = field(default_factory=list)
    orders: int = 0
    errors: list[str] = field(default_factory=list)


def sync_orders(
    client: SpApiClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    account: SpApiAccount,
    marketplace: str,
    folder: Path,
) -> tuple[int, ImportResult | None]:
    """New and changed orders since the stored cursor, imported; the cursor moves on."""
    with sessions.begin() as session:
        account_id = accounts.account_id(session, account.key)
        cursor_row = session.scalar(
            select(SyncCursor).where(
                SyncCursor.account_id == account_id,
                SyncCursor.marketplace_id == marketplace,
                SyncCursor.kind == "orders",
            )
        )
        since = cursor_row.cursor if cursor_row else utcnow() - timedelta(days=FIRST_SYNC_DAYS)
    params: dict[str, Any] = {
        "marketplaceIds": marketplace,
        "lastUpdatedAfter": _iso(since),
        "includedData": "FULFILLMENT,PACKAGES,CANCELLATION,PROCEEDS",
        "maxResultsPerPage": 100,
    }
    orders: list[dict[str, Any]] = []
    while True:
        body = client.call("searchOrders", "GET", ORDERS_PATH, params=params)
        orders += body.get("orders") or []
        token = (body.get("pagination") or {}).get("nextToken")
        if not token:
            break
        params = {**params, "paginationToken": token}
    if not orders:
        return 0, None
    path = folder / f"spapi-orders-{slug(account.key)}-{marketplace}-{utcnow():%Y%m%dT%H%M%S%f}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(map_order(o) for o in orders)
    result = import_file(sessions, path, settings, account=account.key, forced_format="orders")
    path.unlink()
    if result.status != "rejected":
        newest = max(parse_timestamp(o["lastUpdatedTime"]) for o in orders if o.get("lastUpdatedTime"))
        with sessions.begin() as session:
            row = session.scalar(
                select(SyncCursor).where(
                    SyncCursor.account_id == account_id,
                    SyncCursor.marketplace_id == marketplace,
                    SyncCursor.kind == "orders",
                )
            )
            if row is None:
                session.add(
                    SyncCursor(
                        account_id=account_id,
                        marketplace_id=marketplace,
                        kind="orders",
                        cursor=newest,
                        updated_at=utcnow(),
                    )
                )
            else:
                row.cursor, row.updated_at = max(row.cursor, newest), utcnow()
    return len(orders), result


# ------------------------------------------------------------------ reports
@dataclass(frozen=True)
class Fetched:
    data: bytes
    created_at: datetime | None


def fetch_report(
    client: SpApiClient,
    report_type: str,
    marketplaces: tuple[str, ...],
    timeout_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    period: tuple[datetime, datetime] | None = None,
) -> Fetched:
    """Request a report (for `period` when given), wait for it, download it (decompressed)."""
    report_id = request_report(client, report_type, marketplaces, period)
    started, wait = clock(), 5.0
    while True:
        report = client.call("getReport", "GET", f"{REPORTS_PATH}/reports/{report_id}")
        status = report.get("processingStatus")
        if status == "DONE":
            break
        if status in ("FATAL", "CANCELLED"):
            raise SpApiError(f"{report_type} report {report_id} ended {status}; Amazon produced no document")
        if clock() - started > timeout_seconds:
            raise SpApiError(
                f"{report_type} report {report_id} still {status} after {timeout_seconds:.0f} s; "
                "gave up (it will be requested again on the next sync)"
            )
        sleep(wait)
        wait = min(wait * 1.5, 60.0)
    return download_report(client, report)


def _time(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None


# ------------------------------------------------------------------ the fleet, pipelined
@dataclass
class PendingReport:
    """A report requested from Amazon and not yet ready."""

    account: SpApiAccount
    client: SpApiClient
    report_type: str
    marketplace: str
    report_id: str
    period: tuple[datetime, datetime] | None
    requested_at: datetime
    started: float  # the clock when it was requested


@dataclass
class FleetSync:
    """What one pipelined sync of every account did."""

    results: dict[str, SyncResult] = field(default_factory=dict)
    reports_requested: int = 0
    polls: int = 0
    rounds: int = 0


def sync_fleet(
    targets: list[SpApiAccount],
    client_for: Callable[[SpApiAccount], SpApiClient],
    sessions: sessionmaker[Session],
    settings: Settings,
    folder: Path,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    concurrency: int = 8,
) -> FleetSync:
    """Every account's orders and reports, pipelined: each account's orders are pulled and its
    reports requested (up to `concurrency` accounts at a time), then every pending report of every
    account is polled together, round after round, each document imported as soon as it is ready.

    Each account has its own client, so its token buckets are its own (Amazon meters each selling
    partner alone), and one account's client is only ever used by one thread at a time. A failure
    of one account (a refused token, an API error, a report that never finishes) is recorded in its
    result and never holds up the others. Imports are serialised (one writer for SQLite)."""
    folder.mkdir(parents=True, exist_ok=True)
    fleet = FleetSync({t.key: SyncResult(t.key) for t in targets})
    writer = threading.Lock()
    clients = {t.key: client_for(t) for t in targets}  # a configuration error stops the sync here, for all

    def start(target: SpApiAccount) -> list[PendingReport]:
        result = fleet.results[target.key]
        try:
            client = clients[target.key]
            for marketplace in target.marketplace_ids:
                try:
                    with writer:
                        count, imported = sync_orders(client, sessions, settings, target, marketplace, folder)
                    result.orders += count
                    if imported:
                        result.imports.append(imported)
                except SpApiError as exc:
                    result.errors.append(str(exc))
            pending = []
            for report_type in REPORT_TYPES:
                for marketplace in target.marketplace_ids:  # Amazon reports each marketplace alone
                    now = utcnow()
                    period = (now - timedelta(days=FEEDBACK_DAYS), now) if report_type == FEEDBACK_REPORT else None
                    try:
                        report_id = request_report(client, report_type, (marketplace,), period)
                    except SpApiError as exc:
                        result.errors.append(str(exc))
                        continue
                    pending.append(
                        PendingReport(target, client, report_type, marketplace, report_id, period, now, clock())
                    )
            return pending
        except Exception as exc:  # noqa: BLE001 (one account's failure, whatever it is, stays its own)
            result.errors.append(f"sync failed: {exc}")
            log.warning("sync of %s failed", target.key, exc_info=True)
            return []

    def poll(reports: list[PendingReport]) -> list[PendingReport]:
        """One round for one account's pending reports; returns those still pending."""
        still = []
        for report in reports:
            result = fleet.results[report.account.key]
            try:
                state = report.client.call("getReport", "GET", f"{REPORTS_PATH}/reports/{report.report_id}")
                status = state.get("processingStatus")
                if status == "DONE":
                    fetched = download_report(report.client, state)
                    _import_report(sessions, settings, folder, report, fetched, result, writer)
                elif status in ("FATAL", "CANCELLED"):
                    result.errors.append(
                        f"{report.report_type} report {report.report_id} ended {status}; Amazon produced no document"
                    )
                elif clock() - report.started > settings.spapi_report_timeout_minutes * 60:
                    result.errors.append(
                        f"{report.report_type} report {report.report_id} still {status} after "
                        f"{settings.spapi_report_timeout_minutes * 60:.0f} s; gave up (it will be requested again "
                        "on the next sync)"
                    )
                else:
                    still.append(report)
            except Exception as exc:  # noqa: BLE001 (one report's failure stays its own)
                result.errors.append(str(exc) if isinstance(exc, SpApiError) else f"sync failed: {exc}")
        return still

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sync") as pool:
        pending = [p for found in pool.map(start, targets) for p in found]
        fleet.reports_requested = len(pending)
        wait = 5.0
        while pending:
            sleep(wait)  # Amazon takes its time: one wait for every pending report of every account
            wait = min(wait * 1.5, 60.0)
            fleet.rounds += 1
            fleet.polls += len(pending)
            by_account: dict[str, list[PendingReport]] = {}
            for report in pending:
                by_account.setdefault(report.account.key, []).append(report)
            pending = [p for still in pool.map(poll, by_account.values()) for p in still]
    return fleet


def request_report(
    client: SpApiClient, report_type: str, marketplaces: tuple[str, ...], period: tuple[datetime, datetime] | None
) -> str:
    """createReport; returns the report id."""
    request: dict[str, Any] = {"reportType": report_type, "marketplaceIds": list(marketplaces)}
    if period is not None:
        request.update(dataStartTime=_iso(period[0]), dataEndTime=_iso(period[1]))
    return str(client.call("createReport", "POST", f"{REPORTS_PATH}/reports", json=request)["reportId"])


def download_report(client: SpApiClient, report: dict[str, Any]) -> Fetched:
    """A finished report's document, decompressed."""
    document = client.call("getReportDocument", "GET", f"{REPORTS_PATH}/documents/{report['reportDocumentId']}")
    data = client.download(document["url"])
    if str(document.get("compressionAlgorithm", "")).upper() == "GZIP":
        data = gzip.decompress(data)
    return Fetched(data, _time(report.get("createdTime")))


def _import_report(
    sessions: sessionmaker[Session],
    settings: Settings,
    folder: Path,
    report: PendingReport,
    fetched: Fetched,
    result: SyncResult,
    writer: threading.Lock,
) -> None:
    suffix = "json" if report.report_type.startswith("GET_V2") else "txt"
    stamp = f"{report.requested_at:%Y%m%dT%H%M%S%f}"
    path = folder / f"spapi-{report.report_type}-{slug(report.account.key)}-{report.marketplace}-{stamp}.{suffix}"
    path.write_bytes(fetched.data)
    try:
        with writer:
            imported = import_file(
                sessions,
                path,
                settings,
                account=report.account.key,
                context=ReportContext(report.period, fetched.created_at),
            )
        result.imports.append(imported)
    finally:
        path.unlink(missing_ok=True)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
