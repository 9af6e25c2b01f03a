"""Random orders in, invariants out."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import counting as cnt
from monitor import metrics as m
from monitor.marketplaces import normalize
from monitor.metrics import Targets
from monitor.present.jsonout import to_json
from tests.conftest import TARGETS, T, d, defects, orders

OFFSET = st.floats(-75, 3, allow_nan=False).map(lambda days: round(days * 24) / 24)  # whole hours
MAYBE = st.none() | OFFSET

order = st.fixed_dictionaries(
    {
        "marketplace": st.sampled_from([None, "amazon.com", "amazon.com", "amazon.ca"]),
        "sales_channel": st.sampled_from([None, None, "Amazon.com", "Non-Amazon"]),
        "buyer_requested_cancel": st.sampled_from([None, True, False]),
        "tracking_id": st.sampled_from([None, "1Z999"]),
        "quantity": st.sampled_from([None, 1, 3]),
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
        "status": st.sampled_from(
            [None, "open", "granted", "denied", "withdrawn", "reversed", "removed", "protected", "fraud"]
        ),
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


LAGS = st.fixed_dictionaries({name: st.integers(0, 20) for name in m.DEFAULT_LAGS})


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(order, min_size=0, max_size=40),
    found=st.lists(defect, max_size=15),
    days=st.integers(1, 20),
    lags=LAGS,
)
def test_history_points_equal_direct_evaluation_and_rates_stay_in_bounds(rows, found, days, lags):
    """Every field of every daily value (projection, forecast, coverage included) is what
    evaluating on that day gives; rates stay in bounds, headroom is exact."""
    data, bad = build(rows, found)
    targets = Targets(lags=lags)
    series = m.history(data, bad, T, days, targets, "acme")
    per_day = len(m.evaluate(data, bad, T, targets, "acme"))
    assert len(series) == days * per_day
    by_key = {(v.as_of, v.marketplace, v.metric, v.channel): v for v in series}
    for k in range(days):
        at = T - timedelta(days=days - 1 - k)
        for direct in m.evaluate(data, bad, at, targets, "acme"):
            point = by_key[(at, direct.marketplace, direct.metric, direct.channel)]
            assert to_json(point) == to_json(direct)
    for point in series:
        assert point.numerator <= point.denominator
        if point.rate is not None:
            assert 0 <= point.rate <= 1 and point.rate == point.numerator / point.denominator
            _check_headroom(point)
        if point.coverage is not None:
            assert 0 <= point.coverage <= 1


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


def test_history_cost_grows_with_orders_plus_days_not_their_product(monkeypatch):
    """Counting operations, not seconds: each group's cohort table is three bincounts over its
    orders, into a table of (days + span) x span cells."""
    rows = orders(
        *[{"purchase_date": d(-k % 60), "latest_ship_date": d(-k % 30), "shipped_at": d(-k % 30)} for k in range(2000)]
    )
    calls = []
    original = cnt._banded

    def spy(day, k_from, k_to, weight, rows_, span, points):
        calls.append((len(day), rows_, span, points))
        return original(day, k_from, k_to, weight, rows_, span, points)

    monkeypatch.setattr(cnt, "_banded", spy)
    m.history(rows, None, T, 365, TARGETS, "s", [m.METRICS_BY_ID["lsr_30d"]])
    assert len(calls) == 3
    assert all(n <= 2000 and table_rows == 365 + span and points == 365 for n, table_rows, span, points in calls)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(order, min_size=0, max_size=40), found=st.lists(defect, max_size=10))
def test_a_counting_made_in_group_order_splits_into_the_same_groups(rows, found):
    """counting(order_by=codes) gathers each group's orders together once, so that split only cuts:
    every group's part is, field for field and order for order, the part of the counting made in
    the orders' order and then sorted by split."""
    data, bad = build(rows, found)
    p = cnt.prepare(data, cnt.first_counting_defect(data, bad), "amazon.com")
    codes = p.group_codes(sorted({str(name) for name in p.marketplace_names}))
    for family in (m.Family.ODR, m.Family.LSR, m.Family.CR, m.Family.VTR, m.Family.OTDR, m.Family.TRACKED):
        plain = cnt.counting(p, family).split(codes)
        grouped = cnt.counting(p, family, order_by=codes).split(codes)
        assert plain.keys() == grouped.keys()
        for code, part in plain.items():
            for name in part.__dataclass_fields__:
                assert getattr(grouped[code], name).tolist() == getattr(part, name).tolist(), (family, code, name)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.sampled_from([None, float("nan"), "amazon.com", "Amazon.ca", "ebay.com", "", 3]), max_size=30)
)
def test_a_rule_of_each_distinct_value_is_the_rule_of_each_row(values):
    """Distinct works a rule out once per distinct value (and once for the missing, as None):
    row for row what the rule says of that row's value, an empty column included."""
    column = pd.Series(values, dtype=object)

    def rule(value):
        return None if value is None else f"{type(value).__name__}:{value}"

    expected = [rule(None if v is None or v != v else v) for v in values]
    assert cnt.Distinct.of(column).map(rule).tolist() == expected
    codes, names = cnt.effective_marketplaces(cnt.Distinct.of(column), "amazon.de")
    assert (
        list(names[codes]) == [(normalize(v) if isinstance(v, str) else None) or "amazon.de" for v in values]
        and codes.dtype == np.int64
    )
