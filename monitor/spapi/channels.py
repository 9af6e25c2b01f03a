"""The other marketplaces' own scorecards, pulled through their APIs when credentials are set:
Walmart's Insights performance summaries, eBay's seller standards profiles and Etsy's reviews.

Each client is the Selling Partner client with the marketplace's own way of asking for and
sending tokens, and its own rate limits (retries, Retry-After, one token refresh and token buckets
come with it). What a pull brings is saved as the file a seller would save by hand and imported
like one (monitor/ingest/performance.py reads both), so both ways give the same figures.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Settings
from monitor.httpclient import USER_AGENT
from monitor.ingest import ImportResult, import_file
from monitor.ingest.performance import WALMART_SUMMARIES
from monitor.slugs import slug
from monitor.spapi.client import Credentials, SpApiClient, SpApiError
from monitor.timeutil import utcnow

WALMART_ENDPOINT = "https://marketplace.walmartapis.com"
EBAY_ENDPOINT = "https://api.ebay.com"
EBAY_TOKEN_URL = "https://api.ebay.com/identity/v1/oauth2/token"
EBAY_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.analytics.readonly"
ETSY_ENDPOINT = "https://openapi.etsy.com"
ETSY_PAGE = 100  # getReviewsByShop's largest `limit`
ETSY_LOOKBACK_DAYS = 400  # a review older than the longest window (a year) never counts
# the summaries pulled, with the duration each standard is judged over (lateShipment has no standard yet)
WALMART_PULLED = {name: days for name, days in WALMART_SUMMARIES.items() if name != "lateShipment"}


class WalmartClient(SpApiClient):
    """Walmart's Marketplace API: a client-credentials token (Basic auth), sent as WM_SEC.ACCESS_TOKEN.
    Walmart documents one call a minute per seller for a performance summary: a bucket per metric."""

    service = "Walmart's token service"
    rate_limits = {f"insights:{name}": (1 / 60, 1) for name in WALMART_PULLED}

    def _token_request(self) -> httpx.Response:
        return self.http.post(
            self.token_url,
            data={"grant_type": "client_credentials"},
            auth=(self.credentials.client_id, self.credentials.client_secret),
            headers=_walmart_headers(),
        )

    def _headers(self) -> dict[str, str]:
        return {**_walmart_headers(), "WM_SEC.ACCESS_TOKEN": self.access_token()}


def _walmart_headers() -> dict[str, str]:
    return {
        "WM_SVC.NAME": "account-health-monitor",
        "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
        "WM_MARKET": "US",
        "Accept": "application/json",
        "user-agent": USER_AGENT,
    }


class EbayClient(SpApiClient):
    """eBay's REST APIs: an OAuth user token from the seller's refresh token (Basic auth), sent as a
    bearer token. The Analytics API allows thousands of calls a day: one a second is plenty."""

    service = "eBay's OAuth service"
    rate_limits = {"getSellerStandardsProfile": (1.0, 5)}

    def _token_request(self) -> httpx.Response:
        return self.http.post(
            self.token_url,
            data={"grant_type": "refresh_token", "refresh_token": self.credentials.refresh_token, "scope": EBAY_SCOPE},
            auth=(self.credentials.client_id, self.credentials.client_secret),
        )

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.access_token()}",
            "Accept": "application/json",
            "user-agent": USER_AGENT,
        }


class EtsyClient(SpApiClient):
    """Etsy's Open API v3: the app's API key in `x-api-key`; a shop's reviews need no OAuth token.
    Etsy allows an app 10 calls a second and 10,000 a day: a bucket of 5 a second is well inside."""

    service = "Etsy's Open API"
    rate_limits = {"getReviewsByShop": (5.0, 5)}

    def access_token(self, force: bool = False) -> str:
        return ""  # an API key, not a token: nothing to fetch or refresh

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self.credentials.client_id, "Accept": "application/json", "user-agent": USER_AGENT}


@dataclass
class ScorecardPull:
    """What one pull of a marketplace's own scorecard did."""

    account: str
    channel: str  # walmart, ebay or etsy
    imports: list[ImportResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pulled: int = 0  # summaries, profiles or reviews the marketplace answered with


def configured(settings: Settings) -> list[str]:
    """The channels whose credentials are set."""
    channels = []
    if settings.walmart_client_id and settings.walmart_client_secret:
        channels.append("walmart")
    if settings.ebay_client_id and settings.ebay_client_secret and settings.ebay_refresh_token:
        channels.append("ebay")
    if settings.etsy_api_key and settings.etsy_shop_id:
        channels.append("etsy")
    return channels


def pull_scorecards(
    settings: Settings,
    http: httpx.Client,
    sessions: sessionmaker[Session],
    folder: Path,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    accounts: set[str] | None = None,
) -> list[ScorecardPull]:
    """Pull every configured channel's scorecard and import it (`accounts`: only these account keys)."""
    pulls = []
    for channel in configured(settings):
        account = getattr(settings, f"{channel}_account") or settings.default_account
        if accounts is not None and account not in accounts:
            continue
        pull = ScorecardPull(account, channel)
        try:
            document = PULLS[channel](settings, http, sleep, clock, pull)
        except SpApiError as exc:
            pull.errors.append(f"{channel}: {exc}")
            pulls.append(pull)
            continue
        if document is not None:
            pull.imports.append(_import(sessions, settings, folder, account, channel, document))
        pulls.append(pull)
    return pulls


def _walmart(settings, http, sleep, clock, pull: ScorecardPull) -> dict[str, Any] | None:
    endpoint = settings.walmart_endpoint or WALMART_ENDPOINT
    client = WalmartClient(
        http,
        Credentials("", settings.walmart_client_id, settings.walmart_client_secret),
        endpoint,
        f"{endpoint.rstrip('/')}/v3/token",
        sleep,
        clock,
    )
    client.access_token()  # refused credentials: one error for the pull, not one a summary
    answers: dict[str, Any] = {}
    for name, days in WALMART_PULLED.items():
        try:
            answer = client.call(
                f"insights:{name}", "GET", f"/v3/insights/performance/{name}/summary", params={"reportDuration": days}
            )
        except SpApiError as exc:  # one summary refused: the others still count
            pull.errors.append(f"walmart {name}: {exc}")
            continue
        if answer:  # 204: no data yet (a new or small shop)
            answers[name] = answer
    pull.pulled = len(answers)
    return {"walmartInsights": answers} if answers else None


def _ebay(settings, http, sleep, clock, pull: ScorecardPull) -> dict[str, Any] | None:
    client = EbayClient(
        http,
        Credentials(settings.ebay_refresh_token, settings.ebay_client_id, settings.ebay_client_secret),
        settings.ebay_endpoint or EBAY_ENDPOINT,
        settings.ebay_token_url or EBAY_TOKEN_URL,
        sleep,
        clock,
    )
    answer = client.call("getSellerStandardsProfile", "GET", "/sell/analytics/v1/seller_standards_profile")
    profiles = answer.get("standardsProfiles")
    pull.pulled = len(profiles) if isinstance(profiles, list) else 0
    return answer if pull.pulled else None


def _etsy(settings, http, sleep, clock, pull: ScorecardPull) -> list[dict[str, Any]] | None:
    """Every review of the shop from the last ETSY_LOOKBACK_DAYS, a page of 100 at a time."""
    client = EtsyClient(
        http, Credentials("", settings.etsy_api_key, ""), settings.etsy_endpoint or ETSY_ENDPOINT, "", sleep, clock
    )
    since = int(utcnow().timestamp()) - ETSY_LOOKBACK_DAYS * 86_400
    pages: list[dict[str, Any]] = []
    offset = 0
    while True:
        answer = client.call(
            "getReviewsByShop",
            "GET",
            f"/v3/application/shops/{settings.etsy_shop_id}/reviews",
            params={"limit": ETSY_PAGE, "offset": offset, "min_created": since},
        )
        results = answer.get("results")
        if not isinstance(results, list) or not results:
            break
        pages.append(answer)
        offset += len(results)
        count = answer.get("count")
        if len(results) < ETSY_PAGE or (isinstance(count, int) and offset >= count):
            break
    pull.pulled = sum(len(p["results"]) for p in pages)
    return pages or None


PULLS = {"walmart": _walmart, "ebay": _ebay, "etsy": _etsy}


def _import(
    sessions: sessionmaker[Session],
    settings: Settings,
    folder: Path,
    account: str,
    channel: str,
    document: dict[str, Any] | list[dict[str, Any]],
) -> ImportResult:
    folder.mkdir(parents=True, exist_ok=True)
    stamp: datetime = utcnow()
    path = folder / f"{channel}-scorecard-{slug(account)}-{stamp:%Y%m%dT%H%M%S%f}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    try:
        return import_file(sessions, path, settings, account=account)
    finally:
        path.unlink(missing_ok=True)
