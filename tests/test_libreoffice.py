"""A real spreadsheet program opens the export: LibreOffice converts it to CSV and PDF."""

from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from sqlalchemy import select

from campaign import formatting
from campaign.extensions import db
from campaign.models import Plan
from campaign.services import demo
from campaign.services.exports import summary_export
from campaign.services.summary import plan_summary
from campaign.spreadsheets.summary import SUMMARY_HEADERS, grouped


def convert(soffice: str, source: Path, target: str, out: Path) -> None:
    profile = (out / "profile").as_uri()
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )


def test_libreoffice_reads_the_same_numbers(app, tmp_path):
    # scripts/test installs LibreOffice; a machine without it fails here rather than skipping.
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed: apt install libreoffice-calc-nogui"
    demo.load(reform=False)
    plan = db.session.scalar(select(Plan).where(Plan.number == "15/KH-BCĐ"))
    source = tmp_path / "bao-cao.xlsx"
    source.write_bytes(summary_export(plan))
    # One call converts to CSV (the first sheet) and a second to PDF (every sheet).
    convert(soffice, source, "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path)
    convert(soffice, source, "pdf", tmp_path)
    assert (tmp_path / "bao-cao.pdf").read_bytes().startswith(b"%PDF")
    with open(tmp_path / "bao-cao.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows.index(list(SUMMARY_HEADERS))
    by_name = {row[1]: row for row in rows[header + 1 :] if row[0].isdigit()}
    summary = plan_summary(plan)
    for line in summary.lines:
        row = by_name[line.unit.name]
        assert [int(v) for v in row[3:7]] == [
            line.quota,
            line.tally.registered,
            line.tally.donors,
            line.tally.deferred,
        ]
        # Shown as the pages and the report's sentence write it, whatever the computer's
        # language: one decimal after a comma ("125,0%"), and under the per-bag rule
        # whole blood units ("50", never "50.0").
        assert row[8] == formatting.percent(line.rate), line.unit.name
        assert row[7] == formatting.units(line.collected), line.unit.name
        assert re.fullmatch(r"\d{1,3}(\.\d{3})*", row[7]), row
        assert row[9] == (formatting.units(line.over_amount) if line.over_amount else "")
    total = next(row for row in rows if row[1] == "TỔNG CỘNG")
    assert total[3] == formatting.number(summary.totals.quota)
    assert total[7] == formatting.units(summary.totals.collected)
    assert total[8] == formatting.percent(summary.totals.rate)
    # The header: the body above the issuing committee, the report's number left to fill
    # in with the issuer's symbol, and whom it is sent to.
    head = [value for row in rows[:header] for value in row if value]
    assert head.index("UBND HUYỆN QUẢNG XƯƠNG") < head.index("BCĐ VẬN ĐỘNG HMTN HUYỆN QUẢNG XƯƠNG")
    number_line = next(value for value in head if value.startswith("Số:"))
    assert re.fullmatch(r"Số: +/BC-BCĐ", number_line), number_line
    assert "Kính gửi: BCĐ vận động HMTN tỉnh Thanh Hóa" in head


def test_libreoffice_charts_the_units_alone(app, tmp_path):
    """LibreOffice opens the export and saves it again: the chart it kept names exactly
    the quota holders, in the summary's order, as its categories."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed: apt install libreoffice-calc-nogui"
    demo.load(reform=False)
    plan = db.session.scalar(select(Plan).where(Plan.number == "15/KH-BCĐ"))
    source = tmp_path / "source" / "bao-cao.xlsx"
    source.parent.mkdir()
    source.write_bytes(summary_export(plan))
    convert(soffice, source, "xlsx:Calc MS Excel 2007 XML", tmp_path)
    saved = zipfile.ZipFile(tmp_path / "bao-cao.xlsx")
    (chart,) = [saved.read(n).decode() for n in saved.namelist() if n.startswith("xl/charts/chart")]
    categories = re.search(r"<c:cat>(.*?)</c:cat>", chart, re.S)
    assert categories, chart
    names = [html.unescape(v) for v in re.findall(r"<c:v>(.*?)</c:v>", categories[1], re.S)]
    summary = plan_summary(plan)
    in_order = [line for _, members in grouped(summary.lines) for line in members]
    assert names == [line.unit.name for line in in_order if line.is_holder]
    assert len(names) == summary.totals.holders
