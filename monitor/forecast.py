"""When will a metric miss its target if the recent trend continues? Pure.

A metric's window value is the sum of daily cohorts (the orders whose anchor
falls on one day). Rolling window values overlap and lag, so the trend is
fitted to the daily cohorts instead, which are independent of each other:

1. Take the bad share of each of the last FIT_DAYS daily cohorts (late
   shipments of the orders due that day, and so on), in "bad share" space (for
   a min metric, 1 - its good share).
2. Fit a straight line, weighting each day by its number of orders.
3. Trust the line only when it rises clearly above the day-to-day noise: its
   slope must be at least MIN_T standard errors above zero.
4. Project the coming days' cohorts on that line (with the recent average
   number of orders a day), roll the metric's window forward day by day over
   the known and the projected cohorts, and report the first day on which the
   window misses the target, up to HORIZON_DAYS ahead.

Scenario tests (tests/test_forecast.py) show the trade-off: a steadily rising
late-shipment rate is flagged days before it reaches the limit, and steady,
noisy sellers get no forecast warning over a year.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

FIT_DAYS = 21
MIN_DAYS_WITH_ORDERS = 10
MIN_T = 2.5
HORIZON_DAYS = 30
CAUTION = 0.5  # standard errors taken off the slope before projecting


def days_to_breach(
    eligible: Sequence[int] | np.ndarray,
    bad: Sequence[int] | np.ndarray,
    window_days: int,
    allowance: float,
    strict: bool,
) -> int | None:
    """Days from now until the window's bad share reaches `allowance` (`strict`: exceeds it).

    `eligible` and `bad` are daily cohort counts, oldest first, the last one ending now;
    they must cover at least max(window_days, FIT_DAYS) days.
    """
    n = np.asarray(eligible, dtype=float)
    b = np.asarray(bad, dtype=float)
    slope, intercept = _trend(n[-FIT_DAYS:], b[-FIT_DAYS:])
    if slope is None:
        return None
    per_day = float(n[-7:].mean())
    if per_day <= 0:
        return None
    known_n, known_b = list(n[-window_days:]), list(b[-window_days:])
    for ahead in range(1, HORIZON_DAYS + 1):
        share = min(max(intercept + slope * (FIT_DAYS - 1 + ahead), 0.0), 1.0)
        known_n = known_n[1:] + [per_day]
        known_b = known_b[1:] + [per_day * share]
        total = sum(known_n)
        window_share = sum(known_b) / total if total else 0.0
        if window_share > allowance or (not strict and window_share >= allowance):
            return ahead
    return None


def _trend(n: np.ndarray, b: np.ndarray) -> tuple[float | None, float]:
    """Weighted least-squares line through the daily bad shares; (None, 0) when not trusted."""
    x = np.arange(len(n), dtype=float)
    has = n > 0
    if has.sum() < MIN_DAYS_WITH_ORDERS:
        return None, 0.0
    x, n, share = x[has], n[has], b[has] / n[has]
    w = n / n.sum()
    x_mean, y_mean = float((w * x).sum()), float((w * share).sum())
    sxx = float((w * (x - x_mean) ** 2).sum())
    if sxx == 0:
        return None, 0.0
    slope = float((w * (x - x_mean) * (share - y_mean)).sum()) / sxx
    intercept = y_mean - slope * x_mean
    if slope <= 0:
        return None, 0.0
    # the noise of a share from n orders: binomial, around the fitted line (never below one order's worth)
    fitted = np.clip(intercept + slope * x, 1 / n.max(), 1.0)
    variance = fitted * (1 - fitted) / n
    weights = n / n.sum()
    se = math.sqrt(float((weights**2 * (x - x_mean) ** 2 * variance).sum())) / sxx
    if se > 0 and slope / se < MIN_T:
        return None, 0.0
    # project the cautious slope (one standard error less), pivoting on the weighted mean
    cautious = slope - CAUTION * se
    return cautious, y_mean - cautious * x_mean
