"""Selling Partner API sync against a loopback fake that serves Amazon's own sandbox responses."""

from __future__ import annotations

import gzip
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select

from monitor.config import load_settings
from monitor.models import Order, PerformanceReport, SyncCursor
from monitor.monitor import Monitor
from monitor.spapi.client import TokenBucket
from monitor.spapi.sync import map_order
from tests.fakes import reply


class FakeSpApi:
    """Token endpoint, searchOrders (two pages of sandbox orders), the Reports API, and downloads."""

    def __init__(self, reference) -> None:
        sandbox = json.loads(
            (reference / "amazon" / "orders_2026-01-01__sandbox_static_200_responses.json").read_text()
        )
        self.pages = [example["response"] for example in sandbox["searchOrders"]]
        self.performance = (
            reference / "amazon" / "transcribed__GET_V2_SELLER_PERFORMANCE_REPORT_DE_excerpt.json"
        ).read_bytes()
        self.calls: Counter[str] = Counter()
        self.tokens_issued = 0
        self.valid_token: str | None = None
        self.throttle_first_search = True
        self.expire_token_once = True
        self.feedback_fatal = True
        self.report_polls: Counter[str] = Counter()
        self.seen_params: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes | dict, content_type: str = "application/json") -> None:
                reply(self, status, body, content_type)

            def _authorised(self) -> bool:
                if self.headers.get("x-amz-access-token") != outer.valid_token:
                    self._send(
                        403,
                        {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]},
                    )
                    return False
                return True

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                path = urlparse(self.path).path
                if path == "/auth/o2/token":
                    form = parse_qs(body.decode())
                    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["Atzr|refresh"]
                    outer.tokens_issued += 1
                    outer.valid_token = f"Atza|token-{outer.tokens_issued}"
                    outer.calls["token"] += 1
                    return self._send(
                        200, {"access_token": outer.valid_token, "token_type": "bearer", "expires_in": 3600}
                    )
                if not self._authorised():
                    return None
                if path == "/reports/2021-06-30/reports":
                    report_type = json.loads(body)["reportType"]
                    outer.calls["createReport"] += 1
                    return self._send(202, {"reportId": report_type})
                return self._send(404, {"errors": [{"code": "NotFound"}]})

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path.startswith("/download/"):
                    outer.calls["download"] += 1
                    return self._send(200, gzip.compress(outer.performance), "application/octet-stream")
                if outer.expire_token_once and url.path == "/orders/2026-01-01/orders":
                    outer.expire_token_once = False
                    outer.valid_token = "expired"  # the cached token has just expired on Amazon's side
                if not self._authorised():
                    return None
                if url.path == "/orders/2026-01-01/orders":
                    outer.calls["searchOrders"] += 1
                    outer.seen_params.append(query)
                    if outer.throttle_first_search:
                        outer.throttle_first_search = False
                        return self._send(429, {"errors": [{"code": "QuotaExceeded"}]})
                    page = outer.pages[1] if query.get("paginationToken") else outer.pages[0]
                    return self._send(200, page)
                if url.path.startswith("/reports/2021-06-30/reports/"):
                    report_id = url.path.rsplit("/", 1)[1]
                    outer.report_polls[report_id] += 1
                    if report_id == "GET_SELLER_FEEDBACK_DATA" and outer.feedback_fatal:
                        return self._send(200, {"reportId": report_id, "processingStatus": "FATAL"})
                    if outer.report_polls[report_id] < 3:
                        return self._send(200, {"reportId": report_id, "processingStatus": "IN_PROGRESS"})
                    return self._send(
                        200, {"reportId": report_id, "processingStatus": "DONE", "reportDocumentId": f"doc-{report_id}"}
                    )
                if url.path.startswith("/reports/2021-06-30/documents/"):
                    doc = url.path.rsplit("/", 1)[1]
                    return self._send(
                        200,
                        {
                            "reportDocumentId": doc,
                            "compressionAlgorithm": "GZIP",
                            "url": f"http://127.0.0.1:{outer.port}/download/{doc}",
                        },
                    )
                return self._send(404, {"errors": [{"code": "NotFound"}]})

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake(reference):
    server = FakeSpApi(reference)
    yield server
    server.close()


def spapi_settings(tmp_path, fake, **extra):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "INBOX_DIR": str(tmp_path / "inbox"),
        "SPAPI_REFRESH_TOKEN": "Atzr|refresh",
        "SPAPI_CLIENT_ID": "amzn1.application-oa2-client.x",
        "SPAPI_CLIENT_SECRET": "client-secret-value",
        "SPAPI_MARKETPLACE_IDS": "A1VC38T7YXB528",
        "SPAPI_ACCOUNT": "jp-shop",
        "SPAPI_ENDPOINT": f"http://127.0.0.1:{fake.port}",
        "LWA_TOKEN_URL": f"http://127.0.0.1:{fake.port}/auth/o2/token",
        **extra,
    }
    settings = load_settings(environ=env)
    Monitor.init_database(settings)
    return settings


def run_sync(settings, sleep):
    with Monitor.open(settings, sleep=sleep) as monitor:
        return monitor.sync()


