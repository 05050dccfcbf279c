"""Load test on loopback: gunicorn workers against PostgreSQL, then against SQLite.

    .venv/bin/pip install -e '.[prod]'        # gunicorn
    .venv/bin/python -m benchmarks.load       # both engines, 60 s each

Reporters push results through the API (two per unit, so they conflict);
leaders sign in and load the dashboard and the Excel export. Afterwards every
acknowledged write is checked against the database.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from sqlalchemy import create_engine, select

from benchmarks.harness import machine
from benchmarks.load import setup, users
from campaign.models import OrgUnit, Result


def verify(database_url: str, stage: setup.Stage, log: users.Log) -> list[str]:
    """Every acknowledged write is stored or was later superseded; no two writes claimed
    the same version of one result; the stored version is the last acknowledged."""
    problems = []
    by_unit: dict[str, list[users.Ack]] = defaultdict(list)
    for ack in log.acks:
        by_unit[ack.unit].append(ack)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(OrgUnit.code, Result.version, Result.registered, Result.deferred,
                   Result.bags_250, Result.bags_350, Result.bags_450)
            .join(OrgUnit, OrgUnit.id == Result.unit_id)
            .where(Result.drive_id == stage.drive_id, OrgUnit.code.in_(list(by_unit)))
        ).all()  # fmt: skip
    engine.dispose()
    stored = {code: (version, tuple(values)) for code, version, *values in rows}
    for unit, acks in by_unit.items():
        versions = [a.version for a in acks]
        if len(versions) != len(set(versions)):
            problems.append(f"{unit}: two acknowledged writes share a version")
        last = max(acks, key=lambda a: a.version)
        if unit not in stored:
            problems.append(f"{unit}: acknowledged but not stored")
        elif stored[unit] != (last.version, last.values):
            problems.append(f"{unit}: stored {stored[unit]} but last acknowledged {last}")
    return problems


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(
    engine: str, log: users.Log, elapsed: float, problems: list[str], server_log: str
) -> str:
    every = [s for values in log.latencies.values() for s in values]
    lines = [
        f"\n== {engine}: {len(every)} requests in {elapsed:.0f} s, "
        f"{len(every) / elapsed:.1f} requests/s",
        f"{'request':<24} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}",
    ]
    for kind, values in sorted(log.latencies.items()) + [("all", every)]:
        lines.append(
            f"{kind:<24} {len(values):>6} {statistics.median(values) * 1000:8.1f} "
            f"{percentile(values, 0.95) * 1000:8.1f} {percentile(values, 0.99) * 1000:8.1f}"
        )
    locked = log.locked_seen + server_log.count(users.LOCKED)
    lines += [
        f"acknowledged writes: {len(log.acks)}, refused as conflicts (409): {log.conflicts}",
        f"errors: {len(log.errors)}" + "".join(f"\n  {e}" for e in log.errors[:10]),
        f"'database is locked' seen: {locked}",
        "verification: " + ("every acknowledged write is in the database" if not problems
                            else "FAILED\n  " + "\n  ".join(problems[:20])),
    ]  # fmt: skip
    return "\n".join(lines)


def run_engine(engine: str, args: argparse.Namespace, tmp: Path) -> bool:
    pg_state = tmp / f"pg-{engine}"
    url = (
        setup.start_postgres(pg_state)
        if engine == "postgresql"
        else f"sqlite:///{tmp / 'load.sqlite'}"
    )
    server = None
    try:
        stage = setup.prepare(url, args.reporters)
        server_log = tmp / f"gunicorn-{engine}.log"
        server, base = setup.start_gunicorn(url, args.workers, server_log)
        log, elapsed = users.run(base, stage, args.leaders, args.duration)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        server = None
        problems = verify(url, stage, log)
        text = server_log.read_text(errors="replace")
        print(report(engine, log, elapsed, problems, text), flush=True)
        return not problems and not log.errors and users.LOCKED not in text
    finally:
        if server is not None:
            server.kill()
        if engine == "postgresql":
            setup.stop_postgres(pg_state)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per engine")
    parser.add_argument("--reporters", type=int, default=50)
    parser.add_argument("--leaders", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    args = parser.parse_args(argv)
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    print(f"machine: {machine()}")
    print(f"{args.reporters} reporters, {args.leaders} leaders, {args.workers} gunicorn workers, "
          f"{args.duration:.0f} s per engine, loopback only")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        results = [run_engine(engine, args, Path(tmp)) for engine in engines]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
