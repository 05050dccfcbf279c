"""Times the summary export of 10.000 units against openpyxl's write-only mode writing the
same cells, side by side in one run. Run: .venv/bin/python benchmarks/excel.py

Each side runs ``ROUNDS`` times, interleaved, and the best time of each counts: on a busy
machine a single run mostly measures the neighbours."""

from __future__ import annotations

import io
import random
import time
from datetime import date

from openpyxl import Workbook, load_workbook

from campaign import rates
from campaign.spreadsheets.summary import DriveLine, ReportInfo, summary_workbook

UNITS = 10_000
ROUNDS = 3
KINDS = ["commune", "agency", "school", "union"]


def demo_summary() -> tuple[rates.PlanSummary, list[DriveLine]]:
    rng = random.Random(5)
    nodes = [rates.UnitNode(1, None, "TH", "Tỉnh Thanh Hóa", "province")]
    quotas, tallies = {}, {}
    for uid in range(2, UNITS + 2):
        nodes.append(rates.UnitNode(uid, 1, f"U{uid}", f"Đơn vị số {uid}", KINDS[uid % 4]))
        quotas[uid] = rng.randint(5, 60)
        bags = rates.Bags(rng.randint(0, 30), rng.randint(0, 20), rng.randint(0, 10))
        tallies[uid] = rates.Tally(1, bags.donations + 5, 5, bags)
    summary = rates.summarize(nodes, quotas, tallies, rates.CountingRule.BAG)
    drives = [
        DriveLine("Đợt 1", n.name, n.kind, tallies[n.id], tallies[n.id].collected(summary.rule))
        for n in nodes[1:]
    ]
    return summary, drives


def timed(work) -> tuple[float, bytes]:
    start = time.perf_counter()
    data = work()
    return time.perf_counter() - start, data


def plain_write_only(sheets: list[list[list]]) -> bytes:
    wb = Workbook(write_only=True)
    for index, rows in enumerate(sheets):
        ws = wb.create_sheet(f"S{index}")
        for row in rows:
            ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def main() -> None:
    summary, drives = demo_summary()
    info = ReportInfo(
        "BCĐ vận động HMTN tỉnh Thanh Hóa",
        "Thanh Hóa",
        date(2021, 6, 13),
        "276/KH-BCĐTH",
        date(2020, 12, 28),
        "BCĐ tỉnh",
        "Năm 2021",
        "Theo túi",
    )
    kinds = {k: k for k in ["province", *KINDS]}
    statuses = {s.value: s.value for s in rates.Status}
    _, data = timed(lambda: summary_workbook(info, summary, drives, kinds, statuses))
    # The same cells, read back from our own file, written with no styles at all.
    wb = load_workbook(io.BytesIO(data), read_only=True)
    sheets = [[list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets]
    cells = sum(1 for rows in sheets for row in rows for v in row if v is not None)
    our_runs, baseline_runs = [], []
    for _round in range(ROUNDS):
        our_runs.append(timed(lambda: summary_workbook(info, summary, drives, kinds, statuses))[0])
        baseline_runs.append(timed(lambda: plain_write_only(sheets))[0])
    ours, baseline = min(our_runs), min(baseline_runs)
    print(f"{UNITS} units, {cells} cells")
    print(f"summary export:        {ours:.2f} s")
    print(f"openpyxl write-only:   {baseline:.2f} s")
    print(f"ratio:                 {ours / baseline:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
