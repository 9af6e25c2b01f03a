"""The appeal kit: a case log of every interaction with Amazon, an evidence checklist per
deactivation reason, recorded actions, and a plan-of-action draft built from the data."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.accounts import require_account
from monitor.errors import UsageError
from monitor.models import Account, AppealAction, CaseEntry, Evidence
from monitor.timeutil import utcnow

MEDIA = ("case", "email", "phone", "chat")  # how an interaction with Amazon took place
KINDS = ("corrective", "preventive")

# What Amazon usually asks for, per deactivation reason (Seller Central's appeal guidance).
CHECKLISTS: dict[str, list[tuple[str, str]]] = {
    "odr": [
        ("order-export", "Export of the orders with defects (claims, chargebacks, negative feedback)"),
        ("claim-responses", "Your answers to each A-to-z claim and chargeback, with dates"),
        ("supplier-invoices", "Supplier invoices for the affected products (quality issues)"),
        ("quality-checks", "Proof of added quality checks or packaging changes"),
        ("customer-service-policy", "Your customer-service policy: response times, refunds, returns"),
    ],
    "lsr": [
        ("shipping-log", "Shipping log of the late orders: ship-by date, actual ship date, carrier"),
        ("handling-time-change", "Screenshot of the new handling times in shipping settings"),
        ("carrier-contract", "Carrier contract or pick-up schedule (new carrier or earlier pick-up)"),
        ("staffing-plan", "Fulfilment process or staffing changes (who confirms shipments, when)"),
    ],
    "cr": [
        ("inventory-reconciliation", "Inventory reconciliation showing how stock-outs happened"),
        ("inventory-sync", "Proof of inventory sync across sales channels (tool, settings)"),
        ("cancelled-orders", "List of the cancelled orders with the reason for each"),
    ],
    "ip-authenticity": [
        ("supplier-invoices", "Supplier invoices (last 365 days) matching the ASINs"),
        ("letter-of-authorisation", "Letter of authorisation from the brand owner"),
        ("supplier-contact", "Supplier contact details (name, address, phone, website)"),
        ("rights-owner-retraction", "Retraction from the rights owner, if obtained"),
    ],
    "restricted-product": [
        ("compliance-documents", "Certificates of compliance, safety data sheets, test reports"),
        ("listing-changes", "Proof the listing was corrected or removed"),
        ("approval", "Category or product approval, if required"),
    ],
    "policy": [
        ("policy-review", "What the policy requires and how your process now follows it"),
        ("process-changes", "Proof of the changed process (screenshots, procedures)"),
        ("training", "Training or instructions given to staff"),
    ],
}
REASONS = {"odr": "odr", "lsr": "lsr", "lsr_10d": "lsr", "lsr_30d": "lsr", "cr": "cr", "cr_7d": "cr"}


def reason_key(reason: str) -> str:
    key = REASONS.get(reason, reason)
    if key not in CHECKLISTS:
        raise UsageError(f"unknown reason {reason!r} (known: {', '.join(CHECKLISTS)})")
    return key


# ------------------------------------------------------------------ case log
def add_case(
    session: Session,
    account: str,
    medium: str,
    summary: str,
    case_id: str | None = None,
    outcome: str | None = None,
    follow_up_on: date | None = None,
    occurred_at: datetime | None = None,
) -> CaseEntry:
    if medium not in MEDIA:
        raise UsageError(f"--medium {medium}: one of {', '.join(MEDIA)}")
    now = utcnow()
    entry = CaseEntry(
        account_id=require_account(session, account).id,
        occurred_at=occurred_at or now,
        medium=medium,
        case_id=case_id,
        summary=summary,
        outcome=outcome,
        follow_up_on=follow_up_on,
        closed=False,
        created_at=now,
        updated_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def cases(session: Session, account: str | None = None) -> list[tuple[str, CaseEntry]]:
    query = select(Account.key, CaseEntry).join(Account, Account.id == CaseEntry.account_id)
    if account:
        query = query.where(Account.key == account)
    return [(key, entry) for key, entry in session.execute(query.order_by(CaseEntry.occurred_at, CaseEntry.id))]


def get_case(session: Session, case_number: int) -> CaseEntry:
    entry = session.get(CaseEntry, case_number)
    if entry is None:
        raise UsageError(f"no case log entry #{case_number}")
    return entry


def update_case(
    session: Session,
    case_number: int,
    outcome: str | None = None,
    follow_up_on: date | None = None,
    summary: str | None = None,
    close: bool = False,
) -> CaseEntry:
    entry = get_case(session, case_number)
    if outcome is not None:
        entry.outcome = outcome
    if summary is not None:
        entry.summary = summary
    if follow_up_on is not None:
        entry.follow_up_on, entry.reminded_at = follow_up_on, None  # a new date, a new reminder
    if close:
        entry.closed = True
    entry.updated_at = utcnow()
    return entry


def due_follow_ups(session: Session, today: date) -> list[tuple[str, CaseEntry]]:
    """Open entries whose follow-up date has come and that were not reminded of yet."""
    return [
        (key, entry)
        for key, entry in session.execute(
            select(Account.key, CaseEntry)
            .join(Account, Account.id == CaseEntry.account_id)
            .where(
                CaseEntry.follow_up_on.is_not(None),
                CaseEntry.follow_up_on <= today,
                CaseEntry.reminded_at.is_(None),
                CaseEntry.closed.is_(False),
            )
            .order_by(CaseEntry.follow_up_on)
        )
    ]


# ------------------------------------------------------------------ evidence
@dataclass(frozen=True)
class ChecklistItem:
    item: str
    description: str
    files: list[Evidence]

    @property
    def missing(self) -> bool:
        return not self.files


def attach(
    session: Session, folder: Path, account: str, reason: str, item: str, source: Path, note: str | None = None
) -> Evidence:
    """Copy a document into the monitor's evidence folder and record it (path and sha256)."""
    key = reason_key(reason)
    items = dict(CHECKLISTS[key])
    if item not in items:
        raise UsageError(f"--item {item}: not on the {key} checklist (items: {', '.join(items)})")
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    owner = require_account(session, account)
    target = folder / f"account-{owner.id}" / key / f"{digest[:12]}-{source.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    evidence = Evidence(
        account_id=owner.id,
        reason=key,
        item=item,
        original_path=str(source.resolve()),
        stored_path=str(target.resolve()),
        sha256=digest,
        note=note,
        added_at=utcnow(),
    )
    session.add(evidence)
    session.flush()
    return evidence


