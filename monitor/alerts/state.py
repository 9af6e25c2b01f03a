"""The alert state machine: pure. One step per alert key and check.

Levels: ok, warning, critical, and no_data (an account whose data went stale).

* A new alert (ok -> warning/critical/no_data) notifies, and so does an
  escalation (warning -> critical, at once).
* A de-escalation (critical -> warning) changes the level quietly.
* While firing, the alert is repeated once `repeat` has passed since the last
  notice.
* An alert clears only when the metric is back below its warning level by a
  margin (hysteresis: a metric hovering at the line does not flap); the
  resolution notifies only if a firing notice went out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.domain import AlertLevel


@dataclass(frozen=True)
class Observation:
    """What a check saw for one key: the metric's status and where it stands."""

    status: str  # critical, warning, good, no_data (from the metric) or stale
    bad_share: float | None = None  # the metric's bad share (rate, or 1 - rate for a min metric)
    clear_share: float | None = None  # below this, a firing alert may clear


@dataclass(frozen=True)
class Previous:
    level: AlertLevel
    since: datetime
    notified_level: str | None
    last_notified_at: datetime | None


@dataclass(frozen=True)
class Step:
    level: AlertLevel
    since: datetime
    event: str | None  # firing, escalated, repeat, resolved, or None
    notified_level: str | None
    last_notified_at: datetime | None


def observed_level(observation: Observation, previous_level: AlertLevel) -> AlertLevel:
    """The level this observation means, with hysteresis on the way down."""
    if observation.status == "stale":
        return AlertLevel.NO_DATA
    if observation.status in ("critical", "warning"):
        return AlertLevel(observation.status)
    held = previous_level in (AlertLevel.WARNING, AlertLevel.CRITICAL) and observation.status == "good"
    if (
        held
        and observation.bad_share is not None
        and observation.clear_share is not None
        and observation.bad_share >= observation.clear_share
    ):
        return AlertLevel.WARNING  # not clearly back: hold the alert rather than flap
    return AlertLevel.OK


def step(previous: Previous | None, observation: Observation, now: datetime, repeat: timedelta) -> Step:
    """The next state of one alert key, and whether (and why) to notify."""
    before = previous.level if previous else AlertLevel.OK
    level = observed_level(observation, before)
    notified = previous.notified_level if previous else None
    last = previous.last_notified_at if previous else None
    since = previous.since if previous and level == before else now
    if level.firing:
        if not before.firing:
            return Step(level, since, "firing", level, now)
        if level.rank > before.rank and level is not AlertLevel.NO_DATA:
            return Step(level, since, "escalated", level, now)
        if last is None or now - last >= repeat:
            return Step(level, since, "repeat", level, now)
        return Step(level, since, None, notified, last)
    if before.firing and notified is not None:
        return Step(level, since, "resolved", None, now)
    return Step(level, since, None, None, last)
