"""Walmart's and eBay's own scorecards pulled through their APIs (a loopback fake of both): their
tokens, a 429 with Retry-After, a summary Walmart has no data for (204), one it refuses, and
the figures imported beside ours as a saved file would be."""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import load_settings
from monitor.monitor import Monitor
from monitor.spapi.channels import WALMART_PULLED
from tests.fakes import reply
from tests.test_channels import ebay_profiles, etsy_reviews, insights

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


class MarketplacesFake:
    """Walmart's token and Insights summaries, eBay's OAuth token and seller standards profile."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.headers: dict[str, dict[str, str]] = {}
        self.durations: dict[str, int] = {}
        # 130 reviews of an Etsy shop: 120 of 5 stars, 10 of 2 (7.7 %); 4.77 stars
        self.etsy = etsy_reviews([5] * 60 + [2] * 10 + [5] * 60)["results"]
        self.etsy_queries: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                basic = base64.b64decode(self.headers.get("Authorization", "Basic ").split()[1] or b"").decode()
                if self.path == "/walmart/v3/token":
                    fake.calls["walmart token"] += 1
                    if basic != "wm-id:wm-secret" or form.get("grant_type") != ["client_credentials"]:
                        return reply(self, 401, {"error": "invalid_client"})
                    return reply(self, 200, {"access_token": "wm-token", "token_type": "Bearer", "expires_in": 900})
                if self.path == "/ebay/token":
                    fake.calls["ebay token"] += 1
                    if basic != "eb-id:eb-secret" or form.get("refresh_token") != ["eb-refresh"]:
                        return reply(self, 401, {"error": "invalid_grant"})
                    return reply(self, 200, {"access_token": "eb-token", "expires_in": 7200})
                reply(self, 404, {})

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path.startswith("/walmart/v3/insights/performance/"):
                    metric = url.path.split("/")[-2]
                    fake.calls[f"walmart {metric}"] += 1
                    fake.headers[metric] = dict(self.headers)
                    fake.durations[metric] = int(parse_qs(url.query)["reportDuration"][0])
                    if self.headers.get("WM_SEC.ACCESS_TOKEN") != "wm-token":
                        return reply(self, 401, {})
                    if metric == "srr" and fake.calls["walmart srr"] == 1:  # Walmart's rate limit, once
                        self.send_response(429)
                        self.send_header("Retry-After", "2")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return None
                    if metric == "itemNotReceived":  # no data yet for this shop
                        self.send_response(204)
                        self.end_headers()
                        return None
                    if metric == "returns":
                        return reply(self, 400, {"errors": [{"code": "INVALID_REQUEST", "message": "no returns"}]})
                    answers = {
                        "srr": insights(93.5, "Urgent", 30),
                        "vtr": insights(99.6, "Good", 30),
                        "cancellations": insights(1.2, "Good", 30),
                    }
                    return reply(self, 200, answers.get(metric, insights(0.5, "Good")))
                if url.path == "/etsy/v3/application/shops/31415926/reviews":
                    fake.calls["etsy reviews"] += 1
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    fake.etsy_queries.append(query)
                    if self.headers.get("x-api-key") != "etsy-key":
                        return reply(self, 403, {"error": "Invalid API key"})
                    offset, limit = int(query["offset"]), int(query["limit"])
                    return reply(self, 200, {"count": 130, "results": fake.etsy[offset : offset + limit]})
                if url.path == "/ebay/sell/analytics/v1/seller_standards_profile":
                    fake.calls["ebay profile"] += 1
                    if self.headers.get("Authorization") != "Bearer eb-token":
                        return reply(self, 401, {})
                    return reply(self, 200, json.loads(ebay_profiles()))
                reply(self, 404, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = MarketplacesFake()
    yield server
    server.close()


def test_scorecards_are_pulled_and_stand_beside_ours(tmp_path, fake):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}",
        "INBOX_DIR": str(tmp_path / "inbox"),
        "REPORTS_DIR": str(tmp_path / "reports"),
        "WALMART_CLIENT_ID": "wm-id",
        "WALMART_CLIENT_SECRET": "wm-secret",
        "WALMART_ACCOUNT": "shop",
        "WALMART_ENDPOINT": f"{fake.url}/walmart",
        "EBAY_CLIENT_ID": "eb-id",
        "EBAY_CLIENT_SECRET": "eb-secret",
        "EBAY_REFRESH_TOKEN": "eb-refresh",
        "EBAY_ACCOUNT": "shop",
        "EBAY_ENDPOINT": f"{fake.url}/ebay",
        "EBAY_TOKEN_URL": f"{fake.url}/ebay/token",
    }
    settings = load_settings(environ=env)
    slept: list[float] = []
    with Monitor.open(settings, migrate=True, sleep=slept.append) as monitor:
        run = monitor.sync()
    assert run.accounts == [] and not run.off
    walmart, ebay = run.scorecards
    assert (walmart.account, walmart.pulled, [i.status for i in walmart.imports]) == ("shop", 6, ["ok"])
    assert walmart.errors == ["walmart returns: insights:returns: 400 INVALID_REQUEST: no returns"]
    assert (ebay.pulled, [i.format for i in ebay.imports], ebay.errors) == (1, ["ebay-seller-standards"], [])
    assert fake.calls["walmart token"] == 1 and fake.calls["ebay token"] == 1  # one token each, reused
    assert fake.calls["walmart srr"] == 2 and 2.0 in slept  # the 429 waited its Retry-After, then retried
    assert fake.headers["otd"]["WM_SVC.NAME"] and fake.headers["otd"]["WM_QOS.CORRELATION_ID"]
    assert fake.durations == WALMART_PULLED and WALMART_PULLED["negativeFeedback"] == 60  # each standard's own
    runner = CliRunner()
    out = runner.invoke(cli, ["metrics", "--account", "shop", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    values = {v["metric"]: v for v in json.loads(out.output)}
    response = values["walmart_response_rate"]
    assert (response["amazon_rate"], response["amazon_status"], response["status"]) == (0.935, "URGENT", "critical")
    assert values["walmart_inr_rate"]["amazon_rate"] is None  # 204: no data yet
    assert values["ebay_defect_rate"]["amazon_status"] == "BELOW_STANDARD"
    synced = runner.invoke(cli, ["sync"], env=env)
    assert "shop: 6 Walmart Insights summaries pulled" in synced.output
    assert "shop: 1 eBay seller standards profiles pulled" in synced.output
    assert synced.exit_code == 1  # Walmart refused one summary: said, and the exit code says it


def test_refused_credentials_are_one_line_and_stop_nothing_else(tmp_path, fake):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}",
        "INBOX_DIR": str(tmp_path / "inbox"),
        "WALMART_CLIENT_ID": "wm-id",
        "WALMART_CLIENT_SECRET": "wrong",
        "WALMART_ENDPOINT": f"{fake.url}/walmart",
        "EBAY_CLIENT_ID": "eb-id",
        "EBAY_CLIENT_SECRET": "eb-secret",
        "EBAY_REFRESH_TOKEN": "eb-refresh",
        "EBAY_ENDPOINT": f"{fake.url}/ebay",
        "EBAY_TOKEN_URL": f"{fake.url}/ebay/token",
    }
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    synced = runner.invoke(cli, ["sync"], env=env)
    assert synced.exit_code == 1 and "Traceback" not in synced.output
    assert synced.output.count("Walmart's token service refused the credentials (401)") == 1
    assert fake.calls["walmart token"] == 1 and not any(
        c.startswith("walmart ") and c != "walmart token" for c in fake.calls
    )
    assert "default: 1 eBay seller standards profiles pulled" in synced.output


def test_etsys_reviews_are_pulled_page_by_page(tmp_path, fake):
    """Etsy's getReviewsByShop with the app's API key (no token): 130 reviews in pages of 100, from
    the last 400 days only; a refused key is one line."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.db'}",
        "INBOX_DIR": str(tmp_path / "inbox"),
        "ETSY_API_KEY": "etsy-key",
        "ETSY_SHOP_ID": "31415926",
        "ETSY_ACCOUNT": "shop",
        "ETSY_ENDPOINT": f"{fake.url}/etsy",
    }
    runner = CliRunner()
    runner.invoke(cli, ["init"], env=env)
    synced = runner.invoke(cli, ["sync"], env=env)
    assert synced.exit_code == 0 and "shop: 130 Etsy reviews pulled" in synced.output, synced.output
    assert [(q["offset"], q["limit"]) for q in fake.etsy_queries] == [("0", "100"), ("100", "100")]
    since = datetime.fromtimestamp(int(fake.etsy_queries[0]["min_created"]), tz=UTC)
    assert 399 <= (datetime.now(UTC) - since).days <= 400
    out = runner.invoke(cli, ["metrics", "--account", "shop", "--as-of", NOW.isoformat(), "--format", "json"], env=env)
    values = {v["metric"]: v for v in json.loads(out.output)}
    low, rating = values["etsy_low_review_share"], values["etsy_average_rating"]
    assert (low["numerator"], low["denominator"], low["status"]) == (10, 130, "warning")  # 7.7 %: 0.75 x 10 %
    assert (rating["numerator"], rating["denominator"], rating["status"]) == (620, 650, "critical")  # 4.77 stars
    again = runner.invoke(cli, ["sync"], env=env)  # the same reviews again: nothing new
    assert "nothing changed" in again.output, again.output
    env["ETSY_API_KEY"] = "wrong"
    refused = runner.invoke(cli, ["sync"], env=env)
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert refused.output.count("getReviewsByShop: 403 : Invalid API key") == 1, refused.output
