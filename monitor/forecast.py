"""What Amazon will show in the coming days: the projection, and the trend forecast. Pure.

Both read daily cohorts as known now (counting.Cohorts: index `today` is day0's cohort).

**Projection.** Amazon's window ends `lag` days before its report day, so the orders its
windows will hold over the next `lag` days are already placed, shipped or promised.
Each of those windows, counted with what is known now, is a floor for a MAX metric
(defects still to come can only add): the worst of them is `projected`.

**Forecast.** Beyond the lag the window takes in days that have not happened yet:

1. Each recent complete cohort's eventual bad share is estimated. For ODR and CR a young
   cohort is still filling up (claims arrive weeks after the order), so its known bad
   count is divided by the share of defects that orders of its age usually have by then
   (the completeness curve, learned from the account's older orders, else a default).
2. A line is drawn through the last FIT_DAYS estimates, each day weighted by its orders
   times its completeness: at the recent level, less LEVEL_Z standard errors (binomial
   noise), rising only when a weighted least-squares slope is at least MIN_T standard
   errors above zero, and then by the slope less CAUTION standard errors. A seller whose
   recent orders already go bad more often than the target allows is forecast to breach
   when those orders enter Amazon's window; a steady seller's noise is not.
3. Amazon's window is rolled forward day by day: known cohorts keep their known bad
   (plus, for ODR and CR, the defects their age says are still to come), days to come
   get the recent daily volume at the line's share. The first day the window misses the
   target is the forecast breach, up to HORIZON_DAYS ahead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from monitor.counting import Cohorts

FIT_DAYS = 21
MIN_DAYS_WITH_ORDERS = 10
MIN_T = 2.5
HORIZON_DAYS = 30
CAUTION = 0.5  # standard errors taken off the slope before projecting
LEVEL_Z = 1.0  # standard errors taken off the recent level before projecting
MIN_COMPLETENESS = 0.15  # younger cohorts say too little to fit on
MIN_CURVE_SAMPLES = 30  # fewer learned delays than this: the default curve

# Default completeness curves (ours): the share of a cohort's eventual defects known at each
# age in days, as (age, share) points, linear in between. A-to-z claims may be filed up to 90
# days after the latest delivery date and feedback within 90 days; cancellations come in days.
DEFAULT_CURVES = {
    "odr": ((0, 0.0), (7, 0.25), (14, 0.5), (21, 0.65), (30, 0.78), (45, 0.9), (60, 0.96), (90, 1.0)),
    "cr": ((0, 0.0), (1, 0.8), (2, 0.92), (3, 0.97), (7, 1.0)),
}
CURVE_DAYS = {"odr": 90, "cr": 14}


@dataclass(frozen=True)
class Curve:
    """completeness[a]: the share of eventual bad events known a days after the anchor day
    (1 beyond the end)."""

    completeness: np.ndarray
    learned: bool

    def at(self, ages: np.ndarray) -> np.ndarray:
        """The completeness at each age: 0 before the anchor day, 1 beyond the curve's end."""
        return self._padded[_clip(ages, -1, len(self.completeness)) + 1]

    @cached_property
    def _padded(self) -> np.ndarray:  # [age -1, the curve..., past its end]: one look-up per age
        return np.concatenate(([0.0], self.completeness, [1.0]))


def default_curve(family: str) -> Curve:
    points = DEFAULT_CURVES[family]
    days = CURVE_DAYS[family]
    ages = np.arange(days + 1)
    return Curve(np.interp(ages, [a for a, _ in points], [s for _, s in points]), learned=False)


def curve_from_delays(family: str, delays: np.ndarray) -> Curve:
    """The completeness curve from a histogram of delays in days (see counting.delays_at):
    at age a, the share of delays shorter than a days."""
    total = int(delays.sum())
    if total < MIN_CURVE_SAMPLES:
        return default_curve(family)
    shorter = np.concatenate(([0], np.cumsum(delays)[:-1])) / total
    return Curve(shorter, learned=True)


# ------------------------------------------------------------------ the projection
@dataclass(frozen=True)
class Projection:
    days_ahead: int
    bad: int
    judged: int


def project(cohorts: Cohorts, today: int, window_days: int, lag: int) -> Projection | None:
    """The window with the worst bad share Amazon will show over the next max(lag, 1) days,
    counted with what is known now (None when those windows hold no judged order)."""
    ahead = np.arange(1, max(lag, 1) + 1)
    starts = np.maximum(today - lag - window_days + ahead, 0)
    ends = today - lag + ahead
    judged_sums = np.concatenate(([0], np.cumsum(cohorts.judged)))
    bad_sums = np.concatenate(([0], np.cumsum(cohorts.bad)))
    judged = judged_sums[ends] - judged_sums[starts]
    bad = bad_sums[ends] - bad_sums[starts]
    worst: Projection | None = None
    for k, j, b in zip(ahead.tolist(), judged.tolist(), bad.tolist(), strict=True):
        if j and (worst is None or b * worst.judged > worst.bad * j):  # exact: no float ties
            worst = Projection(k, b, j)
    return worst


