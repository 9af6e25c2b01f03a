"""The headline in words: one sentence for the index, the account page and the alert's subject.

"LSR 10d on Amazon.com (US) 7.44 % (limit 4 %), critical since 20 Nov, first crossed 12 Nov;
2 orders still unconfirmed past or at their ship-by: 113-..., 113-..."
"""

from __future__ import annotations

from datetime import date

from monitor.domain import Direction, Family, Status
from monitor.headline import Headline
from monitor.marketplaces import UNKNOWN
from monitor.marketplaces import name as marketplace_name
from monitor.present import fmt

DO_NOW = {
    Family.ODR: "answer every open claim and negative feedback today",
    Family.LSR: "confirm every shipment the day it leaves",
    Family.CR: "check the stock of the SKUs cancelled",
    Family.VTR: "confirm shipments with the carrier's real tracking number",
    Family.OTDR: "check the carrier and service of the late deliveries",
    Family.TRACKED: "upload each tracking number before the ship-by date",
    Family.REVIEWS: "answer the buyers of the low reviews",
    Family.RATING: "answer the buyers of the reviews below 5 stars",
}


def short_day(day: date | None) -> str:
    return fmt.NONE if day is None else f"{day.day} {day:%b}"


def sentence(h: Headline) -> str:
    """The headline, one line, no control characters."""
    if h.fault is not None:
        return fmt.clean(f"the monitor cannot evaluate this account ({h.fault})")
    prefix = f"stale data (newest order {fmt.minute(h.stale_since)}); " if h.stale_since is not None else ""
    v = h.value
    if v is None:
        return fmt.clean(prefix + "no orders imported yet")
    where = f" on {marketplace_name(v.marketplace)}" if v.marketplace != UNKNOWN else ""
    name = f"{v.definition.short_name()}{'' if v.channel == 'mfn' or v.definition.family is not Family.ODR else ' ' + v.channel.upper()}"
    amount = fmt.target(v.limit, v.direction, unit=v.definition.unit).split(" ", 1)[1]  # "4 %", "4.8 stars"
    limit = f"limit {amount}" if v.direction == Direction.MAX else f"target {amount} or more"
    if h.status == Status.NO_DATA:
        return fmt.clean(f"{prefix}{name}{where}: no data ({v.no_data_reason or 'nothing to judge'})")
    head = f"{prefix}{name}{where} {fmt.figure(v)} ({limit})"
    if h.status == Status.GOOD:
        room = f", room for {fmt.more(v.headroom, v.definition.miss_label)}" if v.headroom is not None else ""
        return fmt.clean(f"{head}, within target{room}")
    parts = [f"{head}, {fmt.status_label(h.status)} since {short_day(h.since)}"]
    if h.warned_since is not None and h.since is not None and h.warned_since < h.since:
        parts[0] += f" (warned from {short_day(h.warned_since)})"
    if h.first_crossed is not None and h.first_crossed != h.since:
        parts[0] += f", first crossed {short_day(h.first_crossed)}"
    if v.projected_rate is not None and v.status != Status.CRITICAL and v.projected_date:
        projected = date.fromisoformat(v.projected_date)
        parts.append(f"Amazon will show at least {fmt.percent(v.projected_rate)} on {short_day(projected)}")
    elif v.forecast_breach:
        parts.append(f"breach forecast for {short_day(date.fromisoformat(v.forecast_breach))}")
    if h.savable_count:
        parts.append(
            f"{h.savable_count} {'order' if h.savable_count == 1 else 'orders'} still unconfirmed past or at "
            f"{'its' if h.savable_count == 1 else 'their'} ship-by: {', '.join(h.savable)}"
            + (", ..." if h.savable_count > len(h.savable) else "")
        )
    else:
        parts.append(DO_NOW[v.definition.family])
    return fmt.clean("; ".join(parts))
