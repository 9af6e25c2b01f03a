"""Hand-computed cases for every rule of metrics.md (version 2). Each test names the rule it pins."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from monitor import metrics as m
from monitor.domain import Channel
from monitor.metrics import METRICS_BY_ID, AccountFacts, AmazonFigure, MarketplaceFacts, Targets, Window
from monitor.present.jsonout import to_json
from tests.conftest import TARGETS, T, d, defects, orders

NO_LAG = Targets(lags=dict.fromkeys(m.DEFAULT_LAGS, 0))


def value(
    metric: str,
    data: pd.DataFrame,
    found: pd.DataFrame | None = None,
    channel: str = "mfn",
    as_of: datetime = T,
    targets: Targets = NO_LAG,
    facts: AccountFacts | None = None,
    marketplace: str = "unknown",
) -> m.MetricValue:
    (v,) = [
        x
        for x in m.evaluate(data, found, as_of, targets, "acme", [METRICS_BY_ID[metric]], facts)
        if x.channel == channel and x.marketplace == marketplace
    ]
    return v


def counts(v: m.MetricValue) -> tuple[int, int]:
    return v.numerator, v.denominator


# ------------------------------------------------------------------ Time
def test_windows_are_half_open_whole_days():
    """Windows: [day0 - (lag + N), day0 - lag) on the anchor."""
    data = orders(
        {"purchase_date": d(-7)},  # exactly day0 - 7 days: inside
        {"purchase_date": d(-7, seconds=-1)},  # one second earlier: outside
        {"purchase_date": d(seconds=-1)},  # just before day0: inside
        {"purchase_date": d(0)},
    )  # at day0 = T: outside (not yet happened)
    assert counts(value("cr_7d", data)) == (0, 2)


def test_offset_timestamps_are_compared_in_utc():
    """Time: every timestamp is compared in UTC."""
    late_evening = pd.Timestamp("2026-10-31T20:00:00-05:00")  # 2026-11-01T01:00Z: after T
    data = orders({"purchase_date": late_evening}, {"purchase_date": pd.Timestamp("2026-10-31T20:00:00+05:00")})
    assert counts(value("cr_7d", data)) == (0, 1)


def test_a_bare_as_of_date_means_the_end_of_that_day():
    """Time: a bare date D as --as-of means D + 1 day, 00:00 UTC."""
    from monitor.timeutil import parse_as_of

    assert parse_as_of("2026-10-31") == T
    assert parse_as_of("2026-10-31T12:00:00+02:00") == datetime(2026, 10, 31, 10, tzinfo=UTC)


def test_a_window_ends_lag_days_before_the_day_of_t():
    """Windows: window_end = day0 - L; default lags 15, 0, 1, 10, 7; lag_days and lag_source on every value."""
    data = orders({"purchase_date": d(-20), "latest_ship_date": d(-3), "shipped_at": d(-4)})
    noon = T + timedelta(hours=12)  # day0 is T's day: a time within the day changes no window
    ends = {
        v.metric: (v.window_start, v.window_end, v.lag_days, v.lag_source)
        for v in m.evaluate(data, defects(), noon, TARGETS, "acme")
        if v.channel == "mfn"
    }
    assert ends["odr"] == (T - timedelta(days=75), T - timedelta(days=15), 15, "default")
    assert ends["lsr_10d"] == (T - timedelta(days=10), T, 0, "default")
    assert ends["cr_7d"] == (T - timedelta(days=8), T - timedelta(days=1), 1, "default")
    assert ends["vtr_30d"] == (T - timedelta(days=40), T - timedelta(days=10), 10, "default")
    assert ends["otdr_14d"] == (T - timedelta(days=21), T - timedelta(days=7), 7, "default")
    odr = value("odr", data, defects(), as_of=noon, targets=replace(TARGETS, lags={**TARGETS.lags, "lag_odr_days": 14}))
    assert (odr.lag_days, odr.lag_source) == (14, "setting")


def test_events_known_at_t_count_even_after_the_window():
    """Windows: a claim filed today counts against an order of the (lagged) window."""
    data = orders({"order_id": "A", "purchase_date": d(-30)}, {"order_id": "B", "purchase_date": d(-40)})
    found = defects({"order_id": "A", "defect_type": "a_to_z_claim", "received_at": d(-1), "status": "open"})
    v = value("odr", data, found, targets=TARGETS)
    assert counts(v) == (1, 2) and v.window_end == T - timedelta(days=15)


def test_learned_windows_from_amazon_replace_the_settings():
    """Lags learned from Amazon's report, per marketplace, with lag_source amazon-report DATE."""
    window = Window(30, 10, "amazon-report 2026-10-30")
    facts = AccountFacts({"amazon.com": MarketplaceFacts(windows={"otdr_14d": window})}, defect_source=True)
    data = orders(
        {"marketplace": "amazon.com", "tracking_valid": True, "latest_delivery_date": d(-30), "delivered_at": d(-31)}
    )
    v = value("otdr_14d", data, facts=facts, marketplace="amazon.com", targets=TARGETS)
    assert (v.lag_days, v.lag_source) == (10, "amazon-report 2026-10-30")
    assert (v.window_start, v.window_end) == (T - timedelta(days=40), T - timedelta(days=10))
    assert counts(v) == (1, 1)


