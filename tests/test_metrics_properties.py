"""Random orders in, invariants out."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import metrics as m
from monitor.present.jsonout import to_json
from tests.conftest import TARGETS, T, d, defects, orders

OFFSET = st.floats(-75, 3, allow_nan=False).map(lambda days: round(days * 24) / 24)  # whole hours
MAYBE = st.none() | OFFSET

order = st.fixed_dictionaries(
    {
        "fulfillment_channel": st.sampled_from(["AFN", "MFN", "MFN"]),
        "order_status": st.sampled_from(["Shipped", "Unshipped", "Canceled"]),
        "purchase_date": OFFSET,
        "latest_ship_date": MAYBE,
        "shipped_at": MAYBE,
        "cancelled_at": MAYBE,
        "cancelled_by": st.sampled_from([None, "seller", "buyer", "amazon"]),
        "tracking_valid": st.sampled_from([None, True, False]),
        "latest_delivery_date": MAYBE,
        "delivered_at": MAYBE,
    }
)
defect = st.fixed_dictionaries(
    {
        "index": st.integers(0, 39),
        "defect_type": st.sampled_from(["a_to_z_claim", "chargeback", "negative_feedback"]),
        "received_at": OFFSET,
        "status": st.sampled_from([None, "open", "granted", "denied", "withdrawn", "reversed", "removed"]),
        "rating": st.sampled_from([None, 1, 2, 3, 5]),
    }
)


def build(rows, found):
    data = orders(*[{k: (d(v) if isinstance(v, float) else v) for k, v in r.items()} for r in rows])
    bad = defects(
        *[
            {
                **{k: v for k, v in f.items() if k != "index"},
                "order_id": f"O-{f['index']}",
                "received_at": d(f["received_at"]),
            }
            for f in found
        ]
    )
    return data, bad


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(order, min_size=0, max_size=40), found=st.lists(defect, max_size=15), days=st.integers(1, 20))
def test_history_points_equal_direct_evaluation_and_rates_stay_in_bounds(rows, found, days):
    data, bad = build(rows, found)
    series = m.history(data, bad, T, days, TARGETS, "acme")
    assert len(series) == days * 7
    for point in series:
        (direct,) = [
            v
            for v in m.evaluate(data, bad, point.as_of, TARGETS, "acme", [m.METRICS_BY_ID[point.metric]])
            if v.channel == point.channel
        ]
        assert (point.numerator, point.denominator, point.status, point.headroom) == (
            direct.numerator,
            direct.denominator,
            direct.status,
            direct.headroom,
        ), point
        assert point.numerator <= point.denominator
        if point.rate is not None:
            assert 0 <= point.rate <= 1 and point.rate == point.numerator / point.denominator
            _check_headroom(point)


def _check_headroom(v: m.MetricValue) -> None:
    """headroom is the largest k >= 0 that keeps the target (0 when already missed)."""
    n, limit = v.denominator, v.limit
    bad = v.numerator if v.direction == "max" else n - v.numerator

    def within(k: int) -> bool:
        return (bad + k) / n < limit if v.direction == "max" else (bad + k) / n <= 1 - limit + 1e-12

    if not within(0):
        assert v.headroom == 0
    else:
        assert within(v.headroom) and not within(v.headroom + 1)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(order, min_size=1, max_size=30), found=st.lists(defect, max_size=10), seed=st.randoms())
def test_order_of_rows_does_not_change_any_metric(rows, found, seed):
    data, bad = build(rows, found)
    shuffled = data.sample(frac=1, random_state=seed.randint(0, 10_000)).reset_index(drop=True)
    first = [to_json(v) for v in m.evaluate(data, bad, T, TARGETS, "acme")]
    again = [to_json(v) for v in m.evaluate(shuffled, bad.iloc[::-1], T, TARGETS, "acme")]
    assert first == again


def test_history_cost_grows_with_orders_plus_days_not_their_product():
    """Counting operations, not seconds: every order touches the difference array twice."""
    rows = orders(
        *[{"purchase_date": d(-k % 60), "latest_ship_date": d(-k % 30), "shipped_at": d(-k % 30)} for k in range(2000)]
    )
    p = m.prepare(rows, None)
    c = m.counting(p, m.METRICS_BY_ID["lsr_30d"], "mfn", TARGETS)
    calls = []
    original = m._interval_counts

    def spy(lo, hi, first, days):
        calls.append((len(lo), days))
        return original(lo, hi, first, days)

    m._interval_counts = spy
    try:
        m.count_history(c, m.to_us(T - timedelta(days=364)), 365, 30 * m.US_PER_DAY)
    finally:
        m._interval_counts = original
    assert calls == [(len(c.anchor), 365), (int(c.flag.sum()), 365)]
