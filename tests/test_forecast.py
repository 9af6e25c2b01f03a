"""Scenario tests of the breach forecast: early enough for a real trend, silent for noise.

A false alarm is a forecast warning (a breach forecast within FORECAST_DAYS, or a
projection that misses) that Amazon's figure does not bear out within FORECAST_DAYS.
Amazon's figure is the v2 value itself: the lagged window, with what is known each day.
"""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np

from monitor import forecast
from monitor import metrics as m
from tests.conftest import TARGETS, T, d, defects, orders


def forecast_warns(v: m.MetricValue) -> bool:
    horizon = (v.as_of.date() + timedelta(days=TARGETS.forecast_days)).isoformat()
    return (v.forecast_breach is not None and v.forecast_breach <= horizon) or v.projection_misses


def false_alarms(series: list[m.MetricValue]) -> int:
    critical = [v.status == "critical" for v in series]
    return sum(forecast_warns(v) and not any(critical[i : i + TARGETS.forecast_days + 1]) for i, v in enumerate(series))


# ------------------------------------------------------------------ LSR
def seller(days: int, per_day: int, late_share, seed: int = 1):
    """MFN orders over `days` days before T; late_share(day_index) gives each day's late share."""
    rng = random.Random(seed)
    rows = []
    for day in range(days):
        ship_by = d(-days + day, hours=20)
        for _ in range(per_day):
            late = rng.random() < late_share(day)
            rows.append(
                {
                    "purchase_date": ship_by - timedelta(days=1),
                    "latest_ship_date": ship_by,
                    "shipped_at": ship_by + timedelta(hours=5 if late else -5),
                }
            )
    return orders(*rows)


def lsr_series(data, days: int):
    return m.history(data, None, T, days, TARGETS, "s", [m.METRICS_BY_ID["lsr_10d"]])


RISING_SEEDS = range(5)
STEADY = [(40, 0.01), (15, 0.01), (40, 0.02), (150, 0.02), (150, 0.025)]


def test_rising_late_shipments_are_forecast_at_least_three_days_before_the_breach():
    """100 MFN orders a day; from day 40 the late share climbs 0.15 points a day from 1 %."""
    leads = []
    for seed in RISING_SEEDS:
        data = seller(100, 100, lambda day: 0.01 if day < 40 else 0.01 + 0.0015 * (day - 40), seed=seed)
        series = lsr_series(data, 88)
        breach = next(i for i, v in enumerate(series) if v.status == "critical")
        warned = next(i for i, v in enumerate(series) if forecast_warns(v))
        leads.append(breach - warned)
        assert series[warned].status == "warning"
    print(f"rising seller: forecast warning came {leads} days before the 10-day LSR reached 4 % (5 seeds)")
    assert min(leads) >= 3


def test_steady_healthy_sellers_get_no_false_forecast_alarm_in_a_year():
    alarms = {}
    for per_day, share in STEADY:
        for seed in range(3):
            data = seller(380, per_day, lambda _day, s=share: s, seed=100 + seed)
            alarms[(per_day, share, seed)] = false_alarms(lsr_series(data, 365))
    print(f"steady LSR sellers: {sum(alarms.values())} false alarms in {len(alarms)} seller-years {alarms}")
    assert sum(alarms.values()) == 0


def test_a_falling_valid_tracking_rate_is_forecast_too():
    rng = random.Random(3)
    rows = []
    for day in range(110):
        shipped = d(-110 + day, hours=12)
        invalid = 0.01 if day < 60 else 0.01 + 0.002 * (day - 60)
        rows += [
            {"shipped_at": shipped, "tracking_valid": rng.random() >= invalid, "tracking_id": "1Z"} for _ in range(100)
        ]
    series = m.history(orders(*rows), None, T, 60, TARGETS, "s", [m.METRICS_BY_ID["vtr_30d"]])
    breach = next(i for i, v in enumerate(series) if v.status == "critical")
    warned = next(i for i, v in enumerate(series) if forecast_warns(v))
    assert breach - warned >= 3


# ------------------------------------------------------------------ ODR: cohorts still filling up
def _claim_delay(rng: random.Random) -> float:
    """Days from purchase to a claim, drawn from the default completeness curve."""
    points = forecast.DEFAULT_CURVES["odr"]
    return float(np.interp(rng.random(), [s for _, s in points], [a for a, _ in points]))


