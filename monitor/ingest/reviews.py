"""Etsy's reviews: what its Open API answers for `GET /v3/application/shops/{shop_id}/reviews`
(getReviewsByShop), saved as a file or pulled (monitor/spapi/channels.py): `{"count": N,
"results": [TransactionReview, ...]}`, each with `transaction_id`, `listing_id`, `rating` (1 to
5), `review` and `create_timestamp` / `update_timestamp` in epoch seconds. Several pages may be
saved as one list of answers.

One review per transaction: a review seen again keeps its row, with the newest rating (a buyer
may revise it). A review without a transaction id, a rating from 1 to 5 or a creation time is
quarantined with its JSON; the others count.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from monitor.domain import Source
from monitor.models import Review

if TYPE_CHECKING:
    from monitor.ingest.store import Store

ETSY_REVIEWS = "etsy-reviews"
ETSY = "etsy.com"


def etsy_reviews(document: Any) -> list[Any] | None:
    """The reviews of a saved getReviewsByShop answer (or a list of its pages), else None."""
    pages = document if isinstance(document, list) else [document]
    if not pages or not all(isinstance(p, dict) and isinstance(p.get("results"), list) for p in pages):
        return None
    reviews = [r for p in pages for r in p["results"]]
    objects = [r for r in reviews if isinstance(r, dict)]
    if not objects or not all("rating" in r and ("transaction_id" in r or "listing_id" in r) for r in objects):
        return None
    return reviews


def import_etsy_reviews(session: Session, reviews: list[Any], store: Store) -> tuple[int, list[tuple[int, str, str]]]:
    """Store the reviews of etsy.com: (entries read, [(entry number, reason, its JSON)] quarantined)."""
    account_id = store.account_id(None)
    bad: list[tuple[int, str, str]] = []
    rows: dict[str, dict[str, Any]] = {}
    for number, entry in enumerate(reviews, start=1):
        row, reason = _row(entry)
        if row is None:
            bad.append((number, reason, json.dumps(entry)[:10_000]))
        elif row["review_key"] in rows:
            store.duplicates += 1
            if (row["updated_at"] or row["received_at"]) >= (
                rows[row["review_key"]]["updated_at"] or rows[row["review_key"]]["received_at"]
            ):
                rows[row["review_key"]] = row
        else:
            rows[row["review_key"]] = row
    stored = {
        r.review_key: r
        for r in session.scalars(select(Review).where(Review.account_id == account_id, Review.marketplace == ETSY))
    }
    new = []
    for key, row in rows.items():
        old = stored.get(key)
        if old is None:
            new.append({**row, "account_id": account_id, "marketplace": ETSY, "last_import_id": store.import_id})
        elif (old.rating, old.comment, old.listing_id) != (row["rating"], row["comment"], row["listing_id"]):
            session.execute(update(Review).where(Review.id == old.id).values(**row, last_import_id=store.import_id))
            store.updated += 1
        else:
            store.skipped += 1
    if new:
        session.execute(insert(Review), new)
        store.inserted += len(new)
    if rows:
        store.note(account_id, ETSY, Source.REVIEWS, max(r["received_at"] for r in rows.values()))
    return len(reviews), bad


def _row(entry: Any) -> tuple[dict[str, Any] | None, str]:
    if not isinstance(entry, dict):
        return None, "a review that is not an object"
    key = entry.get("transaction_id")
    if isinstance(key, bool) or not isinstance(key, int | str) or not str(key).strip():
        return None, "a review without a transaction_id"
    rating = entry.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        return None, f"a rating that is not a whole number from 1 to 5: {str(rating)[:40]!r}"
    created = _epoch(entry.get("create_timestamp", entry.get("created_timestamp")))
    if created is None:
        return None, "a review without a creation time (create_timestamp, epoch seconds)"
    comment = entry.get("review")
    listing = entry.get("listing_id")
    return {
        "review_key": str(key).strip()[:100],
        "listing_id": None if listing is None or isinstance(listing, bool) else str(listing)[:100],
        "received_at": created,
        "rating": rating,
        "comment": comment if isinstance(comment, str) and comment else None,
        "updated_at": _epoch(entry.get("update_timestamp", entry.get("updated_timestamp"))),
    }, ""


def _epoch(value: Any) -> datetime | None:
    """Epoch seconds (Etsy's timestamps), from 2000 to 2100, as a UTC time; else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if not 946_684_800 <= value < 4_102_444_800:
        return None
    return datetime.fromtimestamp(value, tz=UTC)
