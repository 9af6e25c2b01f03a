"""Hand-computed cases for every metric and every edge of metrics.md."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from monitor import metrics as m
from monitor.metrics import METRICS_BY_ID, Targets
from monitor.present.jsonout import to_json
from tests.conftest import TARGETS, T, d, defects, orders


def value(
    metric: str,
    data: pd.DataFrame,
    found: pd.DataFrame | None = None,
    channel: str = "mfn",
    as_of: datetime = T,
    targets: Targets = TARGETS,
) -> m.MetricValue:
    (v,) = [x for x in m.evaluate(data, found, as_of, targets, "acme", [METRICS_BY_ID[metric]]) if x.channel == channel]
    return v


def counts(v: m.MetricValue) -> tuple[int, int]:
    return v.numerator, v.denominator


# ------------------------------------------------------------------ windows and time
def test_windows_are_half_open_at_both_edges():
    data = orders(
        {"purchase_date": d(-7)},  # exactly T - 7 days: inside
        {"purchase_date": d(-7, seconds=-1)},  # one second earlier: outside
        {"purchase_date": d(seconds=-1)},  # just before T: inside
        {"purchase_date": d(0)},
    )  # at T: outside (not yet happened)
    assert counts(value("cr_7d", data)) == (0, 2)


def test_offset_timestamps_are_compared_in_utc():
    # 2026-10-31T20:00-05:00 is 2026-11-01T01:00Z: after T, so outside the window
    late_evening = pd.Timestamp("2026-10-31T20:00:00-05:00")
    data = orders({"purchase_date": late_evening}, {"purchase_date": pd.Timestamp("2026-10-31T20:00:00+05:00")})
    assert counts(value("cr_7d", data)) == (0, 1)


def test_a_bare_as_of_date_means_the_end_of_that_day():
    from monitor.timeutil import parse_as_of

    assert parse_as_of("2026-10-31") == T
    assert parse_as_of("2026-10-31T12:00:00+02:00") == datetime(2026, 10, 31, 10, tzinfo=UTC)


# ------------------------------------------------------------------ LSR
def test_lsr_counts_late_confirmations_and_unconfirmed_past_due_orders():
    data = orders(
        {"latest_ship_date": d(-3), "shipped_at": d(-4)},  # on time
        {"latest_ship_date": d(-3), "shipped_at": d(-3)},  # exactly at ship-by: on time
        {"latest_ship_date": d(-3), "shipped_at": d(-3, seconds=1)},  # one second late
        {"latest_ship_date": d(-2), "order_status": "Unshipped"},  # unconfirmed, past due: late
        {"latest_ship_date": d(-2), "shipped_at": d(1)},  # confirmed after T: unknown at T, so late
        {"latest_ship_date": d(1), "order_status": "Unshipped"},  # ship-by after T: not in window
        {"latest_ship_date": d(-11), "shipped_at": d(-5)},  # ship-by before the 10-day window
    )
    v = value("lsr_10d", data)
    assert counts(v) == (3, 5)
    assert v.status == "critical" and v.headroom == 0
    assert counts(value("lsr_30d", data)) == (4, 6)


def test_lsr_excludes_orders_cancelled_before_shipping_once_the_cancellation_is_known():
    data = orders(
        {"latest_ship_date": d(-2), "order_status": "Canceled", "cancelled_at": d(-1), "cancelled_by": "buyer"},
        {"latest_ship_date": d(-2), "order_status": "Canceled", "cancelled_at": d(2)},  # not yet cancelled at T
        {"latest_ship_date": d(-2), "order_status": "Canceled"},  # no timestamp: known
        {"latest_ship_date": d(-2), "shipped_at": d(-3)},
    )
    assert counts(value("lsr_10d", data)) == (1, 2)


def test_lsr_is_no_data_without_any_ship_confirmation_never_zero():
    data = orders(
        {"latest_ship_date": d(-2), "order_status": "Shipped"}, {"latest_ship_date": d(-3), "order_status": "Shipped"}
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
def test_cr_counts_seller_amazon_and_unknown_but_never_buyer_cancellations():
    data = orders(
        {"order_status": "Canceled", "cancelled_at": d(-3), "cancelled_by": "seller"},
        {"order_status": "Canceled", "cancelled_at": d(-3), "cancelled_by": "amazon"},
        {"order_status": "Canceled", "cancelled_at": d(-3)},  # unknown initiator: counted
        {"order_status": "Canceled", "cancelled_at": d(-3), "cancelled_by": "buyer"},
        {"order_status": "Canceled", "cancelled_at": d(0), "cancelled_by": "seller"},  # at T: not yet
        {
            "order_status": "Shipped",
            "shipped_at": d(-4),
            "cancelled_at": d(-3),
            "cancelled_by": "seller",
        },  # after shipping
        {},
    )
    assert counts(value("cr_7d", data)) == (3, 7)


def test_cr_headroom_for_a_small_seller():
    data = orders(*([{}] * 40))
    v = value("cr_7d", data)
    # 40 orders, limit 2.5 %: 1 cancellation is 2.5 % (missed), so no cancellation may come
    assert (v.rate, v.status, v.headroom) == (0.0, "good", 0)


# ------------------------------------------------------------------ ODR
def test_odr_counts_orders_with_defects_once_per_order_and_per_channel():
    data = orders(
        {"order_id": "A", "fulfillment_channel": "AFN"},
        {"order_id": "B"},
        {"order_id": "C"},
        {"order_id": "D"},
        {"order_id": "E"},
        {"order_id": "F", "purchase_date": d(-61)},
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
    )
    assert counts(value("odr", data, found, "mfn")) == (1, 4)
    assert counts(value("odr", data, found, "afn")) == (1, 1)


def test_odr_defect_is_attributed_to_the_purchase_date():
    data = orders({"order_id": "A", "purchase_date": d(-59)}, {"order_id": "B", "purchase_date": d(-2)})
    found = defects({"order_id": "A", "defect_type": "a_to_z_claim", "received_at": d(-1)})
    assert counts(value("odr", data, found)) == (1, 2)
    # ten days later the order has left the window, and its claim with it
    assert counts(value("odr", data, found, as_of=d(10))) == (0, 1)


def test_odr_can_leave_cancelled_orders_out_of_the_denominator():
    data = orders({}, {"order_status": "Canceled", "cancelled_at": d(-3)})
    assert counts(value("odr", data)) == (0, 2)
    assert counts(value("odr", data, targets=Targets(odr_count_cancelled=False))) == (0, 1)


# ------------------------------------------------------------------ VTR and OTDR
def test_vtr_counts_valid_tracking_and_unknown_as_not_valid():
    data = orders(
        {"shipped_at": d(-2), "tracking_valid": True},
        {"shipped_at": d(-2), "tracking_valid": False},
        {"shipped_at": d(-2), "tracking_valid": None},
        {"shipped_at": d(-31), "tracking_valid": True},
        {"shipped_at": d(1), "tracking_valid": True},
    )
    v = value("vtr_30d", data)
    assert counts(v) == (1, 3) and v.direction == "min" and v.status == "critical" and v.headroom == 0


def test_vtr_is_no_data_without_tracking_flags():
    v = value("vtr_30d", orders({"shipped_at": d(-2)}, {"shipped_at": d(-3)}))
    assert v.status == "no_data" and "tracking_valid" in v.no_data_reason


def test_otdr_counts_valid_tracking_shipments_due_in_the_window():
    data = orders(
        {"tracking_valid": True, "latest_delivery_date": d(-2), "delivered_at": d(-3)},  # on time
        {"tracking_valid": True, "latest_delivery_date": d(-2), "delivered_at": d(-2)},  # at the promise: on time
        {"tracking_valid": True, "latest_delivery_date": d(-2), "delivered_at": d(-1)},  # late
        {"tracking_valid": True, "latest_delivery_date": d(-2)},  # not delivered, past due: not on time
        {"tracking_valid": True, "latest_delivery_date": d(-2), "delivered_at": d(1)},  # delivered after T: unknown
        {"tracking_valid": False, "latest_delivery_date": d(-2), "delivered_at": d(-3)},  # invalid tracking
        {"tracking_valid": True, "latest_delivery_date": d(-15), "delivered_at": d(-16)},  # before the window
    )
    assert counts(value("otdr_14d", data)) == (2, 5)


# ------------------------------------------------------------------ status and headroom
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


def test_json_fields_follow_the_cli_contract():
    v = to_json(value("lsr_10d", orders({"latest_ship_date": d(-3), "shipped_at": d(-4)})))
    assert {
        "account",
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
    } <= set(v)
    assert v["window_start"] == "2026-10-22T00:00:00+00:00" and v["window_end"] == "2026-11-01T00:00:00+00:00"
