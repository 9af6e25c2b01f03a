"""A small Selling Partner API client: Login-with-Amazon tokens, per-operation rate limits,
retries. All HTTP goes through one httpx.Client that is passed in."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from monitor.errors import MonitorError
from monitor.httpclient import USER_AGENT
from monitor.retry import TransientError, parse_retry_after, with_retries

log = logging.getLogger(__name__)

ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
# Each operation's documented default usage plan: (requests per second, burst).
RATE_LIMITS = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
}
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0


class SpApiError(MonitorError):
    """The Selling Partner API refused or failed a call for good."""


@dataclass
class TokenBucket:
    """`rate` tokens a second up to `burst`; take() waits for a token."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    tokens: float = field(default=-1.0)
    stamp: float = field(default=0.0)

    def take(self) -> float:
        """Take one token, waiting if needed; returns the seconds waited."""
        now = self.clock()
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        waited = 0.0
        if self.tokens < 1:
            waited = (1 - self.tokens) / self.rate
            self.sleep(waited)
            self.tokens, self.stamp = 1.0, self.clock()
        self.tokens -= 1
        return waited


@dataclass
class Credentials:
    refresh_token: str
    client_id: str
    client_secret: str


class SpApiClient:
    """The Selling Partner API. Other marketplaces' APIs are subclasses that say how their tokens
    are asked for and sent (`_token_request`, `_headers`) and their rate limits (`rate_limits`):
    the retries, Retry-After, one token refresh on 401/403 and token buckets are this class's."""

    service = "Login with Amazon"  # who grants the tokens (in error messages)
    rate_limits: Mapping[str, tuple[float, float]] = RATE_LIMITS

    def __init__(
        self,
        http: httpx.Client,
        credentials: Credentials,
        endpoint: str,
        token_url: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.credentials = credentials
        self.endpoint = endpoint.rstrip("/")
        self.token_url = token_url
        self.sleep = sleep
        self.clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self.buckets = {op: TokenBucket(rate, burst, clock, sleep) for op, (rate, burst) in self.rate_limits.items()}

    # -------------------------------------------------------------- Login with Amazon
    def access_token(self, force: bool = False) -> str:
        """The cached access token, refreshed a minute before it expires (or when forced)."""
        if not force and self._token and self.clock() < self._token_expires:
            return self._token
        try:
            response = self._token_request()
        except httpx.HTTPError as exc:
            raise SpApiError(f"{self.service} unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise SpApiError(f"{self.service} refused the credentials ({response.status_code})")
        body = response.json()
        self._token = body["access_token"]
        self._token_expires = self.clock() + max(float(body.get("expires_in", 3600)) - 60, 0)
        return self._token

    def _token_request(self) -> httpx.Response:
        return self.http.post(
            self.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.credentials.refresh_token,
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
            },
        )

    def _headers(self) -> dict[str, str]:
        return {"x-amz-access-token": self.access_token(), "user-agent": USER_AGENT}

    # -------------------------------------------------------------- calls
    def call(
        self,
        operation: str,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One API call: rate-limited, authenticated (one refresh on 401/403), retried on 429/5xx."""
        refreshed = False

        def attempt() -> dict[str, Any]:
            nonlocal refreshed
            response = self._request(operation, method, path, params, json)
            if response.status_code in (401, 403) and not refreshed:
                refreshed = True
                self.access_token(force=True)
                response = self._request(operation, method, path, params, json)
            if response.status_code == 429 or response.status_code >= 500:
                raise TransientError(str(response.status_code), parse_retry_after(response.headers.get("Retry-After")))
            if response.status_code >= 400:
                raise SpApiError(f"{operation}: {response.status_code} {_error_text(response)}")
            try:
                return response.json() if response.content else {}
            except ValueError:
                raise SpApiError(f"{operation}: the answer is not JSON") from None

        try:
            body, _ = with_retries(
                attempt,
                attempts=MAX_ATTEMPTS,
                backoff=BACKOFF_SECONDS,
                max_wait=MAX_BACKOFF_SECONDS,
                sleep=self.sleep,
                what=operation,
            )
        except TransientError as exc:
            raise SpApiError(f"{operation}: {exc} after {MAX_ATTEMPTS} attempts") from None
        return body

    def _request(
        self, operation: str, method: str, path: str, params: dict[str, Any] | None, json: dict[str, Any] | None
    ) -> httpx.Response:
        bucket = self.buckets.get(operation)
        if bucket:
            bucket.take()
        try:
            return self.http.request(
                method,
                f"{self.endpoint}{path}",
                params=params,
                json=json,
                headers=self._headers(),
            )
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise TransientError(f"no answer ({type(exc).__name__})") from None

    def download(self, url: str) -> bytes:
        """A report document (a pre-signed URL: no token, no rate limit of ours)."""

        def attempt() -> bytes:
            try:
                response = self.http.get(url)
            except httpx.HTTPError as exc:
                raise TransientError(f"report document download failed ({type(exc).__name__})") from None
            if response.status_code >= 500:
                raise TransientError(f"report document download failed ({response.status_code})")
            if response.status_code != 200:
                raise SpApiError(f"report document download failed ({response.status_code})")
            return response.content

        try:
            data, _ = with_retries(
                attempt,
                attempts=MAX_ATTEMPTS,
                backoff=BACKOFF_SECONDS,
                max_wait=MAX_BACKOFF_SECONDS,
                sleep=self.sleep,
                what="report download",
            )
        except TransientError as exc:
            raise SpApiError(str(exc)) from None
        return data


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        errors = body.get("errors") or ([{"message": body["error"]}] if body.get("error") else [])  # Etsy: "error"
        return "; ".join(f"{e.get('code', '')}: {e.get('message', '')}" for e in errors)[:300]
    except ValueError:
        return response.text[:200]
