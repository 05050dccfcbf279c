"""Writing cells quickly and safely in openpyxl's write-only mode."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from copy import copy
from decimal import Decimal
from fractions import Fraction
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.workbook import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

#: A text cell starting with one of these could be read as a formula by a spreadsheet program.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

INTEGER = "#,##0"
UNITS = "#,##0.0"
PERCENT = "0.0%"
THIN = Side(style="thin")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def is_risky(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def number(value: int | Fraction | Decimal | None) -> int | float | None:
    """A stored number: an int when whole, else a float (blood units have one decimal at most)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return float(value)


class Styles:
    """Style arrays built once and shared by every cell, which keeps writing fast.

    Setting ``cell.font`` and friends hashes the style objects on every cell;
    copying a ready ``StyleArray`` does not.
    """

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self._cache: dict[tuple[Any, ...], StyleArray] = {}

    def get(
        self,
        *,
        bold: bool = False,
        italic: bool = False,
        size: float = 12,
        number_format: str | None = None,
        align: str | None = None,
        wrap: bool = False,
        grid: bool = False,
        text: bool = False,
        indent: int = 0,
    ) -> StyleArray:
        key = (bold, italic, size, number_format, align, wrap, grid, text, indent)
        if key not in self._cache:
            ws = WriteOnlyWorksheet(self.workbook, "_styles")
            cell = WriteOnlyCell(ws)
            cell.font = Font(name="Times New Roman", size=size, bold=bold, italic=italic)
            if number_format:
                cell.number_format = number_format
            if align or wrap or indent:
                cell.alignment = Alignment(
                    horizontal=align or ("left" if indent else None),
                    vertical="center",
                    wrap_text=wrap,
                    indent=indent,
                )
            if grid:
                cell.border = GRID
            if text:
                # Excel's own mark for "this is text, never a formula", kept when edited.
                cell.quotePrefix = True
            self._cache[key] = cell._style
        return self._cache[key]


def cell(ws: WriteOnlyWorksheet, value: Any, style: StyleArray | None = None) -> WriteOnlyCell:
    """A cell with a shared style; text that looks like a formula stays text."""
    if isinstance(value, str) and value.startswith("="):
        # openpyxl turns any string starting with "=" into a formula; force a string.
        c = WriteOnlyCell(ws)
        c._value = value
        c.data_type = "s"
    else:
        c = WriteOnlyCell(ws, value)
    if style is not None:
        c._style = style  # shared, never mutated
    return c


def text_cell(ws: WriteOnlyWorksheet, value: str, styles: Styles, **style: Any) -> WriteOnlyCell:
    """A cell for text a user typed (unit names, notes): formula-like text gets quotePrefix."""
    return cell(ws, value, styles.get(text=is_risky(value), **style))


def quoted(style: StyleArray | None) -> StyleArray:
    """``style`` with Excel's text mark, for user text that could be read as a formula."""
    marked = copy(style) if style is not None else StyleArray()
    marked.quotePrefix = 1
    return marked


class StyledRow(list):
    """A row of plain values with the shared style of each column."""

    def __init__(self, values: Sequence[Any], styles: Sequence[StyleArray | None]) -> None:
        super().__init__(values)
        self.styles = styles


class _RowCell(Cell):
    """The reused cell; it looks up the style's index once per style, not once per cell."""

    __slots__ = ("_style_ids",)

    def __init__(self, worksheet: WriteOnlyWorksheet) -> None:
        super().__init__(worksheet)
        #: id of a shared style -> (the style, kept alive so the id stays its own; its index)
        self._style_ids: dict[int, tuple[StyleArray, int]] = {}

    @property
    def style_id(self) -> int:
        known = self._style_ids.get(id(self._style))
        if known is None or known[0] is not self._style:
            known = (self._style, self.parent.parent._cell_styles.add(self._style))
            self._style_ids[id(self._style)] = known
        return known[1]


class ReportSheet(WriteOnlyWorksheet):
    """A write-only sheet that writes a :class:`StyledRow` through one reused cell.

    Handed ready-made cells, openpyxl's ``append`` first tries each as a value,
    catches the ValueError and builds a fresh cell for the next one: every styled
    cell is made twice. Here each row is plain values and a style per column, and
    one cell carries them to the writer in turn, as openpyxl does for unstyled rows.
    """

    def __init__(self, parent: Workbook, title: str) -> None:
        super().__init__(parent, title)
        self._row_cell = _RowCell(self)

    def append_styled(self, values: Sequence[Any], styles: Sequence[StyleArray | None]) -> None:
        self.append(StyledRow(values, styles))

    def _values_to_row(self, values: Sequence[Any], row_idx: int) -> Iterator[Cell]:
        if not isinstance(values, StyledRow):
            yield from super()._values_to_row(values, row_idx)
            return
        cell = self._row_cell
        cell.row = row_idx
        for col_idx, (value, style) in enumerate(zip(values, values.styles, strict=False), 1):
            if value is None and style is None:
                continue
            cell.value = value
            if cell.data_type == "f" or (isinstance(value, str) and is_risky(value)):
                # Text from users is never a formula, whatever it starts with.
                cell.data_type = "s"
                style = quoted(style)
            cell._style = style
            cell.column = col_idx
            yield cell  # the writer writes it before asking for the next one


def report_sheet(workbook: Workbook, title: str) -> ReportSheet:
    sheet = ReportSheet(parent=workbook, title=title)
    workbook._add_sheet(sheet)
    return sheet
