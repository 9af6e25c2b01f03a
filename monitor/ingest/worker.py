"""Making a stream's items in a second process, while this one consumes them.

An import spends most of its time holding Python's lock, reading and converting on
one side and binding values into SQLite on the other; a thread cannot overlap the
two, a process can. The child is forked (it needs nothing pickled to start, and
shares the parent's memory until either writes to it) and sends each item through a
pipe, whose buffer (64 KiB on Linux) is far smaller than an item: `send` returns only
once the parent is taking it, so the child makes at most one item while the parent
holds the one before, and memory stays bounded. An item's big buffers (numpy arrays) go
out of band: pickled apart from the item and written to the pipe as they are, read
straight into memory of the parent's own, which it may write to (see _send). Several
children can share a stream, each making every n-th item, the parent taking them in turn
(in_turn).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
_ITEM, _ERROR, _END = "item", "error", "end"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class WorkerDied(RuntimeError):
    """The child ended without saying why (killed, out of memory)."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def forked(make: Callable[[], Iterable[T]], name: str = "worker") -> Iterator[T]:
    """The items of `make()`, made in a forked child process. What the child raises is raised
    here; a child that dies raises WorkerDied. Leaving the loop early kills the child."""
    return in_turn([make], name)


def in_turn(makes: Sequence[Callable[[], Iterable[T]]], name: str = "worker") -> Iterator[T]:
    """The items of every `make()` of `makes`, each made in a forked child of its own and taken
    in turn: the first child's first item, the second's first, ..., the first child's second.
    Every child must end at the same turn (a child that has more items than the turn at which
    another ended raises RuntimeError: nothing is left out unseen). Failures as `forked`'s."""
    context = multiprocessing.get_context("fork")
    parent = os.getpid()
    children: list[tuple[BaseProcess, Connection, str]] = []
    try:
        for number, make in enumerate(makes):
            reader, writer = context.Pipe(duplex=False)
            label = name if len(makes) == 1 else f"{name}-{number + 1}"
            # each child closes its copies of the parent's ends of the pipes made before its own
            others = [child_reader for _, child_reader, _ in children]
            process = context.Process(
                target=_produce, args=(make, reader, writer, parent, others), name=label, daemon=True
            )
            process.start()
            writer.close()  # the child's end only: its death then reads as the end of the pipe
            children.append((process, reader, label))
        while True:
            for turn, child in enumerate(children):
                kind, payload = _receive(*child)
                if kind == _END:
                    for other in children[:turn] + children[turn + 1 :]:
                        if _receive(*other)[0] != _END:
                            raise RuntimeError(f"the {other[2]} process had more items than the {child[2]} process")
                    return
                yield payload
    finally:
        for child_process, child_reader, _ in children:
            if child_process.is_alive():
                child_process.kill()  # it holds nothing worth a clean ending: only items nobody will take
            child_process.join()
            child_reader.close()


def _receive(process: BaseProcess, reader: Connection, name: str) -> tuple[str, Any]:
    """The child's next message: an item or the end; what it raised is raised."""
    try:
        kind, payload = reader.recv()
        if kind == _ITEM:  # the pickled item, then its buffers' bytes (see _send)
            pickled, sizes = payload
            payload = pickle.loads(pickled, buffers=[_read_exactly(reader, size) for size in sizes])
    except EOFError:
        process.join()
        raise WorkerDied(f"the {name} process ended unexpectedly (exit code {process.exitcode})") from None
    if kind == _ERROR:
        error, trace = payload
        log.debug("the %s process failed:\n%s", name, trace)
        raise error
    return kind, payload


def _send(writer: Connection, item: Any) -> None:
    """An item, pickled with its buffers (numpy arrays) out of band, each then written to the
    pipe as it is: no copy of it in a pickle, nor in the parent (see _receive), where a
    million orders' COPY data (226 MB in 50 chunks) took 0.16 to 0.19 s of the parent's CPU
    pickled whole, and 0.04 s so."""
    buffers: list[pickle.PickleBuffer] = []
    pickled = pickle.dumps(item, protocol=5, buffer_callback=buffers.append)
    views = [buffer.raw() for buffer in buffers]
    writer.send((_ITEM, (pickled, [view.nbytes for view in views])))
    for view in views:
        while view:
            view = view[os.write(writer.fileno(), view) :]


def _read_exactly(reader: Connection, size: int) -> bytearray:
    """`size` bytes from the pipe, into memory of their own; EOFError if it ends before."""
    data = bytearray(size)
    view, got = memoryview(data), 0
    while got < size:
        read = os.readv(reader.fileno(), [view[got:]])
        if not read:
            raise EOFError
        got += read
    return data


def _die_with(parent: int) -> None:
    """Linux: the kernel kills this process when its parent dies, however it dies (strictly,
    when the thread that forked it ends: that thread is the one reading, until it kills it)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's closed pipe ends the child at its next item
        pass
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)


def _produce(
    make: Callable[[], Iterable[Any]], reader: Connection, writer: Connection, parent: int, others: list[Connection]
) -> None:
    # The parent's ends closed here, or a child whose parent was killed (kill -9) would wait to
    # send forever, holding the parent's files (its log, its terminal) open.
    for end in (reader, *others):
        end.close()
    _die_with(parent)
    # Ctrl-C and a stop (systemd sends SIGTERM to every process of the unit) are the parent's to
    # handle: it finishes the running import, then ends its reader; or its death does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        for item in make():
            _send(writer, item)
            del item  # before the next one is made: never two in memory at once
        writer.send((_END, None))
    except BaseException as exc:  # noqa: BLE001 (every failure goes to the parent, which decides)
        trace = traceback.format_exc()
        try:
            writer.send((_ERROR, (exc, trace)))
        except Exception:  # noqa: BLE001 (the exception itself cannot be pickled)
            writer.send((_ERROR, (RuntimeError(f"{type(exc).__name__}: {exc}"), trace)))
    finally:
        writer.close()
