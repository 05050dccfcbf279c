"""Builds a synthetic province in a fresh database and measures each operation.

.venv/bin/python -m benchmarks                      # SQLite in a temporary folder
.venv/bin/python -m benchmarks --database-url postgresql+psycopg://...   # an EMPTY database
.venv/bin/python -m benchmarks --national           # 200 districts, about 105.000 units
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from benchmarks.harness import machine, table
from benchmarks.operations import NATIONAL, OPERATIONS, build
from campaign import create_app
from campaign.database import writing
from campaign.extensions import db
from campaign.services import synthetic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument(
        "--runs",
        type=int,
        help="timed runs per operation (default 5; 3 with --national, whose runs take seconds)",
    )
    parser.add_argument("--tiny", action="store_true", help="a small tree (smoke test)")
    parser.add_argument(
        "--national",
        action="store_true",
        help="a country's tree instead (200 districts of 50 communes, 2 years): the summary "
        "of both province plans, the dashboard and the export at that scale",
    )
    parser.add_argument(
        "--result-rows", type=int, default=100_000, help="rows of the result import"
    )
    args = parser.parse_args(argv)

    runs = args.runs if args.runs is not None else 3 if args.national else 5
    if args.national:
        # Two years: the earlier province plan gives quotas to the districts only.
        sizes = synthetic.Sizes(
            districts=3 if args.tiny else 200,
            communes_per_district=3 if args.tiny else 50,
            years=2,
        )
    elif args.tiny:
        sizes = synthetic.Sizes(districts=2, communes_per_district=3, years=1)
    else:
        sizes = synthetic.Sizes()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'benchmark.sqlite'}"
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark", "WTF_CSRF_ENABLED": False}
        )
        print(f"machine: {machine()}")
        print(f"database: {url.split('@')[-1]}")
        started = time.perf_counter()
        with app.app_context(), writing():
            upgrade()
            if db.engine.dialect.name == "postgresql":
                # JIT compiling can add more to a query than it runs (README, production).
                version, jit = db.session.execute(
                    text("SELECT current_setting('server_version'), current_setting('jit')")
                ).one()
                print(f"PostgreSQL {version}, jit {jit}")
        province = build(app, sizes, result_rows=300 if args.tiny else args.result_rows)
        tree = "nation" if args.national else "province"
        print(f"{tree} built in {time.perf_counter() - started:.1f} s\n")
        # Measure a server as it runs in production (campaign/wsgi.py freezes the heap). The
        # heap is let go again after: the test suite runs this in its own process, where a
        # full collection before each timed run went over the whole suite's objects.
        gc.collect()
        gc.freeze()
        try:
            operations = NATIONAL if args.national else OPERATIONS
            rows = [operation(app, province, runs) for operation in operations]
        finally:
            gc.unfreeze()
        print(table(rows))
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
