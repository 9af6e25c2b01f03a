"""What each account's data carries (account_sources), rebuilt from the stored data.

Imports keep account_sources up to date as they write (ingest/store.py); this rebuilds
it from scratch, for data written by other means (a restore, a bulk load, a benchmark).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, literal, select, union_all
from sqlalchemy.orm import Session

from monitor.counting import is_amazon_sales_channel
from monitor.domain import ORDER_SOURCES, Source
from monitor.marketplaces import normalize
from monitor.models import AccountSource, Defect, Feedback, Order, PerformanceReport, Review
from monitor.timeutil import utcnow


def rebuild_sources(session: Session, account_ids: list[int] | None = None) -> int:
    """Recompute account_sources of these accounts (all when None); returns the rows written."""
    now = utcnow()
    scope = delete(AccountSource)
    if account_ids is not None:
        scope = scope.where(AccountSource.account_id.in_(account_ids))
    session.execute(scope)
    rows: list[dict[str, object]] = []
    marketplace = func.coalesce(Order.marketplace, "")
    channels = session.scalars(select(Order.sales_channel).where(Order.sales_channel.is_not(None)).distinct())
    other = [c for c in channels if not is_amazon_sales_channel(c)]  # multi-channel orders count nowhere
    for source, (carried, newest, mfn_only) in ORDER_SOURCES.items():
        query = (
            select(Order.account_id, marketplace, func.max(getattr(Order, newest)), func.max(Order.last_import_id))
            .where(
                getattr(Order, carried).is_not(None), Order.sales_channel.is_(None) | Order.sales_channel.not_in(other)
            )
            .group_by(Order.account_id, marketplace)
        )
        if mfn_only:
            query = query.where(Order.fulfillment_channel == "MFN")
        rows += _rows(session, query, source, account_ids, now, Order.account_id)
    feedback = union_all(  # a feedback report, or negative feedback in a defects file
        select(Feedback.account_id, Feedback.received_at, Feedback.last_import_id),
        select(Defect.account_id, Defect.received_at, Defect.last_import_id).where(
            Defect.defect_type == "negative_feedback"
        ),
    ).subquery()
    rows += _rows(
        session,
        select(
            feedback.c.account_id, literal(""), func.max(feedback.c.received_at), func.max(feedback.c.last_import_id)
        ).group_by(feedback.c.account_id),
        Source.FEEDBACK,
        account_ids,
        now,
        feedback.c.account_id,
    )
    rows += _rows(
        session,
        select(Defect.account_id, literal(""), func.max(Defect.received_at), func.max(Defect.last_import_id))
        .where(Defect.defect_type != "negative_feedback")
        .group_by(Defect.account_id),
        Source.CLAIMS,
        account_ids,
        now,
        Defect.account_id,
    )
    reports = select(
        PerformanceReport.account_id,
        PerformanceReport.marketplace_id,
        func.max(PerformanceReport.imported_at),
        func.max(PerformanceReport.import_id),
    ).group_by(PerformanceReport.account_id, PerformanceReport.marketplace_id)
    for row in _rows(session, reports, Source.AMAZON_REPORT, account_ids, now, PerformanceReport.account_id):
        row["marketplace"] = normalize(str(row["marketplace"])) or ""
        rows.append(row)
    rows += _rows(
        session,
        select(
            Review.account_id, Review.marketplace, func.max(Review.received_at), func.max(Review.last_import_id)
        ).group_by(Review.account_id, Review.marketplace),
        Source.REVIEWS,
        account_ids,
        now,
        Review.account_id,
    )
    if rows:
        session.execute(insert(AccountSource), rows)
    return len(rows)


def _rows(
    session: Session,
    query: Select[Any, Any, Any, Any],
    source: Source,
    account_ids: list[int] | None,
    now: datetime,
    account_column: Any,
) -> list[dict[str, object]]:
    if account_ids is not None:
        query = query.where(account_column.in_(account_ids))
    return [
        {
            "account_id": account,
            "marketplace": market or "",
            "source": str(source),
            "newest_data_at": newest,
            "last_import_id": last,
            "last_import_at": now,
        }
        for account, market, newest, last in session.execute(query)
    ]
