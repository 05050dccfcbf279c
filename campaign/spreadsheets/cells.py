"""Writing cells quickly and safely in openpyxl's write-only mode."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from copy import copy
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from et_xmlfile.xmlfile import _IncrementalFileWriter as EtIncrementalFileWriter
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet._writer import WorksheetWriter

#: A text cell starting with one of these could be read as a formula by a spreadsheet program.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Characters XML 1.0 does not allow (openpyxl refuses them with IllegalCharacterError).
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: The most characters a cell holds.
MAX_CELL_TEXT = 32_767

#: Number formats tagged Vietnamese ([$-42A]): LibreOffice then writes "1.315" and "94,1%"
#: whatever the computer's language, as the report's sentences do; Excel keeps the tag and
#: uses the computer's separators, which in Vietnamese are the same. The value stays a
#: number (a ratio for a percentage), so it still adds up and sorts.
VIETNAMESE = "[$-42A]"
INTEGER = VIETNAMESE + "#,##0"
UNITS = VIETNAMESE + "#,##0.0"
PERCENT = VIETNAMESE + "0.0%"
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
    if isinstance(value, str):
        value = sheet_text(value)
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
    value = sheet_text(value)
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


def sheet_text(value: str) -> str:
    """Text a worksheet can hold: XML forbids most control characters, and a cell holds
    32.767 characters at most. A name pasted from another program can carry either."""
    if ILLEGAL_CHARACTERS.search(value):
        value = ILLEGAL_CHARACTERS.sub("", value)
    return value[:MAX_CELL_TEXT]


class _RowCell(Cell):
    """The reused cell; it looks up the style's index once per style, not once per cell."""

    __slots__ = ("_style_ids",)

    def __init__(self, worksheet: WriteOnlyWorksheet) -> None:
        super().__init__(worksheet)
        #: id of a shared style -> (the style, kept alive so the id stays its own; its index)
        self._style_ids: dict[int, tuple[StyleArray, int]] = {}

    @property
    def style_id(self) -> int:
        return _style_index(self.parent.parent, self._style_ids, self._style)


def _style_index(
    workbook: Workbook, known: dict[int, tuple[StyleArray, int]], style: StyleArray
) -> int:
    """The workbook's index of a shared style, looked up once per style."""
    found = known.get(id(style))
    if found is None or found[0] is not style:
        found = (style, workbook._cell_styles.add(style))
        known[id(style)] = found
    return found[1]


def _raw_output(xf: Any) -> Callable[[str], Any] | None:
    """The function et_xmlfile's incremental writer writes its text with, or None.

    lxml's writer (used by openpyxl when lxml is installed) has no such door, and
    et_xmlfile before 2.0 kept a file there; rows then go through openpyxl's cells.
    """
    if isinstance(xf, EtIncrementalFileWriter):
        output = getattr(xf, "_file", None)
        if callable(output) and not hasattr(output, "write"):
            return output
    return None


class _ReportWriter(WorksheetWriter):
    """Writes a :class:`StyledRow` as XML text straight into the sheet's stream.

    openpyxl builds an element tree for every cell and serialises it through
    et_xmlfile's namespace-aware writer: for a 10.000-unit report that was four
    fifths of the export's time. A styled row of numbers and text needs none of it.
    The text is what openpyxl writes for the same cells (inline strings, ``s`` for
    the style's index); ``tests/test_spreadsheets.py`` compares the two paths cell by cell.
    """

    ws: ReportSheet

    def write_row(self, xf: Any, row: Any, row_idx: int) -> None:
        if not isinstance(row, StyledRow):
            super().write_row(xf, row, row_idx)
            return
        raw = _raw_output(xf)
        if raw is None or row_idx in self.ws.row_dimensions:
            super().write_row(xf, self.ws._styled_cells(row, row_idx), row_idx)
            return
        raw(self.ws._row_xml(row, row_idx))