# ------------------------------------------------------------------ Groups
def test_each_marketplace_is_its_own_group():
    """Groups: US 1,000 orders with 5 claims and CA 100 orders with 3 claims: CA shows 3 %, not 0.73 %."""
    rows = [{"order_id": f"US-{n}", "marketplace": "amazon.com", "purchase_date": d(-30)} for n in range(1000)]
    rows += [{"order_id": f"CA-{n}", "marketplace": "A2EUQ1WTGCTBG2", "purchase_date": d(-30)} for n in range(100)]
    claims = defects(
        *[{"order_id": f"US-{n}", "defect_type": "a_to_z_claim", "received_at": d(-2)} for n in range(5)],
        *[{"order_id": f"CA-{n}", "defect_type": "a_to_z_claim", "received_at": d(-2)} for n in range(3)],
    )
    data = orders(*rows)
    us = value("odr", data, claims, marketplace="amazon.com", targets=TARGETS)
    ca = value("odr", data, claims, marketplace="amazon.ca", targets=TARGETS)
    assert (counts(us), us.status) == ((5, 1000), "good")
    assert (counts(ca), ca.status, ca.rate) == ((3, 100), "critical", 0.03)


def test_an_order_without_marketplace_takes_the_default():
    """Groups: no marketplace -> DEFAULT_MARKETPLACE, else unknown."""
    data = orders({}, {"marketplace": "amazon.de"})
    assert {v.marketplace for v in m.evaluate(data, None, T, NO_LAG, "a")} == {"unknown", "amazon.de"}
    targets = replace(NO_LAG, default_marketplace="amazon.de")
    assert counts(value("cr_7d", data, targets=targets, marketplace="amazon.de")) == (0, 2)


def test_multi_channel_fulfilment_orders_count_in_no_metric():
    """Groups: sales channel Non-Amazon (or any not Amazon's) is excluded from every metric."""
    data = orders(
        {"sales_channel": "Amazon.com"},
        {"sales_channel": "Non-Amazon", "order_status": "Canceled", "cancelled_at": d(-3), "cancelled_by": "seller"},
    )
    assert counts(value("cr_7d", data)) == (0, 1)


# ------------------------------------------------------------------ LSR
def test_lsr_counts_late_confirmations_and_unconfirmed_past_due_orders():
    """LSR: bad = confirmed after ship-by, or unconfirmed while ship-by < T."""
    data = orders(
        {"latest_ship_date": d(-3), "shipped_at": d(-4)},  # on time
        {"latest_ship_date": d(-3), "shipped_at": d(-3)},  # exactly at ship-by: on time
        {"latest_ship_date": d(-3), "shipped_at": d(-3, seconds=1)},  # one second late
        {"latest_ship_date": d(-2), "order_status": "Unshipped"},  # unconfirmed, past due: late
        {"latest_ship_date": d(-2), "shipped_at": d(1), "order_status": "Unshipped"},  # confirmed after T: unknown
        {"latest_ship_date": d(1), "order_status": "Unshipped"},  # ship-by after T: not in window
        {"latest_ship_date": d(-11), "shipped_at": d(-5)},  # ship-by before the 10-day window
    )
    v = value("lsr_10d", data)
    assert counts(v) == (3, 5)
    assert v.status == "critical" and v.headroom == 0 and v.coverage == 1.0
    assert counts(value("lsr_30d", data)) == (4, 6)


