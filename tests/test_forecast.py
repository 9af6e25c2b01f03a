"""Scenario tests of the breach forecast: early enough for a real trend, silent for noise."""

from __future__ import annotations

import random
from datetime import timedelta

from monitor import metrics as m
from tests.conftest import TARGETS, T, d, orders


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
    return [v for v in m.history(data, None, T, days, TARGETS, "s", [m.METRICS_BY_ID["lsr_10d"]])]


def forecast_warns(v: m.MetricValue) -> bool:
    return (
        v.forecast_breach is not None
        and (m.from_us(m.to_us(v.as_of)).date() + timedelta(days=TARGETS.forecast_days)).isoformat()
        >= v.forecast_breach
    )


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


def test_steady_healthy_sellers_get_no_forecast_warning_in_a_year():
    alarms = {}
    for per_day, share in STEADY:
        for seed in range(3):
            data = seller(380, per_day, lambda _day, s=share: s, seed=100 + seed)
            series = lsr_series(data, 365)
            alarms[(per_day, share, seed)] = sum(forecast_warns(v) for v in series)
    print(
        f"steady sellers, forecast warnings in 365 days: {sum(alarms.values())} in {len(alarms)} seller-years {alarms}"
    )
    assert sum(alarms.values()) == 0


def test_a_falling_valid_tracking_rate_is_forecast_too():
    rng = random.Random(3)
    rows = []
    for day in range(80):
        shipped = d(-80 + day, hours=12)
        invalid = 0.01 if day < 40 else 0.01 + 0.002 * (day - 40)
        rows += [{"shipped_at": shipped, "tracking_valid": rng.random() >= invalid} for _ in range(100)]
    data = orders(*rows)
    series = m.history(data, None, T, 40, TARGETS, "s", [m.METRICS_BY_ID["vtr_30d"]])
    breach = next(i for i, v in enumerate(series) if v.status == "critical")
    warned = next(i for i, v in enumerate(series) if forecast_warns(v))
    assert breach - warned >= 3
