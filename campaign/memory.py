"""Reading a plan's figures without the garbage collector's pauses.

A national plan's summary makes hundreds of thousands of small tuples (a unit, a tally, a
line per quota holder). None of them refers to itself, so none needs the cycle
collector, but every 700 new objects it runs anyway, and past the first generation it
walks everything the request made so far: two fifths of a national summary's time
(benchmarks/RESULTS.md). ``bulk_reading`` holds the collector off while such a reading
runs; reference counting still frees everything as usual, and the collector runs again
at once afterwards if it was on.

The summary's readers (``services.summary``: ``read_plan``, ``read_plan_and_months``,
``plan_summary``, ``comparison``; the export) hold it off while they run. The pages and
downloads that read a plan hold it off for the whole view: what the reading made is then
freed with the view's locals before the collector resumes. A caller that goes on making
objects with a national summary alive and the collector on pays one pass over the
summary, about half a second, once.

A spreadsheet import is the same: its preview and its writing make a few objects per row
of up to 150.000 rows, and hold the collector off too (``services.imports``); the quota
import of a province took a quarter less time so.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
#: How many readings hold the collector off now, and whether it was on before the first.
_holding = 0
_was_enabled = False


@contextmanager
def bulk_reading() -> Iterator[None]:
    """Holds the cycle collector off until the outermost reading ends; nested or
    concurrent readings share one hold. Use it only around code that makes no cycles."""
    global _holding, _was_enabled
    with _lock:
        if _holding == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holding += 1
    try:
        yield
    finally:
        with _lock:
            _holding -= 1
            if _holding == 0 and _was_enabled:
                gc.enable()