def test_lsr_leaves_out_shipped_orders_whose_confirmation_time_is_unknown_and_reports_coverage():
    """LSR: status shipped, confirmation time unknown -> left out, in `coverage`; below 0.5 no_data."""
    judged = [{"latest_ship_date": d(-3), "shipped_at": d(-4)} for _ in range(3)]
    unknown = [{"latest_ship_date": d(-3), "order_status": "Shipped"} for _ in range(2)]
    v = value("lsr_10d", orders(*judged, *unknown))
    assert counts(v) == (0, 3) and v.coverage == 0.6 and v.status == "good"
    low = value("lsr_10d", orders(*judged[:1], *unknown))
    assert low.status == "no_data" and low.coverage == pytest.approx(1 / 3) and "coverage" in low.no_data_reason


def test_lsr_excludes_orders_cancelled_before_shipping_once_the_cancellation_is_known():
    data = orders(
        {"latest_ship_date": d(-2), "order_status": "Canceled", "cancelled_at": d(-1), "cancelled_by": "buyer"},
        {"latest_ship_date": d(-2), "order_status": "Unshipped", "cancelled_at": d(2)},  # not yet cancelled at T
        {"latest_ship_date": d(-2), "order_status": "Canceled"},  # no timestamp: known
        {"latest_ship_date": d(-2), "shipped_at": d(-3)},
    )
    assert counts(value("lsr_10d", data)) == (1, 2)


def test_lsr_is_no_data_without_any_ship_confirmation_never_zero():
    data = orders(
        {"latest_ship_date": d(-2), "order_status": "Unshipped"},
        {"latest_ship_date": d(-3), "order_status": "Unshipped"},
    )
    v = value("lsr_10d", data)
    assert v.status == "no_data" and v.rate is None and v.headroom is None
    assert "shipped_at" in v.no_data_reason


def test_lsr_only_counts_mfn_orders():
    data = orders(
        {"fulfillment_channel": "AFN", "latest_ship_date": d(-2)}, {"latest_ship_date": d(-2), "shipped_at": d(-3)}
    )
    assert counts(value("lsr_10d", data)) == (0, 1)


# ------------------------------------------------------------------ CR
def test_cr_initiator_rules():
    """CR: seller counts unless buyer-requested; buyer never; amazon only for an unconfirmed
    shipment past ship-by; unknown counts (CR_UNKNOWN_INITIATOR=count)."""
    cancelled = {"order_status": "Canceled", "cancelled_at": d(-3)}
    data = orders(
        {**cancelled, "cancelled_by": "seller"},  # counts
        {**cancelled, "cancelled_by": "seller", "buyer_requested_cancel": True},  # the buyer asked: never
        {**cancelled, "cancelled_by": "buyer"},  # never
        {**cancelled, "cancelled_by": "amazon", "latest_ship_date": d(-4)},  # after ship-by, unconfirmed: counts
        {**cancelled, "cancelled_by": "amazon", "latest_ship_date": d(-2)},  # before ship-by: does not
        {**cancelled, "cancelled_by": "amazon"},  # no ship-by: does not
        {**cancelled},  # unknown initiator: counts
        {"order_status": "Canceled", "cancelled_at": d(0), "cancelled_by": "seller"},  # at T: not yet
        {"order_status": "Shipped", "shipped_at": d(-4), "cancelled_at": d(-3), "cancelled_by": "seller"},  # shipped
        {},
    )
    assert counts(value("cr_7d", data)) == (3, 10)
    ignore = replace(NO_LAG, cr_unknown_initiator="ignore")
    assert counts(value("cr_7d", data, targets=ignore)) == (2, 10)


