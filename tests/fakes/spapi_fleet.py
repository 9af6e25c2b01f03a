"""A loopback fake of the Selling Partner API for many sellers at once, on a compressed clock.

Every seller has its own refresh token, orders and reports; a report is DONE `latency` seconds
(of the fake's clock) after it was requested; each seller's calls are metered by Amazon's
documented rate limits, per operation, and a call over the limit is answered 429 and counted.
The clock runs `speed` times faster than real time (a 60-second report latency at speed 100
passes in 0.6 s): the monitor under test gets the same clock and sleep."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from monitor.spapi.client import RATE_LIMITS
from tests.fakes import reply

FEEDBACK = "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email\n"


class CompressedClock:
    """monotonic() and sleep() on a clock `speed` times faster than real time (thread-safe: it is
    real time, scaled)."""

    def __init__(self, speed: float) -> None:
        self.speed, self.start = speed, time.monotonic()

    def monotonic(self) -> float:
        return (time.monotonic() - self.start) * self.speed

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0) / self.speed)


class SkippingClock:
    """Real time plus every wait skipped: sleep() returns at once and moves the clock on (waits of
    threads running at the same time add up, so the figure errs long, never short). What the
    monitor really computes counts in real time; what it waits for costs nothing."""

    def __init__(self) -> None:
        self.start, self.skipped = time.monotonic(), 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return time.monotonic() - self.start + self.skipped

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.skipped += max(seconds, 0)


def performance_report(marketplace: str) -> bytes:
    """A minimal GET_V2_SELLER_PERFORMANCE_REPORT document (the shape of Amazon's)."""
    return json.dumps(
        {
            "accountStatuses": [{"status": "NORMAL", "marketplaceId": marketplace}],
            "performanceMetrics": [{"marketplaceId": marketplace, "warningStates": []}],
        }
    ).encode()


class FleetFake:
    def __init__(
        self,
        sellers: int,
        latency: float,
        clock: CompressedClock | SkippingClock,
        bad_tokens: set[int] = frozenset(),
        marketplaces: tuple[str, ...] = ("ATVPDKIKX0DER",),
    ):
        self.clock, self.latency, self.bad_tokens = clock, latency, set(bad_tokens)
        self.marketplaces = marketplaces  # every seller's
        self.sellers = sellers
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()  # (seller, operation) over its limit
        self.reports: dict[str, tuple[float, str, str]] = {}  # id -> (ready at, type, marketplace)
        self.in_flight = 0
        self.max_in_flight = 0  # sellers being served at the same moment
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], list[float]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: bytes | dict, content_type: str = "application/json") -> None:
                reply(self, status, body, content_type)

            def _seller(self) -> str | None:
                token = self.headers.get("x-amz-access-token", "")
                return token.removeprefix("Atza|") if token.startswith("Atza|") else None

            def _metered(self, seller: str, operation: str) -> bool:
                if outer.take(seller, operation):
                    return True
                self._send(429, {"errors": [{"code": "QuotaExceeded"}]})
                return False

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path = urlparse(self.path).path
                if path == "/auth/o2/token":
                    token = parse_qs(body.decode())["refresh_token"][0]
                    number = int(token.rsplit("-", 1)[1])
                    if number in outer.bad_tokens:
                        return self._send(400, {"error": "invalid_grant"})
                    return self._send(200, {"access_token": f"Atza|{number}", "expires_in": 3600})
                seller = self._seller()
                if seller is None:
                    return self._send(403, {"errors": [{"code": "Unauthorized"}]})
                if path == "/reports/2021-06-30/reports" and self._metered(seller, "createReport"):
                    request = json.loads(body)
                    report_id = f"{seller}-{next(outer._ids)}"
                    with outer._lock:
                        outer.reports[report_id] = (
                            outer.clock.monotonic() + outer.latency,
                            request["reportType"],
                            request["marketplaceIds"][0],
                        )
                    return self._send(202, {"reportId": report_id})
                return None

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                if url.path.startswith("/download/"):
                    report_id = url.path.rsplit("/", 1)[1]
                    _, kind, marketplace = outer.reports[report_id]
                    data = FEEDBACK.encode() if kind == "GET_SELLER_FEEDBACK_DATA" else performance_report(marketplace)
                    return self._send(200, gzip.compress(data), "application/octet-stream")
                seller = self._seller()
                if seller is None:
                    return self._send(403, {"errors": [{"code": "Unauthorized"}]})
                with outer._lock:
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    self._get(url, seller)
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

            def _get(self, url, seller: str) -> None:
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/orders/2026-01-01/orders" and self._metered(seller, "searchOrders"):
                    time.sleep(0.005)  # a little work, so that concurrency shows
                    marketplace = query["marketplaceIds"]
                    order = {
                        "orderId": f"{seller}-{marketplace}-1",
                        "createdTime": "2026-11-20T10:00:00Z",
                        "lastUpdatedTime": "2026-11-21T10:00:00Z",
                        "salesChannel": {"marketplaceId": marketplace},
                        "fulfillment": {"fulfilledBy": "MERCHANT", "fulfillmentStatus": "SHIPPED"},
                        "packages": [{"shipTime": "2026-11-21T09:00:00Z", "carrier": "UPS", "trackingNumber": "1Z1"}],
                    }
                    return self._send(200, {"orders": [order]})
                if url.path.startswith("/reports/2021-06-30/reports/") and self._metered(seller, "getReport"):
                    report_id = url.path.rsplit("/", 1)[1]
                    ready_at, _, _ = outer.reports[report_id]
                    if outer.clock.monotonic() < ready_at:
                        return self._send(200, {"reportId": report_id, "processingStatus": "IN_PROGRESS"})
                    return self._send(
                        200, {"reportId": report_id, "processingStatus": "DONE", "reportDocumentId": report_id}
                    )
                if url.path.startswith("/reports/2021-06-30/documents/") and self._metered(seller, "getReportDocument"):
                    doc = url.path.rsplit("/", 1)[1]
                    url_ = f"http://127.0.0.1:{outer.port}/download/{doc}"
                    return self._send(200, {"reportDocumentId": doc, "compressionAlgorithm": "GZIP", "url": url_})
                return None

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, seller: str, operation: str) -> bool:
        """Amazon's token bucket for (seller, operation), on the fake's clock; False: over the limit."""
        rate, burst = RATE_LIMITS[operation]
        with self._lock:
            self.calls[operation] += 1
            now = self.clock.monotonic()
            tokens, stamp = self._buckets.get((seller, operation), [float(burst), now])
            tokens = min(float(burst), tokens + (now - stamp) * rate * 1.02)  # 2 %: clocks read microseconds apart
            if tokens < 1 - 1e-9:
                self._buckets[(seller, operation)] = [tokens, now]
                self.throttled[f"{seller} {operation}"] += 1
                return False
            self._buckets[(seller, operation)] = [tokens - 1, now]
            return True

    def accounts_file(self, path, marketplaces=("ATVPDKIKX0DER",)) -> dict[str, str]:
        """The SPAPI_ACCOUNTS_FILE for every seller, and the environment holding their tokens."""
        lines, env = [], {}
        for n in range(self.sellers):
            lines += [
                "[[account]]",
                f'key = "seller-{n:03d}"',
                f"marketplace_ids = {json.dumps(list(marketplaces))}",
                f'refresh_token_env = "FLEET_TOKEN_{n}"',
                "",
            ]
            env[f"FLEET_TOKEN_{n}"] = f"Atzr|seller-{n}"
        path.write_text("\n".join(lines), encoding="utf-8")
        return env

    def environ(self, folder, concurrency: int = 8) -> dict[str, str]:
        """The settings of a monitor syncing every seller of this fake (the accounts file written
        into `folder`, the sellers' tokens put into the process environment, as a deployment would)."""
        os.environ.update(self.accounts_file(folder / "accounts.toml", self.marketplaces))
        return {
            "DATABASE_URL": f"sqlite:///{folder / 'fleet.db'}",
            "INBOX_DIR": str(folder / "inbox"),
            "SPAPI_ACCOUNTS_FILE": str(folder / "accounts.toml"),
            "SPAPI_CLIENT_ID": "amzn1.application-oa2-client.fake",
            "SPAPI_CLIENT_SECRET": "secret",
            "SPAPI_ENDPOINT": f"http://127.0.0.1:{self.port}",
            "LWA_TOKEN_URL": f"http://127.0.0.1:{self.port}/auth/o2/token",
            "SYNC_CONCURRENCY": str(concurrency),
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