# ------------------------------------------------------------------ the forecast
def days_to_breach(
    cohorts: Cohorts, today: int, window_days: int, lag: int, allowance: float, strict: bool, curve: Curve | None = None
) -> int | None:
    """Days from now until Amazon's window's bad share reaches `allowance` (`strict`: exceeds
    it) if the trend of the recent cohorts goes on; None when there is no trusted rising trend."""
    n = cohorts.judged.astype(float)
    b = cohorts.bad.astype(float)
    fit = np.arange(max(0, today - FIT_DAYS), today)  # the complete days before today
    trend = _trend(fit, n[fit], b[fit], curve.at(today - fit) if curve else np.ones(len(fit)))
    if trend is None:
        return None
    slope, intercept = trend
    recent = n[max(0, today - 7) : today]
    per_day = float(recent.sum()) / len(recent) if len(recent) else 0.0  # the mean, without np.mean's overhead
    if per_day <= 0:
        return None
    days = np.arange(today - lag - window_days + 1, today - lag + HORIZON_DAYS)  # every cohort any window needs
    share = _clip(intercept + slope * days, 0.0, 1.0)
    known = days < len(n)
    n_days = np.where(known, n[np.minimum(days, len(n) - 1)], 0.0)
    b_days = np.where(known, b[np.minimum(days, len(n) - 1)], 0.0)
    future = days >= today
    n_days = np.where(future, np.maximum(n_days, per_day), n_days)
    ahead = np.arange(1, HORIZON_DAYS + 1)[:, None]  # j, one row per day ahead
    age_then = (today - days)[None, :] + ahead
    if curve is not None:
        c_then = curve.at(age_then)
        still_to_come = np.maximum(c_then - curve.at(today - days)[None, :], 0.0)
        bad = np.where(
            future[None, :], np.maximum(b_days, n_days * share * c_then), b_days + n_days * share * still_to_come
        )
    else:
        bad = np.where(future[None, :], np.maximum(b_days, n_days * share)[None, :], b_days[None, :])
        bad = np.broadcast_to(bad, (HORIZON_DAYS, len(days)))
    start = (today - lag - window_days + ahead) - days[0]
    column = np.arange(len(days))[None, :]
    in_window = (column >= start) & (column < start + window_days)
    total_n = (in_window * n_days[None, :]).sum(axis=1)
    total_b = (in_window * bad).sum(axis=1)
    window_share = np.divide(total_b, total_n, out=np.zeros(HORIZON_DAYS), where=total_n > 0)
    missed = window_share > allowance if strict else window_share >= allowance
    hits = np.flatnonzero(missed)
    return int(hits[0]) + 1 if len(hits) else None


def _trend(x: np.ndarray, n: np.ndarray, b: np.ndarray, completeness: np.ndarray) -> tuple[float, float] | None:
    """A cautious line through the estimated eventual bad shares of the recent cohorts:
    (slope, intercept), or None with too few days to say anything.

    Its level is the recent share's lower confidence bound (LEVEL_Z binomial standard
    errors under the estimate), and it rises only when the rise is clear of the noise
    (MIN_T standard errors), by the slope less CAUTION standard errors."""
    effective = n * completeness
    has = (n > 0) & (completeness >= MIN_COMPLETENESS)
    if has.sum() < MIN_DAYS_WITH_ORDERS:
        return None
    x, eff = x[has].astype(float), effective[has]
    total = float(eff.sum())
    share = _clip(b[has] / eff, 0.0, 1.0)
    w = eff / total
    x_mean = float((w * x).sum())
    level = float((w * share).sum())
    floor = max(level, 1 / total)  # never less noise than one order's worth
    cautious_level = level - LEVEL_Z * math.sqrt(floor * (1 - floor) / total)
    slope = _significant_slope(x, eff, share, w, x_mean, level)
    return slope, cautious_level - slope * x_mean


def _significant_slope(
    x: np.ndarray, eff: np.ndarray, share: np.ndarray, w: np.ndarray, x_mean: float, level: float
) -> float:
    """The weighted least-squares slope less CAUTION standard errors, when it is at least MIN_T
    standard errors above zero; else 0."""
    sxx = float((w * (x - x_mean) ** 2).sum())
    if sxx == 0:
        return 0.0
    slope = float((w * (x - x_mean) * (share - level)).sum()) / sxx
    if slope <= 0:
        return 0.0
    # the noise of a share from n orders: binomial, around the fitted line (never below one order's worth)
    fitted = _clip(level + slope * (x - x_mean), 1 / eff.max(), 1.0)
    variance = fitted * (1 - fitted) / eff
    se = math.sqrt(float((w**2 * (x - x_mean) ** 2 * variance).sum())) / sxx
    if se > 0 and slope / se < MIN_T:
        return 0.0
    return slope - CAUTION * se


def _clip(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """np.clip's values (NaN stays NaN) for the few-element arrays here, where np.clip's own
    checks cost more than the work (2 to 4 us a call against 1.1 to 1.3)."""
    return np.minimum(np.maximum(values, low), high)