def test_a_buyer_requested_cancellation_carried_out_by_the_seller_does_not_count():
    """The issue's case: 3/120 where Amazon has 1/120."""
    rows = [{} for _ in range(117)]
    rows.append({"order_status": "Canceled", "cancelled_at": d(-3), "cancelled_by": "seller"})
    rows += [
        {"order_status": "Canceled", "cancelled_at": d(-3), "cancelled_by": "seller", "buyer_requested_cancel": True}
        for _ in range(2)
    ]
    assert counts(value("cr_7d", orders(*rows))) == (1, 120)


def test_cr_headroom_for_a_small_seller():
    v = value("cr_7d", orders(*([{}] * 40)))
    # 40 orders, limit 2.5 %: 1 cancellation is 2.5 % (missed), so no cancellation may come
    assert (v.rate, v.status, v.headroom) == (0.0, "good", 0)


# ------------------------------------------------------------------ ODR
def test_odr_counts_orders_with_defects_once_per_order_and_per_channel():
    """ODR: counting defects (claims not denied/withdrawn/protected, chargebacks not reversed/fraud,
    1-2 star feedback active), each order once, per channel."""
    data = orders(
        {"order_id": "A", "fulfillment_channel": "AFN"},
        {"order_id": "B"},
        {"order_id": "C"},
        {"order_id": "D"},
        {"order_id": "E"},
        {"order_id": "F", "purchase_date": d(-61)},
        {"order_id": "G"},
        {"order_id": "H"},
    )
    found = defects(
        {"order_id": "A", "defect_type": "a_to_z_claim", "received_at": d(-1), "status": "open"},
        {"order_id": "B", "defect_type": "a_to_z_claim", "received_at": d(-2), "status": "granted"},
        {"order_id": "B", "defect_type": "negative_feedback", "received_at": d(-1), "rating": 1},  # same order
        {"order_id": "C", "defect_type": "a_to_z_claim", "received_at": d(-1), "status": "denied"},
        {"order_id": "C", "defect_type": "a_to_z_claim", "received_at": d(-1), "status": "withdrawn"},
        {"order_id": "D", "defect_type": "negative_feedback", "received_at": d(-1), "rating": 2, "status": "removed"},
        {"order_id": "D", "defect_type": "chargeback", "received_at": d(-1), "status": "reversed"},
        {"order_id": "E", "defect_type": "chargeback", "received_at": d(1), "status": "open"},  # after T
        {"order_id": "F", "defect_type": "chargeback", "received_at": d(-1)},  # order outside the window
        {"order_id": "ZZZ", "defect_type": "chargeback", "received_at": d(-1)},  # unknown order
        {"order_id": "E", "defect_type": "negative_feedback", "received_at": d(-1), "rating": 3},  # 3 stars
        {"order_id": "G", "defect_type": "a_to_z_claim", "received_at": d(-1), "status": "protected"},
        {"order_id": "H", "defect_type": "chargeback", "received_at": d(-1), "status": "fraud"},
    )
    assert counts(value("odr", data, found, "mfn")) == (1, 6)
    assert counts(value("odr", data, found, "afn")) == (1, 1)


def test_a_feedback_revised_to_five_stars_stops_counting():
    """ODR: a feedback revised to 3 stars or more does not count (the stored rating is the revised one)."""
    data = orders({"order_id": "A"})
    assert counts(
        value(
            "odr",
            data,
            defects(
                {
                    "order_id": "A",
                    "defect_type": "negative_feedback",
                    "received_at": d(-2),
                    "rating": 1,
                    "status": "active",
                }
            ),
        )
    ) == (1, 1)
    assert counts(
        value(
            "odr",
            data,
            defects(
                {
                    "order_id": "A",
                    "defect_type": "negative_feedback",
                    "received_at": d(-2),
                    "rating": 5,
                    "status": "active",
                }
            ),
        )
    ) == (0, 1)