class ReportSheet(WriteOnlyWorksheet):
    """A write-only sheet that writes a :class:`StyledRow` quickly.

    Handed ready-made cells, openpyxl's ``append`` first tries each as a value,
    catches the ValueError and builds a fresh cell for the next one, then writes
    each through an element tree. Here each row is plain values and a style per
    column, written as text by :class:`_ReportWriter`.
    """

    #: Set by openpyxl's WriteOnlyWorksheet, which declares no types.
    _writer: _ReportWriter | None

    def __init__(self, parent: Workbook, title: str) -> None:
        super().__init__(parent, title)
        self._row_cell = _RowCell(self)
        self._style_ids: dict[int, tuple[StyleArray, int]] = {}
        self._style_attrs: dict[int, tuple[StyleArray | None, str]] = {}

    def append_styled(self, values: Sequence[Any], styles: Sequence[StyleArray | None]) -> None:
        self.append(StyledRow(values, styles))

    def _get_writer(self) -> None:
        if self._writer is None:
            writer = _ReportWriter(self)
            self._writer = writer
            writer.write_top()

    def _values_to_row(self, values: Sequence[Any], row_idx: int) -> Any:
        if isinstance(values, StyledRow):
            return values  # _ReportWriter writes it
        return super()._values_to_row(values, row_idx)

    def _styled_cells(self, values: StyledRow, row_idx: int) -> Iterator[Cell]:
        """The row through one reused cell, for a writer that takes no text."""
        cell = self._row_cell
        cell.row = row_idx
        for col_idx, (value, style) in enumerate(zip(values, values.styles, strict=False), 1):
            if value is None and style is None:
                continue
            if isinstance(value, str):
                value = sheet_text(value)
            cell.value = value
            if cell.data_type == "f" or (isinstance(value, str) and is_risky(value)):
                # Text from users is never a formula, whatever it starts with.
                cell.data_type = "s"
                style = quoted(style)
            cell._style = style
            cell.column = col_idx
            yield cell  # the writer writes it before asking for the next one

    def _row_xml(self, values: StyledRow, row_idx: int) -> str:
        parts = [f'<row r="{row_idx}">']
        add = parts.append
        for col_idx, (value, style) in enumerate(zip(values, values.styles, strict=False), 1):
            if value is None and style is None:
                continue
            ref = f"{_column_letter(col_idx)}{row_idx}"
            kind = type(value)
            if kind is str:
                text = sheet_text(value)
                if is_risky(text):
                    # Text from users is never a formula, whatever it starts with.
                    style = quoted(style)
                attrs = f'r="{ref}"{self._style_attr(style)} t="inlineStr"'
                if not text:
                    add(f"<c {attrs}/>")
                    continue
                if "&" in text or "<" in text or ">" in text:
                    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                stripped = text.strip()  # openpyxl's rule: spaces kept around some text
                space = ' xml:space="preserve"' if stripped and stripped != text else ""
                add(f"<c {attrs}><is><t{space}>{text}</t></is></c>")
            elif value is None:
                add(f'<c r="{ref}"{self._style_attr(style)}/>')
            elif kind is bool:
                add(f'<c r="{ref}"{self._style_attr(style)} t="b"><v>{int(value)}</v></c>')
            elif kind is int or kind is float:
                shown = f"{value:.16g}" if math.isfinite(value) else ""  # as openpyxl writes it
                add(f'<c r="{ref}"{self._style_attr(style)} t="n"><v>{shown}</v></c>')
            else:
                raise TypeError(f"a report cell holds text or a number, not {kind.__name__}")
        add("</row>")
        return "".join(parts)

    def _style_attr(self, style: StyleArray | None) -> str:
        """` s="3"` for a shared style, once per style; nothing for no style."""
        known = self._style_attrs.get(id(style))
        if known is None or known[0] is not style:
            if style is None or not any(style):
                known = (style, "")
            else:
                known = (style, f' s="{_style_index(self.parent, self._style_ids, style)}"')
            self._style_attrs[id(style)] = known
        return known[1]


@cache
def _column_letter(index: int) -> str:
    return get_column_letter(index)


def report_sheet(workbook: Workbook, title: str) -> ReportSheet:
    sheet = ReportSheet(parent=workbook, title=title)
    workbook._add_sheet(sheet)
    return sheet
