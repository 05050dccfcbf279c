"""How far a workbook's sheets reach, measured on the raw XML before any reader opens them.

The reader lays each sheet out as a full grid from its first to its last cell, so a 5 KB file
holding one cell at XFD1048576 would make it ask for 512 GB and abort the process. The grid a
file may ask for is bounded here, where counting costs a few regular-expression passes.

A cell's place is its ``r`` attribute ("B12"), or, where a generator leaves it out, the next
column of its row. The common shape (``<c r="B12"``, one letter, at most five digits) is within
every bound, so only the other cells are looked at one by one.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

#: Rows a sheet may reach: far above a province's 10.000 units, far below Excel's 1.048.576.
MAX_ROWS = 150_000
#: Columns a sheet may reach ("AX"); an import has fewer than fifteen.
MAX_COLUMNS = 50
#: Sheets a workbook may hold; each is opened in turn to look for the header row.
MAX_SHEETS = 50

_CHUNK = 1 << 20
#: No spreadsheet program writes a tag this long.
_MAX_TAG = 1 << 20
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
#: Cell tags other than ``<c r="A1"`` .. ``<c r="Z99999"``; the rare ones worth reading.
_UNUSUAL_CELL = re.compile(rb'<c(?=[\s/>])(?! r="[A-Z][0-9]{1,5}"[\s/>])[^>]*>')
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c(?=[\s/>])[^>]*>")
_REF_ATTRIBUTE = re.compile(rb"""\sr\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"([A-Z]{1,3})([1-9][0-9]{0,6})")
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_ROW_OR_CELL = re.compile(rb"<(/?)" + _PREFIX + rb"(row|c)(?=[\s/>])([^>]*)>")
_SHEET = re.compile(rb"<" + _PREFIX + rb"sheet(?=[\s/>])")


class SheetTooLarge(Exception):
    """A workbook past a bound; ``code`` names the bound, ``found`` what the file asks for."""

    def __init__(self, code: str, found: int, limit: int) -> None:
        super().__init__(code)
        self.code = code
        self.found = found
        self.limit = limit


class BadReference(Exception):
    """A cell reference no spreadsheet program writes."""


@dataclass
class Extent:
    rows: int = 0
    columns: int = 0

    def include(self, row: int, column: int) -> None:
        self.rows = max(self.rows, row)
        self.columns = max(self.columns, column)

    def check(self) -> None:
        if self.rows > MAX_ROWS:
            raise SheetTooLarge("rows", self.rows, MAX_ROWS)
        if self.columns > MAX_COLUMNS:
            raise SheetTooLarge("columns", self.columns, MAX_COLUMNS)


def check_workbook(archive: zipfile.ZipFile) -> None:
    """Raises :class:`SheetTooLarge` for too many sheets or a sheet reaching past the bounds.

    Every part is measured, not only those named like sheets: the workbook's relationships may
    point a sheet anywhere in the package.
    """
    if "xl/workbook.xml" in archive.namelist():
        sheets = len(_SHEET.findall(archive.read("xl/workbook.xml")))
        if sheets > MAX_SHEETS:
            raise SheetTooLarge("sheets", sheets, MAX_SHEETS)
    for entry in archive.infolist():
        if not entry.is_dir():
            measure(archive, entry).check()


def measure(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Extent:
    """The last row and column any cell of ``entry`` (or its declared dimension) reaches;
    raises :class:`SheetTooLarge` as soon as it is past a bound."""
    extent = Extent()
    for chunk in _tags(archive, entry):
        extent.check()
        for found in _DIMENSION.finditer(chunk):
            for ref in found.group(1).split(b":"):
                extent.include(*_place(ref))
        for pattern in (_UNUSUAL_CELL, _PREFIXED_CELL):
            for tag in pattern.finditer(chunk):
                ref = _reference(tag.group(0))
                if ref is None:
                    return _walk(archive, entry, extent)  # cells placed by their order
                if not tag.group(0).endswith(b"/>"):  # an empty cell costs the reader nothing
                    extent.include(*_place(ref))
    return extent


def _walk(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, extent: Extent) -> Extent:
    """Places every cell as the reader would: by its reference, else after the previous one."""
    row = column = 0
    for chunk in _tags(archive, entry):
        extent.check()
        for closing, name, attributes in _ROW_OR_CELL.findall(chunk):
            if closing:
                continue
            ref = _reference(attributes)
            if name == b"row":
                if ref is None or not ref.isdigit():
                    row += 1
                else:  # a longer number is past every bound anyway
                    row = int(ref) if len(ref) <= 9 else 10**9
                column = 0
                continue
            row, column = _place(ref) if ref is not None else (row, column + 1)
            if not attributes.endswith(b"/"):
                extent.include(row, column)
    return extent


def _tags(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """The entry's bytes in chunks that never cut a tag in two."""
    rest = b""
    with archive.open(entry) as stream:
        while block := stream.read(_CHUNK):
            data = rest + block
            cut = data.rfind(b"<")
            if cut > 0:
                yield data[:cut]
                rest = data[cut:]
            elif cut == 0:  # one tag still open, or one tag then text
                close = data.find(b">")
                if close == -1 and len(data) > _MAX_TAG:
                    raise BadReference("tag")
                rest = data if close == -1 else data[close + 1 :]
                if close != -1:
                    yield data[: close + 1]
            else:
                rest = b""  # text alone holds no tag
    if rest:
        yield rest


def _reference(tag: bytes) -> bytes | None:
    found = _REF_ATTRIBUTE.search(tag)
    if found is None:
        return None
    return found.group(1) if found.group(1) is not None else found.group(2)


def _place(ref: bytes) -> tuple[int, int]:
    """(row, column) of "B12", both counted from 1."""
    found = _REF.fullmatch(ref.replace(b"$", b""))
    if found is None:
        raise BadReference(ref.decode("latin-1")[:20])
    column = 0
    for letter in found.group(1):
        column = column * 26 + letter - 64
    return int(found.group(2)), column
