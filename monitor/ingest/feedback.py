"""Amazon's feedback report as a snapshot of its date range.

The report lists the feedback of a period as it stands now: a rating revised to 3 stars
or more stops counting as a defect, and feedback stored for that period which the report
no longer lists was removed (by the buyer or by Amazon). Nothing is deleted: the stored
feedback and its defect are marked `removed`. The period is the one requested from the
API, or, for a file, its earliest to its latest feedback day.

A feedback report has no marketplace column: feedback whose order is known to be of a
marketplace that none of the report's orders is of is left alone (another marketplace's
report).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.ingest.formats import feedback_key
from monitor.models import Defect, Feedback, Order

IN_CHUNK = 500


def apply_snapshot(
    session: Session,
    import_id: int,
    seen: dict[int, dict[str, tuple[int, datetime]]],
    period: tuple[datetime, datetime] | None,
) -> int:
    """Revise and remove per the report; returns how many stored feedbacks were marked removed."""
    removed = 0
    for account_id, listed in seen.items():
        _revise(session, import_id, account_id, listed)
        if period is not None:
            first, last = period
        elif listed:
            days = [received for _, received in listed.values()]
            first = datetime.combine(min(days).date(), time(0), tzinfo=UTC)
            last = datetime.combine(max(days).date() + timedelta(days=1), time(0), tzinfo=UTC)
        else:
            continue
        removed += _remove_missing(session, import_id, account_id, set(listed), first, last)
    return removed


def _revise(session: Session, import_id: int, account_id: int, listed: dict[str, tuple[int, datetime]]) -> None:
    """A negative feedback revised to 3 stars or more keeps its row, with its new rating."""
    for order_id, (rating, _) in listed.items():
        if rating >= 3:
            session.execute(
                update(Defect)
                .where(
                    Defect.account_id == account_id,
                    Defect.defect_key == feedback_key(order_id),
                    Defect.rating != rating,
                )
                .values(rating=rating, last_import_id=import_id)
            )


def _remove_missing(
    session: Session, import_id: int, account_id: int, listed: set[str], first: datetime, last: datetime
) -> int:
    stored = set(
        session.scalars(
            select(Feedback.order_id).where(
                Feedback.account_id == account_id,
                Feedback.received_at >= first,
                Feedback.received_at < last,
                Feedback.status == "active",
            )
        )
    )
    gone = stored - listed
    if not gone:
        return 0
    gone -= _other_marketplaces(session, account_id, listed, gone)
    for chunk in _chunks(sorted(gone)):
        session.execute(
            update(Feedback)
            .where(Feedback.account_id == account_id, Feedback.order_id.in_(chunk))
            .values(status="removed", last_import_id=import_id)
        )
        session.execute(
            update(Defect)
            .where(Defect.account_id == account_id, Defect.defect_key.in_([feedback_key(o) for o in chunk]))
            .values(status="removed", last_import_id=import_id)
        )
    return len(gone)


def _other_marketplaces(session: Session, account_id: int, listed: set[str], gone: set[str]) -> set[str]:
    """The feedback of `gone` whose order is of a marketplace none of the listed orders is of."""
    covered = {
        m
        for chunk in _chunks(sorted(listed))
        for m in session.scalars(
            select(Order.marketplace).where(Order.account_id == account_id, Order.order_id.in_(chunk)).distinct()
        )
    }
    if not covered or covered == {None}:
        return set()
    other = set()
    for chunk in _chunks(sorted(gone)):
        for order_id, marketplace in session.execute(
            select(Order.order_id, Order.marketplace).where(Order.account_id == account_id, Order.order_id.in_(chunk))
        ):
            if marketplace is not None and marketplace not in covered:
                other.add(order_id)
    return other


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + IN_CHUNK] for i in range(0, len(items), IN_CHUNK)]
