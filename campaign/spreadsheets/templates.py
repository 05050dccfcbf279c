"""The downloadable quota template: the plan's units pre-filled by code and name."""

from __future__ import annotations

import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.styles import Font

from campaign.spreadsheets.cells import is_risky, sheet_text

QUOTA_HEADERS = ("STT", "Mã đơn vị", "Tên đơn vị", "Chỉ tiêu (đơn vị máu)")


def quota_template(title: str, units: Iterable[tuple[str, str, int | None]]) -> bytes:
    """``units`` are (code, name, current quota or None); the quota column is left to fill."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Chỉ tiêu"
    ws.append([sheet_text(title)])
    ws["A1"].font = Font(bold=True, size=13)
    ws.merge_cells("A1:D1")
    ws.append([])
    ws.append(list(QUOTA_HEADERS))
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for index, (code, name, amount) in enumerate(units, 1):
        ws.append([index, sheet_text(code), sheet_text(name), amount])
        for cell in ws[ws.max_row][1:3]:
            if is_risky(str(cell.value)):
                cell.data_type, cell.quotePrefix = "s", True
    for column, width in zip("ABCD", (6, 18, 45, 22), strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A4"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