def checklist(session: Session, account: str, reason: str) -> list[ChecklistItem]:
    """Every item of the reason's checklist with the files attached to it (none = missing)."""
    key = reason_key(reason)
    owner = require_account(session, account)
    files = list(
        session.scalars(
            select(Evidence).where(Evidence.account_id == owner.id, Evidence.reason == key).order_by(Evidence.id)
        )
    )
    return [ChecklistItem(item, text, [f for f in files if f.item == item]) for item, text in CHECKLISTS[key]]


# ------------------------------------------------------------------ actions
def add_action(
    session: Session, account: str, metric: str, kind: str, description: str, taken_on: date | None = None
) -> AppealAction:
    from monitor.metrics import metric_def

    metric_def(metric)
    if kind not in KINDS:
        raise UsageError(f"--kind {kind}: corrective or preventive")
    action = AppealAction(
        account_id=require_account(session, account).id,
        metric=metric,
        kind=kind,
        description=description,
        taken_on=taken_on or utcnow().date(),
        created_at=utcnow(),
    )
    session.add(action)
    session.flush()
    return action


def actions(session: Session, account: str, metric: str | None = None) -> list[AppealAction]:
    owner = require_account(session, account)
    query = select(AppealAction).where(AppealAction.account_id == owner.id)
    if metric:
        from monitor.metrics import METRICS, metric_def

        family = metric_def(metric).family
        query = query.where(AppealAction.metric.in_([m.id for m in METRICS if m.family is family]))
    return list(session.scalars(query.order_by(AppealAction.taken_on, AppealAction.id)))
