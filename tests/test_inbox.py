"""The inbox cannot be blocked: poison files, links, special files, long names, files still
being written and files that grow after they were imported (real files, a real SQLite file)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor import db
from monitor.config import load_settings
from monitor.inbox import import_inbox_once, short_name
from monitor.models import ImportRecord, Order

HEADER = "order_id,purchase_date,fulfillment_channel,order_status\n"


@pytest.fixture
def inbox(tmp_path: Path):
    settings = load_settings(
        environ={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
            "INBOX_DIR": str(tmp_path / "inbox"),
            "INBOX_SETTLE_SECONDS": "0.2",
        }
    )
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    folder = tmp_path / "inbox"
    folder.mkdir()
    yield folder, settings, db.session_factory(engine)
    engine.dispose()


def settle() -> None:
    time.sleep(0.3)


def names(folder: Path) -> list[str]:
    return sorted(p.name.split("-", 1)[1] for p in folder.iterdir() if not p.name.endswith(".reason.txt"))


def orders(n: int, start: int = 0) -> str:
    return "".join(f"O-{k},2026-10-01T10:00:00Z,MFN,Shipped\n" for k in range(start, start + n))


def test_a_poison_file_moves_to_rejected_on_its_first_pass_and_the_next_file_is_imported(inbox, monkeypatch):
    folder, settings, sessions = inbox
    (folder / "a-poison.csv").write_text(HEADER + orders(3))
    (folder / "b-good.csv").write_text(HEADER + orders(2, 10))
    settle()
    from monitor.ingest import importer

    real = importer._prepare_orders

    def explode(adapter, header, chunk, *rest):  # an importer bug on this one file
        if any("O-0" in fields for fields in chunk.fields):
            raise RuntimeError("boom\nsecond line")
        return real(adapter, header, chunk, *rest)

    monkeypatch.setattr(importer, "_prepare_orders", explode)
    run = import_inbox_once(sessions, settings)
    assert [r.status for r in run.results] == ["rejected", "ok"]
    assert run.results[0].error == "internal error: RuntimeError: boom"
    assert names(folder / "rejected") == ["a-poison.csv"] and names(folder / "processed") == ["b-good.csv"]
    reason = next((folder / "rejected").glob("*.reason.txt")).read_text()
    assert reason == "internal error: RuntimeError: boom\n"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 2
        assert [r.status for r in session.scalars(select(ImportRecord).order_by(ImportRecord.id))] == ["rejected", "ok"]
    assert [p for p in folder.iterdir() if p.is_file()] == []


def test_links_and_special_files_are_refused_unread(inbox, tmp_path):
    folder, settings, sessions = inbox
    secret = tmp_path / "secret.csv"
    secret.write_text(HEADER + orders(1))
    (folder / "loop.csv").symlink_to(folder / "loop.csv")  # a link to itself
    (folder / "out.csv").symlink_to(secret)
    (folder / "dangling.csv").symlink_to(tmp_path / "nothing")
    os.mkfifo(folder / "pipe.csv")  # opening it for reading would block for ever
    (folder / "good.csv").write_text(HEADER + orders(1))
    settle()
    run = import_inbox_once(sessions, settings)
    assert sorted(run.refused) == ["dangling.csv", "loop.csv", "out.csv", "pipe.csv"]
    assert [Path(r.file).name for r in run.results] == ["good.csv"]
    assert names(folder / "rejected") == ["dangling.csv", "loop.csv", "out.csv", "pipe.csv"]
    moved = {p.name.split("-", 1)[1]: p for p in (folder / "rejected").iterdir()}
    assert moved["out.csv"].is_symlink() and secret.read_text() == HEADER + orders(1)  # the link moved, not its target
    reasons = [p.read_text() for p in (folder / "rejected").glob("*.reason.txt")]
    assert len(reasons) == 4 and all("not followed" in r or "not a regular file" in r for r in reasons)


def test_a_name_too_long_for_the_prefix_is_shortened_when_moved(inbox):
    folder, settings, sessions = inbox
    name = "x" * 250 + ".csv"  # 254 bytes: the file system's limit leaves no room for a prefix
    (folder / name).write_text(HEADER + orders(1))
    settle()
    run = import_inbox_once(sessions, settings)
    assert [r.status for r in run.results] == ["ok"]
    (moved,) = list((folder / "processed").iterdir())
    assert moved.name.endswith(".csv") and len(moved.name.encode()) <= 220
    assert short_name(name) != short_name("x" * 249 + "y.csv")  # the hash keeps them apart


WRITER = """
import sys, time
with open(sys.argv[1], "a") as out:
    out.write(sys.argv[2])
    out.flush()
    print("started", flush=True)
    for n in range(int(sys.argv[3])):
        time.sleep(0.05)
        out.write(f"S-{n},2026-10-01T10:00:00Z,MFN,Shipped\\n")
        out.flush()
    sys.stdin.readline()  # held open until told
"""


def test_a_file_still_open_for_writing_waits_however_old_its_last_write(inbox):
    folder, settings, sessions = inbox
    path = folder / "slow.csv"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), HEADER, "5"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "started\n"
        time.sleep(0.6)  # its last write is older than INBOX_SETTLE_SECONDS: only being open tells
        run = import_inbox_once(sessions, settings)
        assert run.results == [] and run.waiting == ["slow.csv"]
    finally:
        writer.communicate("done\n", timeout=10)
    settle()
    run = import_inbox_once(sessions, settings)
    assert [(r.status, r.rows_read) for r in run.results] == [("ok", 5)]


def test_a_file_that_changes_while_it_is_imported_is_imported_again_whole(inbox, monkeypatch):
    folder, settings, sessions = inbox
    path = folder / "growing.csv"
    path.write_text(HEADER + orders(3))
    settle()
    from monitor import inbox as inbox_module

    real = inbox_module.import_file

    def import_while_appending(*args, **kwargs):
        result = real(*args, **kwargs)
        with path.open("a") as out:  # a writer that opened it by name after the settle check
            out.write(orders(2, 100))
        return result

    monkeypatch.setattr(inbox_module, "import_file", import_while_appending)
    first = import_inbox_once(sessions, settings)
    assert first.changed_while_read == ["growing.csv"] and path.exists()
    monkeypatch.setattr(inbox_module, "import_file", real)
    settle()
    second = import_inbox_once(sessions, settings)
    assert [(r.status, r.rows_read, r.inserted, r.skipped) for r in second.results] == [("ok", 5, 2, 3)]
    assert not path.exists()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 5
