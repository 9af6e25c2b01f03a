"""Work in proportion to change: an incremental check and dashboard give exactly what a full
recomputation gives, while evaluating and writing only what changed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from monitor.config import load_settings, with_values
from monitor.health import SharedLoads
from monitor.models import Account, AlertState, Notification
from monitor.monitor import Monitor
from tests.conftest import ORDERS_HEADER, shop, write

T1 = datetime(2026, 11, 1, 6, tzinfo=UTC)


def healthy(folder, prefix: str, late: int = 0):
    rows = [
        f"{prefix}-{n},2026-10-28T10:00:00Z,MFN,Shipped,2026-10-30T23:59:59Z,"
        f"{'2026-10-31T10:00:00Z' if n < late else '2026-10-29T10:00:00Z'},,,true,UPS,MUG"
        for n in range(30)
    ]
    rows.append(f"{prefix}-FBA,2026-10-31T20:00:00Z,AFN,Pending,,,,,,,MUG")
    folder.mkdir(parents=True, exist_ok=True)
    return write(folder / f"{prefix}-{late}.csv", ORDERS_HEADER + "\n".join(rows) + "\n")


def state(monitor: Monitor) -> tuple[list, list]:
    with monitor.sessions() as session:
        keys = {a.id: a.key for a in session.scalars(select(Account))}
        alerts = sorted(
            (keys[a.account_id], a.marketplace, a.metric, a.channel, a.level, a.notified_level, a.last_rate)
            for a in session.scalars(select(AlertState))
        )
        sent = sorted((keys[n.account_id], n.subject) for n in session.scalars(select(Notification)))
    return alerts, sent


def index_body(monitor: Monitor) -> str:
    page = (monitor.build_dashboards().index).read_text(encoding="utf-8")
    return re.sub(r"as of [\d-]+ [\d:]+ UTC", "", page)


def test_incremental_cycles_give_exactly_what_full_ones_give(tmp_path):
    monitors = {}
    for mode in ("incremental", "full"):
        settings = load_settings(
            environ={
                "DATABASE_URL": f"sqlite:///{tmp_path / mode / 'm.db'}",
                "REPORTS_DIR": str(tmp_path / mode / "reports"),
                "INBOX_DIR": str(tmp_path / mode / "inbox"),
            }
        )
        (tmp_path / mode).mkdir()
        monitors[mode] = settings
    now = {"t": T1}
    files = tmp_path / "files"
    (files / "acme").mkdir(parents=True)
    steps = [
        ("import", [("acme", shop(files / "acme")), ("bolt", healthy(files, "B")), ("carl", healthy(files, "C"))]),
        ("wait", timedelta(hours=1)),  # nothing new, no repeat due: nothing is evaluated again
        ("import", [("carl", healthy(files, "C", late=4))]),  # carl turns critical
        ("wait", timedelta(hours=20)),  # a new day: every account once
        ("wait", timedelta(hours=1)),
    ]
    evaluated = []
    with (
        Monitor.open(monitors["incremental"], migrate=True, clock=lambda: now["t"]) as inc,
        Monitor.open(monitors["full"], migrate=True, clock=lambda: now["t"]) as full,
    ):
        for kind, what in steps:
            if kind == "import":
                for account, path in what:
                    inc.import_paths([path], account=account)
                    full.import_paths([path], account=account)
            else:
                now["t"] += what
            a = inc.check()  # incremental: as of now, the daemon's way
            b = full.check(incremental=False)
            evaluated.append((a.evaluated, a.unchanged, b.evaluated))
            assert state(inc) == state(full)
            assert [m.account for m in a.messages] == [m.account for m in b.messages]
            assert index_body(inc) == re.sub(
                r"as of [\d-]+ [\d:]+ UTC", "", full.build_dashboards(incremental=False).index.read_text()
            )
        # a changed limit: every account is judged again, its pages written again
        looser = {mode: with_values(monitors[mode], limit_lsr="0.5") for mode in monitors}
        now["t"] += timedelta(minutes=10)
        inc2 = Monitor(looser["incremental"], inc.sessions, inc.http, lambda: now["t"])
        full2 = Monitor(looser["full"], full.sessions, full.http, lambda: now["t"])
        inc2.loads = SharedLoads()  # the daemon's cycle: the check's loads serve its dashboards
        a, b = inc2.check(), full2.check(incremental=False)
        evaluated.append((a.evaluated, a.unchanged, b.evaluated))
        assert state(inc) == state(full)
        built = inc2.build_dashboards()
        assert built.unchanged == 0 and inc2.loads.hits == 3  # each account loaded once for both steps
        strip = re.compile(r"as of [\d-]+ [\d:]+ UTC")
        assert strip.sub("", built.index.read_text()) == strip.sub(
            "", full2.build_dashboards(incremental=False).index.read_text()
        )
    print(f"\naccounts evaluated per check (incremental, unchanged, full): {evaluated}")
    assert evaluated == [(3, 0, 3), (0, 3, 3), (1, 2, 3), (3, 0, 3), (0, 3, 3), (3, 0, 3)]