def test_odr_defect_is_attributed_to_the_purchase_date():
    data = orders({"order_id": "A", "purchase_date": d(-59)}, {"order_id": "B", "purchase_date": d(-2)})
    found = defects({"order_id": "A", "defect_type": "a_to_z_claim", "received_at": d(-1)})
    assert counts(value("odr", data, found)) == (1, 2)
    # ten days later the order has left the window, and its claim with it
    assert counts(value("odr", data, found, as_of=d(10))) == (0, 1)


def test_odr_is_no_data_without_a_defect_source():
    """ODR: until feedback, claims or Amazon's report were imported, no_data, never a green 0 %."""
    v = value("odr", orders({}))
    assert v.status == "no_data" and "no feedback or claims imported" in v.no_data_reason
    assert value("odr", orders({}), defects()).status == "good"
    assert value("odr", orders({}), facts=AccountFacts(defect_source=True)).status == "good"


def test_odr_can_leave_cancelled_orders_out_of_the_denominator():
    data = orders({}, {"order_status": "Canceled", "cancelled_at": d(-3)})
    assert counts(value("odr", data, defects())) == (0, 2)
    assert counts(value("odr", data, defects(), targets=replace(NO_LAG, odr_count_cancelled=False))) == (0, 1)


# ------------------------------------------------------------------ VTR and OTDR
def test_vtr_counts_valid_tracking_and_no_tracking_as_invalid_but_leaves_unknown_validity_out():
    """VTR: eligible = confirmed shipments whose validity is known (no tracking id = invalid);
    a tracking id of unknown validity is left out and reported in coverage."""
    data = orders(
        {"shipped_at": d(-2), "tracking_valid": True, "tracking_id": "A"},
        {"shipped_at": d(-2), "tracking_valid": False, "tracking_id": "B"},
        {"shipped_at": d(-2)},  # no tracking at all: never valid
        {"shipped_at": d(-2), "tracking_id": "C"},  # validity unknown: left out
        {"shipped_at": d(-31), "tracking_valid": True},
        {"shipped_at": d(1), "tracking_valid": True},
    )
    v = value("vtr_30d", data)
    assert counts(v) == (1, 3) and v.coverage == 0.75 and v.direction == "min" and v.status == "critical"


def test_ten_days_without_validity_no_longer_pull_vtr_to_a_false_critical():
    """VTR: the issue's case: shipments whose validity is unknown are left out, not counted invalid."""
    valid = [{"shipped_at": d(-25 + n % 15), "tracking_valid": True, "tracking_id": f"T{n}"} for n in range(160)]
    unknown = [{"shipped_at": d(-10 + n % 10), "tracking_id": f"U{n}"} for n in range(116)]
    v = value("vtr_30d", orders(*valid, *unknown))
    assert v.status == "good" and counts(v) == (160, 160) and v.coverage == pytest.approx(160 / 276)


def test_vtr_anchors_on_the_promised_delivery_date_else_the_shipment():
    data = orders(
        {"shipped_at": d(-40), "latest_delivery_date": d(-3), "tracking_valid": True},  # promised in window
        {"shipped_at": d(-3), "latest_delivery_date": d(5), "tracking_valid": True},
    )  # promised after day0
    assert counts(value("vtr_30d", data)) == (1, 1)


def test_vtr_is_no_data_without_tracking_numbers_or_validity():
    v = value("vtr_30d", orders({"shipped_at": d(-2), "order_status": "Shipped"}))
    assert v.status == "no_data" and "tracking_valid" in v.no_data_reason


def test_otdr_counts_units_of_valid_tracking_shipments_due_in_the_window():
    """OTDR (units): quantity-weighted, valid tracking, delivered or past its promise."""
    data = orders(
        {"tracking_valid": True, "latest_delivery_date": d(-2), "delivered_at": d(-3), "quantity": 2},  # on time
        {"tracking_valid": True, "latest_delivery_date": d(-2), "delivered_at": d(-2)},  # at the promise: on time
        {"tracking_valid": True, "latest_delivery_date": d(-2), "delivered_at": d(-1), "quantity": 3},  # late
        {"tracking_valid": True, "latest_delivery_date": d(-2)},  # not delivered, past due: late
        {"tracking_valid": True, "latest_delivery_date": d(-2), "delivered_at": d(1)},  # delivered after T: late now
        {"tracking_valid": False, "latest_delivery_date": d(-2), "delivered_at": d(-3)},  # invalid tracking
        {"tracking_valid": True, "latest_delivery_date": d(-15), "delivered_at": d(-16)},  # before the window
    )
    v = value("otdr_14d", data)
    assert counts(v) == (3, 8) and v.headroom == 0


