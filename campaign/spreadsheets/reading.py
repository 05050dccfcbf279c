"""Reading the workbooks people really have: title rows, merged cells, numbers typed as text.

Every refusal is a :class:`SheetError` with a code the caller turns into a message.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from python_calamine import CalamineWorkbook

from campaign.numbers import MAX_COUNT
from campaign.spreadsheets import bounds
from campaign.text import fold

#: A password-protected .xlsx and an old .xls are both OLE compound files.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAX_ENTRIES = 2000
MAX_UNCOMPRESSED = 200 * 1024 * 1024
#: Spreadsheet XML compresses well, but not a thousandfold: beyond this it is a bomb.
MAX_RATIO = 200
#: What reading a damaged or unusual archive may raise; each means the file cannot be read.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    ValueError,
    EOFError,
    OSError,
    RuntimeError,  # an encrypted entry
    NotImplementedError,  # a compression method zipfile lacks
    zlib.error,
)
HEADER_SEARCH_ROWS = 20
TOTAL_WORDS = {"tong", "cong", "tong cong", "tong so"}
_NON_WORD = re.compile(r"[^0-9a-z]+")
_BRACKETS = re.compile(r"\(.*?\)")


class SheetError(Exception):
    """A file refused as a whole; ``code`` names why, ``params`` fill the message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def check_xlsx(data: bytes) -> None:
    """Refuses what is not a plain .xlsx, and a zip that would expand too far, before parsing."""
    if not data:
        raise SheetError("empty")
    if data.startswith(OLE_MAGIC):
        raise SheetError("encrypted")
    if not data.startswith(ZIP_MAGIC):
        raise SheetError("not_xlsx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_archive(archive)
    except bounds.SheetTooLarge as error:
        raise SheetError(f"too_many_{error.code}", found=error.found, limit=error.limit) from error
    except (bounds.BadReference, *ZIP_ERRORS) as error:
        raise SheetError("corrupt") from error


def _check_archive(archive: zipfile.ZipFile) -> None:
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise bounds.SheetTooLarge("parts", len(entries), MAX_ENTRIES)
    if sum(e.file_size for e in entries) > MAX_UNCOMPRESSED:
        raise SheetError("bomb")
    for entry in entries:
        if entry.file_size > MAX_RATIO * max(entry.compress_size, 1) and entry.file_size > 1 << 20:
            raise SheetError("bomb")
    names = {e.filename for e in entries}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise SheetError("not_xlsx")
    bounds.check_workbook(archive)  # the sizes the file declares are bounded; now its cells


def header_key(text: Any) -> str:
    """A header label compared without accents, case, spacing or a bracketed unit."""
    if not isinstance(text, str):
        return ""
    return _NON_WORD.sub("", _BRACKETS.sub("", fold(text)))


@dataclass(frozen=True)
class Column:
    name: str
    #: Header labels that mean this column, as people write them.
    labels: tuple[str, ...]
    required: bool = False

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(header_key(label) for label in self.labels)


@dataclass
class Table:
    sheet: str
    #: Which columns were found, by name.
    columns: set[str]
    #: (row number as the spreadsheet shows it, values by column name)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def read_table(data: bytes, columns: Sequence[Column]) -> Table:
    """The first sheet whose header row (within the first 20 rows) names every required column."""
    check_xlsx(data)
    for name, rows in _sheets(data):
        found = _header(rows, columns)
        if found is not None:
            index, positions = found
            return Table(name, set(positions), list(_data_rows(rows, index, positions)))
    required = [c.labels[0] for c in columns if c.required]
    raise SheetError("no_header", columns=", ".join(required))


def _sheets(data: bytes) -> Iterator[tuple[str, list[list[Any]]]]:
    """Each sheet's cells in turn, so that only one sheet is held at a time."""
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = workbook.sheet_names
    except Exception as error:  # calamine raises its own error types for broken content
        raise SheetError("corrupt") from error
    for name in names:
        try:
            rows = workbook.get_sheet_by_name(name).to_python()
        except Exception as error:
            raise SheetError("corrupt") from error
        yield name, rows


def _header(
    rows: Sequence[Sequence[Any]], columns: Sequence[Column]
) -> tuple[int, dict[str, int]] | None:
    """The row naming the most columns (two at least, every required one) in the first 20.

    A title such as "Chỉ tiêu" alone on its row names one column: it is not a header.
    """
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        positions = _positions([header_key(value) for value in row], columns)
        complete = all(c.name in positions for c in columns if c.required)
        if complete and len(positions) >= 2 and (best is None or len(positions) > len(best[1])):
            best = index, positions
    return best


def _positions(keys: Sequence[str], columns: Sequence[Column]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for column in columns:
        for position, key in enumerate(keys):
            if key and key in column.keys and position not in positions.values():
                positions[column.name] = position
                break
    return positions


def _data_rows(
    rows: Sequence[Sequence[Any]], header: int, positions: Mapping[str, int]
) -> Iterator[tuple[int, dict[str, Any]]]:
    # Written for speed (a file may hold 150.000 rows): no generator or call per cell
    # where a plain loop does.
    items = list(positions.items())
    for index in range(header + 1, len(rows)):
        row = rows[index]
        width = len(row)
        values = {name: _clean(row[p]) if p < width else None for name, p in items}
        for value in values.values():
            if value is not None:
                break
        else:
            continue  # a blank row
        if not _is_total(row):
            yield index + 1, values


def _clean(value: Any) -> Any:
    """Text with its spacing made single, blank text as nothing, anything else as it is."""
    if type(value) is not str:
        return value
    # Most cells are already clean: isprintable() is false for tabs, line breaks and
    # non-breaking spaces, which the slow path turns into single spaces.
    if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
        return value or None
    return " ".join(value.split()) or None


def _is_total(row: Sequence[Any]) -> bool:
    """ "Tổng", "Cộng", "Tổng cộng" in one of the first cells marks a total row."""
    for value in row[:4]:
        # Every total word starts with t or c: most cells are ruled out without folding.
        if type(value) is str and value[:1] in "TtCc" and fold(value).rstrip(":") in TOTAL_WORDS:
            return True
    return False


class NotANumber(ValueError):
    pass


class TooLarge(NotANumber):
    """A whole number past :data:`~campaign.numbers.MAX_COUNT`: no count or quota is that big."""


def whole_number(value: Any) -> int | None:
    """A count as typed: 12, 12.0, "12", "1.200" (thousands dots), " 1 200 "; blank is None.

    Negative numbers are returned for the caller to name; past ``MAX_COUNT`` is refused."""
    number = _whole(value)
    if number is not None and number > MAX_COUNT:
        raise TooLarge(value)
    return number


def _whole(value: Any) -> int | None:
    if type(value) is float and value.is_integer():  # what a workbook's numbers read as
        return int(value)
    if value is None or value == "":
        return None
    if isinstance(value, bool | date | datetime):
        raise NotANumber(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise NotANumber(value)
    text = str(value).strip().replace(" ", "").replace("\u00a0", "")
    if re.fullmatch(r"-?[0-9]{1,3}(\.[0-9]{3})+", text):
        text = text.replace(".", "")
    elif re.fullmatch(r"-?[0-9]+,0+", text):
        text = text.split(",")[0]
    if re.fullmatch(r"-?[0-9]+", text):
        if len(text.lstrip("-").lstrip("0")) > len(str(MAX_COUNT)):
            raise TooLarge(value)  # before int(): past 4.300 digits it raises
        return int(text)
    raise NotANumber(value)