def test_sync_pulls_orders_with_pagination_and_reports_through_the_importers(tmp_path, fake):
    waits: list[float] = []
    settings = spapi_settings(tmp_path, fake)
    (result,) = run_sync(settings, waits.append).accounts  # back-off and polling recorded, not waited
    # the first searchOrders answered 403 (token expired): one refresh; then 429: backed off and retried;
    # then the two pages
    assert fake.tokens_issued == 2 and fake.calls["searchOrders"] == 3
    assert 1.0 in waits  # the 429's back-off
    assert fake.seen_params[-1]["paginationToken"] == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    assert fake.seen_params[0]["includedData"] == "FULFILLMENT,PACKAGES,CANCELLATION,PROCEEDS"
    assert result.orders == 2
    assert any("GET_SELLER_FEEDBACK_DATA report GET_SELLER_FEEDBACK_DATA ended FATAL" in e for e in result.errors)
    assert fake.report_polls["GET_SELLER_FEEDBACK_DATA"] == 1  # FATAL is final: not polled again
    assert fake.calls["download"] == 1
    with Monitor.open(settings) as monitor, monitor.sessions() as session:
        orders = {o.order_id: o for o in session.scalars(select(Order))}
        assert set(orders) == {"250-1234567-8901234", "202-7654321-1098765"}
        uk = orders["202-7654321-1098765"]
        assert (uk.fulfillment_channel, uk.carrier, uk.tracking_id) == ("MFN", "DPD", "15501234567890123456")
        assert uk.shipped_at.isoformat() == "2024-12-25T14:00:00+00:00"
        assert uk.latest_ship_date.isoformat() == "2024-12-25T23:59:59+00:00"
        assert uk.latest_delivery_date.isoformat() == "2024-12-28T23:59:59+00:00"
        jp = orders["250-1234567-8901234"]
        assert (jp.fulfillment_channel, jp.quantity, jp.order_total, jp.currency) == ("AFN", 3, 19940.0, "JPY")
        cursor = session.scalars(select(SyncCursor)).one()
        assert cursor.cursor.isoformat() == "2024-12-25T06:45:00+00:00"
        report = session.scalars(select(PerformanceReport)).one()
        assert report.ahr_score == 428
    # the next sync starts at the cursor
    run_sync(settings, waits.append)
    assert fake.seen_params[-2]["lastUpdatedAfter"] == "2024-12-25T06:45:00Z"


def test_a_report_stuck_in_progress_times_out_with_a_clear_message(tmp_path, fake):
    from monitor.spapi import sync as sync_module

    clock = {"now": 0.0}

    def sleep(seconds):
        clock["now"] += seconds

    settings = spapi_settings(tmp_path, fake, SPAPI_REPORT_TIMEOUT_MINUTES="1")
    fake.report_polls["GET_V2_SELLER_PERFORMANCE_REPORT"] = -10_000  # never gets to DONE
    (account,) = sync_module.sync_accounts(settings)
    with httpx.Client() as http:
        client = sync_module.make_client(settings, account, http, sleep=sleep, clock=lambda: clock["now"])
        with pytest.raises(sync_module.SpApiError, match="still IN_PROGRESS after 60 s"):
            sync_module.fetch_report(
                client, "GET_V2_SELLER_PERFORMANCE_REPORT", ("A1",), 60, sleep, lambda: clock["now"]
            )


def test_token_bucket_keeps_each_operations_rate():
    clock = {"now": 0.0}
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        clock["now"] += seconds

    bucket = TokenBucket(rate=0.5, burst=2, clock=lambda: clock["now"], sleep=sleep)
    for _ in range(5):
        bucket.take()
    assert waits == [2.0, 2.0, 2.0]  # a burst of 2, then one call every 2 seconds


def test_sync_is_off_without_credentials(tmp_path):
    settings = load_settings(environ={"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"})
    Monitor.init_database(settings)
    with Monitor.open(settings) as monitor:
        assert monitor.sync().off
        assert "off" in monitor.status().sync


def test_order_mapping_reads_cancellations_and_packages():
    row = map_order(
        {
            "orderId": "1",
            "createdTime": "2026-01-01T00:00:00Z",
            "fulfillment": {"fulfillmentStatus": "CANCELLED", "fulfilledBy": "MERCHANT"},
            "orderItems": [
                {
                    "quantityOrdered": 2,
                    "product": {"sellerSku": "A"},
                    "cancellation": {"cancellationExecution": {"cancelledBy": "MERCHANT"}},
                }
            ],
        }
    )
    assert (row["order_status"], row["cancelled_by"], row["quantity"], row["sku"]) == ("Canceled", "seller", "2", "A")


def test_the_daemon_cycle_syncs_when_credentials_are_set(tmp_path, fake):
    import os
    import subprocess
    import sys
    from pathlib import Path

    settings = spapi_settings(tmp_path, fake)
    fake.report_polls.update({"GET_V2_SELLER_PERFORMANCE_REPORT": 10})  # ready at the first poll
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "INBOX_DIR": str(tmp_path / "inbox"),
        "REPORTS_DIR": str(tmp_path / "reports"),
        "SPAPI_REFRESH_TOKEN": "Atzr|refresh",
        "SPAPI_CLIENT_ID": "amzn1.application-oa2-client.x",
        "SPAPI_CLIENT_SECRET": "client-secret-value",
        "SPAPI_MARKETPLACE_IDS": "A1VC38T7YXB528",
        "SPAPI_ACCOUNT": "jp-shop",
        "SPAPI_ENDPOINT": f"http://127.0.0.1:{fake.port}",
        "LWA_TOKEN_URL": f"http://127.0.0.1:{fake.port}/auth/o2/token",
    }
    exe = str(Path(sys.executable).parent / "account-health")
    done = subprocess.run([exe, "run", "--once"], env=env, capture_output=True, text=True, timeout=120)
    # the feedback report failed: the step says so, and one run exits 1 (the orders were still pulled)
    assert done.returncode == 1, done.stderr
    assert "sync: 1 accounts, 2 orders pulled, 1 errors (first: GET_SELLER_FEEDBACK_DATA report" in done.stdout
    assert "client-secret-value" not in done.stdout + done.stderr and "Atzr|refresh" not in done.stdout + done.stderr
    status = subprocess.run([exe, "status", "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(status.stdout)["sync"] == "on"