# ------------------------------------------------------------------ status, headroom, Amazon's floor
@pytest.mark.parametrize(
    ("bad", "eligible", "status", "room"),
    [
        (0, 100, "good", 3),
        (2, 100, "good", 1),
        (3, 100, "warning", 0),
        (4, 100, "critical", 0),
        (7, 180, "warning", 0),
        (1, 40, "good", 0),
        (2, 40, "critical", 0),
    ],
)
def test_lsr_status_and_headroom(bad, eligible, status, room):
    rate, got, headroom = m.rate_and_status(METRICS_BY_ID["lsr_10d"], bad, eligible, TARGETS)
    assert (got, headroom) == (status, room) and rate == bad / eligible


@pytest.mark.parametrize(
    ("good", "eligible", "status", "room"),
    [
        (100, 100, "good", 5),
        (96, 100, "warning", 1),
        (95, 100, "warning", 0),
        (94, 100, "critical", 0),
    ],
)
def test_vtr_status_and_headroom(good, eligible, status, room):
    assert m.rate_and_status(METRICS_BY_ID["vtr_30d"], good, eligible, TARGETS)[1:] == (status, room)


def test_empty_window_is_no_data():
    v = value("cr_7d", orders({"purchase_date": d(-30)}))
    assert (v.status, v.rate, v.headroom, v.denominator) == ("no_data", None, None, 0)


def test_amazons_own_status_is_a_floor():
    """Status: critical when Amazon's newest report (no older than 7 days) says the target is missed,
    even when our data cannot judge; amazon_rate and amazon_status shown."""
    figure = AmazonFigure(0.052, "BAD", True, date(2026, 10, 30), datetime(2026, 10, 31, tzinfo=UTC))
    facts = AccountFacts({"amazon.com": MarketplaceFacts(amazon={("lsr_10d", Channel.MFN): figure})})
    data = orders({"marketplace": "amazon.com", "latest_ship_date": d(-3), "shipped_at": d(-4)})
    v = value("lsr_10d", data, facts=facts, marketplace="amazon.com")
    assert (v.status, v.amazon_rate, v.amazon_status) == ("critical", 0.052, "BAD")
    old = replace(figure, report_day=date(2026, 10, 20))
    stale = AccountFacts({"amazon.com": MarketplaceFacts(amazon={("lsr_10d", Channel.MFN): old})})
    assert value("lsr_10d", data, facts=stale, marketplace="amazon.com").status == "good"
    blind = orders({"marketplace": "amazon.com", "latest_ship_date": d(-3), "order_status": "Unshipped"})
    assert value("lsr_10d", blind, facts=facts, marketplace="amazon.com").status == "critical"


def test_json_fields_follow_the_cli_contract():
    v = to_json(value("lsr_10d", orders({"latest_ship_date": d(-3), "shipped_at": d(-4)})))
    assert set(v) == {
        "account",
        "marketplace",
        "channel",
        "metric",
        "as_of",
        "window_start",
        "window_end",
        "numerator",
        "denominator",
        "rate",
        "limit",
        "direction",
        "status",
        "headroom",
        "lag_days",
        "lag_source",
        "coverage",
        "projected_rate",
        "projected_date",
        "forecast_breach",
        "amazon_rate",
        "amazon_status",
        "no_data_reason",
        "sources",
        "exactness",  # issue 18: exact, proxy or scorecard, and of what for a proxy
        "proxy_reason",
        "evaluation",  # issue 18: eBay's figure as of its last monthly evaluation (None for Amazon's)
        "unit",  # issue 18: share, or stars (Etsy's average rating: rate and limit as shares of 5 stars)
    }
    assert v["exactness"] == "exact" and v["proxy_reason"] is None and v["unit"] == "share"
    assert v["window_start"] == "2026-10-22T00:00:00+00:00" and v["window_end"] == "2026-11-01T00:00:00+00:00"
    # the sources it rests on, with their newest data time (none known to a frame without facts)
    assert v["sources"] == {"orders": None, "ship_by": None, "ship_confirmations": None}


