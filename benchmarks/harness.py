"""Timing, memory and the printed table."""

from __future__ import annotations

import gc
import os
import platform
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Measure:
    seconds: float
    #: tracemalloc's peak over one run: what the Python side allocated at most.
    peak_mb: float
    #: How far the whole process's maximum resident size grew during the runs.
    rss_growth_mb: float = 0.0


@dataclass
class Row:
    operation: str
    app: Measure
    limit: Measure | None
    target: str
    met: bool

    @property
    def ratio(self) -> float | None:
        return self.app.seconds / self.limit.seconds if self.limit else None


def measure(work: Callable[[], Any], runs: int, setup: Callable[[], Any] | None = None) -> Measure:
    """Median wall time over ``runs`` (after one warm-up), then one run under tracemalloc."""
    times = []
    rss_before = _max_rss_mb()
    for i in range(runs + 1):
        if setup:
            setup()
        gc.collect()
        start = time.perf_counter()
        work()
        elapsed = time.perf_counter() - start
        if i:  # the first run warms caches and is not counted
            times.append(elapsed)
    rss_growth = _max_rss_mb() - rss_before
    if setup:
        setup()
    gc.collect()
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Measure(statistics.median(times), peak / 2**20, rss_growth)


def _max_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if "model name" in line]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    mem = ""
    if hasattr(os, "sysconf"):
        mem = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def table(rows: list[Row]) -> str:
    """One line per row, the columns as wide as the longest operation needs."""
    width = max([48, *(len(r.operation) for r in rows)])
    head = (
        f"{'operation':<{width}} {'app':>9} {'limit':>9} {'ratio':>6} {'peak MB':>8} "
        f"{'RSS+MB':>7}  target"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        limit = f"{r.limit.seconds * 1000:8.1f}ms" if r.limit else f"{'—':>10}"
        ratio = f"{r.ratio:5.2f}×" if r.ratio is not None else f"{'—':>6}"
        verdict = "ok" if r.met else "MISSED"
        lines.append(
            f"{r.operation:<{width}} {r.app.seconds * 1000:7.1f}ms {limit} {ratio} "
            f"{r.app.peak_mb:8.1f} {r.app.rss_growth_mb:7.1f}  {r.target} {verdict}"
        )
    return "\n".join(lines)