def odr_seller(days: int, per_day: int, share, seed: int):
    """MFN orders over `days` days; each goes bad with share(day), its claim arriving weeks later
    (only claims received before T are in the data, as in a real import)."""
    rng = random.Random(seed)
    rows, claims = [], []
    for day in range(days):
        for _ in range(per_day):
            bought = d(-days + day, hours=rng.uniform(0, 24))
            order_id = f"O{len(rows)}"
            rows.append({"order_id": order_id, "purchase_date": bought})
            if rng.random() < share(day):
                received = bought + timedelta(days=_claim_delay(rng))
                if received < T:
                    claims.append(
                        {"order_id": order_id, "defect_type": "a_to_z_claim", "received_at": received, "status": "open"}
                    )
    return orders(*rows), defects(*claims)


def odr_series(data, found, days: int):
    return [v for v in m.history(data, found, T, days, TARGETS, "s", [m.METRICS_BY_ID["odr"]]) if v.channel == "mfn"]


def rising_defects(day: int) -> float:
    """0.3 % for 150 days, then 0.04 points more every day."""
    return 0.003 if day < 150 else 0.003 + 0.0004 * (day - 150)


def test_a_rising_defect_share_is_warned_of_a_week_before_amazons_odr_crosses_1_percent():
    """metrics.md, Projection and forecast: 100 MFN orders a day, claims arriving over weeks.
    The first warning comes at least 7 days before Amazon's lagged 60-day ODR reaches 1 %,
    and the forecast itself fires before the breach (v1's never did: it read young cohorts
    as complete)."""
    leads, forecast_leads = [], []
    for seed in range(5):
        series = odr_series(*odr_seller(240, 100, rising_defects, seed), 90)
        breach = next(i for i, v in enumerate(series) if v.status == "critical")
        warned = next(i for i, v in enumerate(series) if v.status == "warning")
        forecast_warned = next(i for i, v in enumerate(series) if forecast_warns(v))
        leads.append(breach - warned)
        forecast_leads.append(breach - forecast_warned)
    print(
        f"rising ODR: first warning {leads} days, forecast or projection {forecast_leads} days before Amazon's "
        "ODR reached 1 % (5 seeds)"
    )
    assert min(leads) >= 7 and min(forecast_leads) >= 2


def test_steady_sellers_get_no_false_odr_alarm_in_fifteen_seller_years():
    """Three volumes, defect shares well under 1 %, five seeds each: 0 false alarms."""
    alarms = {}
    for per_day in (20, 100, 400):
        for seed in range(5):
            series = odr_series(*odr_seller(465, per_day, lambda _day: 0.003, 1000 + seed), 365)
            alarms[(per_day, seed)] = false_alarms(series)
            assert not any(v.status == "critical" for v in series)
    print(f"steady ODR sellers (0.3 %): {sum(alarms.values())} false alarms in {len(alarms)} seller-years")
    assert sum(alarms.values()) == 0


def test_the_completeness_curve_is_learned_from_the_accounts_older_orders():
    """metrics.md, Projection: a young cohort's share is scaled by the share of defects orders of
    that age usually have, learned from the account's own older orders (else a default curve)."""
    data, found = odr_seller(300, 100, lambda _day: 0.01, seed=7)
    prepared = m.account_groups(data, found, TARGETS, "s", [m.METRICS_BY_ID["odr"]], None)
    from monitor import counting as cnt

    delays = cnt.delays_at(prepared.countings[m.Family.ODR], m.to_us(T), forecast.CURVE_DAYS["odr"])
    learned = forecast.curve_from_delays("odr", delays)
    default = forecast.default_curve("odr")
    assert learned.learned and delays.sum() > 100
    assert np.abs(learned.completeness[:60] - default.completeness[:60]).max() < 0.12  # claims drawn from it
    assert not forecast.curve_from_delays("odr", np.zeros(91, dtype=int)).learned


def test_a_curve_reads_0_before_the_anchor_day_its_own_share_inside_and_1_beyond_its_end():
    curve = forecast.default_curve("cr")
    ages = np.arange(-3, len(curve.completeness) + 4).reshape(1, -1) + np.zeros((2, 1), dtype=int)  # 2-D, as the roll
    expected = [0.0 if a < 0 else curve.completeness[a] if a < len(curve.completeness) else 1.0 for a in ages[0]]
    got = curve.at(ages)
    assert got.shape == ages.shape and got[0].tolist() == expected and got[1].tolist() == expected