def test_a_stopped_feed_is_no_breach():
    """coverage.py: ship confirmations stopped while orders kept coming; the unconfirmed orders after the
    gap are not judged late (they lower the coverage), the ones before it still are; the same for
    delivery scans and OTDR."""
    confirmed = [{"order_id": f"C{n}", "latest_ship_date": d(-9), "shipped_at": d(-9.5)} for n in range(20)]
    unconfirmed = [{"order_id": f"U{n}", "latest_ship_date": d(-3), "order_status": "Unshipped"} for n in range(20)]
    late_before = [{"order_id": "L1", "latest_ship_date": d(-8), "order_status": "Unshipped"}]
    data = orders(*confirmed, *unconfirmed, *late_before)
    assert value("lsr_10d", data).status == "critical"  # without coverage facts: 21 of 41 late
    gap = AccountFacts({"unknown": MarketplaceFacts(gaps={"ship_confirmations": d(-7)})})
    v = value("lsr_10d", data, facts=gap)
    assert counts(v) == (1, 21) and v.coverage == 21 / 41  # L1 was due before the gap: still late
    wider = AccountFacts({"unknown": MarketplaceFacts(gaps={"ship_confirmations": d(-2)})})
    assert counts(value("lsr_10d", data, facts=wider)) == (21, 41)  # the gap after them: they count
    more = orders(*confirmed, *unconfirmed, *[{**u, "order_id": f"V{n}"} for n, u in enumerate(unconfirmed)])
    blind = value("lsr_10d", more, facts=gap)
    assert blind.status == "no_data" and "coverage 33%" in (blind.no_data_reason or "")
    promised = [
        {"order_id": f"P{n}", "latest_delivery_date": d(-3 + n % 2), "shipped_at": d(-6), "tracking_valid": True}
        for n in range(20)
    ]
    early = {"order_id": "E", "latest_delivery_date": d(-10), "delivered_at": d(-11), "tracking_valid": True}
    parcels = orders(*promised, early)
    assert counts(value("otdr_14d", parcels)) == (1, 21)  # the 20 not delivered look late
    scans_stopped = AccountFacts({"unknown": MarketplaceFacts(gaps={"delivery_scans": d(-5)})})
    assert counts(value("otdr_14d", parcels, facts=scans_stopped)) == (1, 1)  # unknown, not late


# ------------------------------------------------------------------ the projection
def test_the_projection_is_the_worst_window_amazon_will_show_within_the_lag():
    """Projection: for k in 1..max(L, 1), the window in force at T + k days, with what is known now;
    a miss makes a warning: "Amazon will show at least X % on DATE"."""
    rows = [{"order_id": f"A{n}", "purchase_date": d(-74, hours=-12)} for n in range(50)]  # leaving it tomorrow
    rows += [{"order_id": f"B{n}", "purchase_date": d(-40)} for n in range(50)]
    claims = defects(*[{"order_id": f"B{n}", "defect_type": "a_to_z_claim", "received_at": d(-1)} for n in range(1)])
    v = value("odr", orders(*rows), claims, targets=TARGETS)
    assert counts(v) == (1, 100) and v.status == "critical"
    # with the old orders gone, 1 of 50: Amazon will show at least 2 % from tomorrow on
    assert v.projected_rate == 0.02 and v.projected_date == "2026-11-02"
    calm = value(
        "odr",
        orders(*rows, *[{"order_id": f"C{n}", "purchase_date": d(-30)} for n in range(200)]),
        claims,
        targets=TARGETS,
    )
    assert calm.status == "good" and calm.projected_rate == pytest.approx(1 / 250)
