"""Several daemons, one fleet (PostgreSQL): accounts shared through leases in the database.

Every daemon registers a row in `daemons` and beats it. Every account has a row in
`account_leases`: the daemon that works on it, until when. Each heartbeat (every third of
LEASE_SECONDS) a daemon, in one transaction:

1. renews its own leases;
2. works out its fair share: the accounts divided by the daemons alive (a beat within one lease
   period), rounded up;
3. gives back what it holds beyond that share (a daemon that just started gets its part), or
   claims free and expired leases up to it: `SELECT ... FOR UPDATE SKIP LOCKED`, so two daemons
   never claim the same row and neither waits for the other.

A daemon killed with `kill -9` stops renewing: its leases expire within one lease period and the
others claim them at their next heartbeat, so within two. Work on one account (an import, a
sync, a check) runs only while its lease row is locked `FOR UPDATE` by the transaction doing it
and still held: a daemon whose lease lapsed (a long pause) skips the account instead of working
on it beside the new owner, and a lease is never claimed from under running work (SKIP LOCKED
skips the locked row).

On SQLite there is one daemon per database (monitor.daemon.DaemonLock); no leases.
"""

from __future__ import annotations

import math
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from monitor.models import Account, AccountLease, DaemonRecord


def new_daemon_id() -> str:
    """host:pid:random: unique even when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Lease:
    """What this daemon holds."""

    owner: str
    seconds: float
    account_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def renew_every(self) -> float:
        return self.seconds / 3


def register(session: Session, owner: str, now: datetime) -> None:
    session.merge(
        DaemonRecord(id=owner, host=socket.gethostname(), pid=os.getpid(), started_at=now, beat_at=now, stopped_at=None)
    )


def renew_and_claim(session: Session, lease: Lease, now: datetime) -> Lease:
    """One heartbeat of the lease protocol (see the module's doc); returns what is held now."""
    until = now + timedelta(seconds=lease.seconds)
    session.execute(update(DaemonRecord).where(DaemonRecord.id == lease.owner).values(beat_at=now, stopped_at=None))
    missing = select(Account.id).where(
        ~select(AccountLease.account_id).where(AccountLease.account_id == Account.id).exists()
    )
    new = [{"account_id": account_id} for account_id in session.scalars(missing)]
    if new:  # a new account: free to claim (another daemon may be adding the same row right now)
        session.execute(pg_insert(AccountLease).values(new).on_conflict_do_nothing(index_elements=["account_id"]))
    session.execute(update(AccountLease).where(AccountLease.owner == lease.owner).values(expires_at=until))
    alive = session.scalar(
        select(func.count())
        .select_from(DaemonRecord)
        .where(DaemonRecord.stopped_at.is_(None), DaemonRecord.beat_at > now - timedelta(seconds=lease.seconds))
    )
    total = session.scalar(select(func.count()).select_from(AccountLease)) or 0
    share = math.ceil(total / max(alive or 1, 1))
    mine = sorted(session.scalars(select(AccountLease.account_id).where(AccountLease.owner == lease.owner)))
    if len(mine) > share:  # give back the rest: a daemon that just started takes them
        extra = mine[share:]
        released = session.scalars(
            select(AccountLease.account_id)
            .where(AccountLease.account_id.in_(extra), AccountLease.owner == lease.owner)
            .with_for_update(skip_locked=True)  # not one whose work is running right now
        ).all()
        session.execute(
            update(AccountLease)
            .where(AccountLease.account_id.in_(released))
            .values(owner=None, expires_at=None, acquired_at=None)
        )
        mine = [a for a in mine if a not in set(released)]
    elif len(mine) < share:
        free = session.scalars(
            select(AccountLease.account_id)
            .where(or_(AccountLease.owner.is_(None), AccountLease.expires_at.is_(None), AccountLease.expires_at < now))
            .order_by(AccountLease.account_id)
            .limit(share - len(mine))
            .with_for_update(skip_locked=True)
        ).all()
        if free:
            session.execute(
                update(AccountLease)
                .where(AccountLease.account_id.in_(free))
                .values(owner=lease.owner, expires_at=until, acquired_at=now)
            )
            mine += free
    return Lease(lease.owner, lease.seconds, frozenset(mine))


def holds(session: Session, owner: str, account_id: int, now: datetime) -> bool:
    """Lock the account's lease row for this transaction, if this daemon still holds it; False:
    it does not (expired and maybe taken over), so the work on the account must not happen."""
    row = session.scalar(
        select(AccountLease.account_id)
        .where(and_(AccountLease.account_id == account_id, AccountLease.owner == owner, AccountLease.expires_at > now))
        .with_for_update()
    )
    return row is not None


def release_all(session: Session, owner: str, now: datetime) -> None:
    """A daemon stopping cleanly hands its accounts back at once (no waiting for expiry)."""
    session.execute(
        update(AccountLease).where(AccountLease.owner == owner).values(owner=None, expires_at=None, acquired_at=None)
    )
    session.execute(update(DaemonRecord).where(DaemonRecord.id == owner).values(stopped_at=now))


@dataclass(frozen=True)
class DaemonState:
    id: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    stopped_at: datetime | None
    accounts: tuple[str, ...]  # the keys it holds now
    alive: bool


def daemons(session: Session, now: datetime, lease_seconds: float) -> list[DaemonState]:
    """Every daemon that registered in the last day, with the accounts it holds."""
    held: dict[str, list[str]] = {}
    for owner, key in session.execute(
        select(AccountLease.owner, Account.key)
        .join(Account, Account.id == AccountLease.account_id)
        .where(AccountLease.owner.is_not(None), AccountLease.expires_at > now)
        .order_by(Account.key)
    ):
        held.setdefault(str(owner), []).append(key)
    rows = session.scalars(
        select(DaemonRecord).where(DaemonRecord.beat_at > now - timedelta(days=1)).order_by(DaemonRecord.started_at)
    )
    return [
        DaemonState(
            d.id,
            d.host,
            d.pid,
            d.started_at,
            d.beat_at,
            d.stopped_at,
            tuple(held.get(d.id, [])),
            d.stopped_at is None and d.beat_at > now - timedelta(seconds=lease_seconds),
        )
        for d in rows
    ]
