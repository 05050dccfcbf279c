"""The downloadable quota template: the plan's units pre-filled by code and name."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import NamedTuple

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from campaign.spreadsheets.cells import is_risky, sheet_text

QUOTA_HEADERS = ("STT", "Mã đơn vị", "Tên đơn vị", "Chỉ tiêu (đơn vị máu)", "Quân số")


class TemplateRow(NamedTuple):
    code: str
    name: str
    #: The quota already set, or None.
    quota: int | None
    #: Depth below the issuer: the name is indented, never changed.
    depth: int = 0
    #: The headcount recorded, or None (optional: for a participation target).
    headcount: int | None = None


def quota_template(title: str, units: Iterable[tuple]) -> bytes:
    """``units`` are :class:`TemplateRow` (or plain code, name, quota); the quota column is
    left to fill."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Chỉ tiêu"
    ws.append([sheet_text(title)])
    ws["A1"].font = Font(bold=True, size=13)
    ws.merge_cells("A1:E1")
    ws.append([])
    ws.append(list(QUOTA_HEADERS))
    for cell in ws[3]:
        cell.font = Font(bold=True)
    indents: dict[int, Alignment] = {}
    for index, unit in enumerate(units, 1):
        code, name, amount, depth, headcount = TemplateRow(*unit)
        ws.append([index, sheet_text(code), sheet_text(name), amount, headcount])
        row = ws[ws.max_row]
        if depth:
            row[2].alignment = indents.setdefault(depth, Alignment(indent=depth))
        for cell in row[1:3]:
            if is_risky(str(cell.value)):
                cell.data_type, cell.quotePrefix = "s", True
    for column, width in zip("ABCDE", (6, 18, 45, 22, 12), strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A4"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
