"""Reading real-world workbooks safely, and writing text that never becomes a formula."""

from __future__ import annotations

import io
import zipfile
from fractions import Fraction

import openpyxl
import pytest
from openpyxl import Workbook

from campaign import rates
from campaign.models import UnitKind
from campaign.spreadsheets.reading import (
    Column,
    NotANumber,
    SheetError,
    check_xlsx,
    header_key,
    read_table,
    whole_number,
)
from campaign.spreadsheets.summary import GROUPS, summary_sentence

COLUMNS = (
    Column("code", ("Mã đơn vị",)),
    Column("name", ("Tên đơn vị", "Đơn vị"), required=True),
    Column("amount", ("Chỉ tiêu",), required=True),
)


def xlsx(*rows: list, sheets: dict[str, list[list]] | None = None, merge: str = "") -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    for title, sheet_rows in (sheets or {}).items():
        other = wb.create_sheet(title)
        for row in sheet_rows:
            other.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_openpyxl_parses_xml_through_defusedxml():
    assert openpyxl.DEFUSEDXML is True


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Mã đơn vị", "madonvi"),
        ("ma don vi", "madonvi"),
        ("  MÃ  ĐƠN VỊ ", "madonvi"),
        ("Chỉ tiêu (đv máu)", "chitieu"),
        ("Chỉ tiêu\n(đơn vị máu)", "chitieu"),
    ],
)
def test_header_labels_match_without_accents_case_spacing_or_units(label, key):
    assert header_key(label) == key


def test_a_hand_made_file_is_read_as_people_wrote_it():
    data = xlsx(
        ["BAN CHỈ ĐẠO VẬN ĐỘNG HIẾN MÁU TÌNH NGUYỆN HUYỆN QUẢNG XƯƠNG"],
        ["BẢNG GIAO CHỈ TIÊU NĂM 2021"],
        [],
        ["STT", "ma don vi", "DON VI", "Chỉ tiêu (đv máu)"],
        [1, "QX-BINH", "Quảng Bình", "40"],
        [None, None, None, None],
        [2, None, "  quang   chinh ", "1.200"],
        [3, None, "Quảng Định", 15.0],
        [None, "Tổng cộng", None, 1255],
        merge="A1:D1",
    )
    table = read_table(data, COLUMNS)
    assert [row for row, _ in table.rows] == [5, 7, 8]
    values = [v for _, v in table.rows]
    assert values[0] == {"code": "QX-BINH", "name": "Quảng Bình", "amount": "40"}
    assert values[1]["name"] == "quang chinh"
    assert [whole_number(v["amount"]) for v in values] == [40, 1200, 15]


def test_the_sheet_with_the_header_is_found_and_a_file_without_one_is_refused():
    data = xlsx(["Ghi chú"], sheets={"Chỉ tiêu": [["Đơn vị", "Chỉ tiêu"], ["Quảng Bình", 4]]})
    assert read_table(data, COLUMNS).sheet == "Chỉ tiêu"
    with pytest.raises(SheetError) as error:
        read_table(xlsx(["Họ tên", "Tuổi"], ["An", 30]), COLUMNS)
    assert error.value.code == "no_header"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        (12.0, 12),
        ("12", 12),
        ("1.200", 1200),
        (" 1 200 ", 1200),
        ("", None),
        (None, None),
    ],
)
def test_whole_numbers_as_typed(value, expected):
    assert whole_number(value) == expected


@pytest.mark.parametrize("value", ["abc", 1.5, "1,5", "12a"])
def test_what_is_not_a_whole_number(value):
    with pytest.raises(NotANumber):
        whole_number(value)


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"STT;Don vi\n1;Quang Binh\n", "not_xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "encrypted"),
        (b"PK\x03\x04 broken", "corrupt"),
        (zip_of({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<t/>"}), "not_xlsx"),
    ],
)
def test_files_that_are_not_xlsx_are_refused_by_content(data, code):
    with pytest.raises(SheetError) as error:
        check_xlsx(data)
    assert error.value.code == code


def test_a_decompression_bomb_is_refused_before_parsing():
    bomb = zip_of(
        {
            "[Content_Types].xml": b"<t/>",
            "xl/workbook.xml": b"<w/>",
            "xl/worksheets/sheet1.xml": b"\0" * (50 * 1024 * 1024),
        }
    )
    assert len(bomb) < 200 * 1024
    with pytest.raises(SheetError) as error:
        check_xlsx(bomb)
    assert error.value.code == "bomb"


def test_a_zip_with_too_many_entries_is_refused():
    many = zip_of({f"xl/{n}.xml": b"" for n in range(2100)})
    with pytest.raises(SheetError) as error:
        check_xlsx(many)
    assert (error.value.code, error.value.params) == (
        "too_many_parts",
        {"found": 2100, "limit": 2000},
    )


def test_a_corrupt_workbook_inside_a_valid_zip_is_refused():
    data = zip_of({"[Content_Types].xml": b"<t", "xl/workbook.xml": b"not xml"})
    with pytest.raises(SheetError) as error:
        read_table(data, COLUMNS)
    assert error.value.code == "corrupt"


def test_summary_sentence_reads_like_the_article():
    totals = rates.Totals(
        40, Fraction(50), rates.EMPTY, holders=40, completed=38, over=12, not_reported=0
    )
    assert summary_sentence(totals) == (
        "38/40 đơn vị (95,0%) hoàn thành chỉ tiêu; 12 đơn vị vượt chỉ tiêu"
    )


# The report's rows are written as XML text, not through openpyxl's cells. Both paths must
# write the same workbook: the text path runs whenever openpyxl writes through et_xmlfile,
# the cell path when lxml is installed.

ODD_ROWS = [
    [1, "Xã Quảng Bình", 12, 0, 3.5, None, 0.999, "Hoàn thành"],
    [2, "Trường A & B <cơ sở 2>", -4, 10**12, float("nan"), "", 1e-7, None],
    [3, "  khoảng trắng  ", True, 2.25, None, "=1+1", "-3", "@x"],
    [None, "Tên\x0bcó\x00ký tự điều khiển", None, None, None, None, None, None],
    [4, "x" * 40_000, 7, 1234567.891, 0.1 + 0.2, 2**53 + 1, float("inf"), " "],
    [5, "\x01=SUM(A1)", None, None, None, None, None, None],  # a formula once cleaned
]


def _report(rows: list[list]) -> bytes:
    from campaign.spreadsheets.cells import PERCENT, Styles, report_sheet

    wb = Workbook(write_only=True)
    styles = Styles(wb)
    sheet = report_sheet(wb, "Tổng hợp")
    sheet.row_dimensions[5].height = 30  # a row with its own height takes openpyxl's path
    sheet.append(["Tiêu đề", None, "không kiểu"])  # an ordinary row before the styled ones
    plain = [styles.get(grid=True, number_format=PERCENT if i == 6 else None) for i in range(8)]
    bold = [styles.get(bold=True, grid=True, indent=1), *([None] * 7)]
    for index, row in enumerate(rows):
        sheet.append_styled(row, bold if index == 1 else plain)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _cells(data: bytes) -> list[tuple]:
    ws = openpyxl.load_workbook(io.BytesIO(data))["Tổng hợp"]
    return [
        (
            c.coordinate,
            c.value,
            c.data_type,
            c.number_format,
            c.font.b,
            c.font.name,
            c.border.left.style,
            c.alignment.indent,
            c.quotePrefix,
            ws.row_dimensions[c.row].height,
        )
        for row in ws.iter_rows()
        for c in row
        if c.value is not None or c.has_style
    ]


def _sheet_xml(data: bytes) -> list[tuple]:
    """Every cell of the first sheet as XML: its attributes (t="n" when left out) and text."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(
        zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    )
    return [
        (
            {"t": "n", **c.attrib},
            [(e.tag.rsplit("}", 1)[-1], e.text, dict(e.attrib)) for e in c.iter() if e is not c],
        )
        for c in root.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}c")
    ]


def test_rows_written_as_text_equal_the_rows_openpyxl_writes(monkeypatch):
    from campaign.spreadsheets import cells

    written_as_text = []
    row_xml = cells.ReportSheet._row_xml

    def spy(sheet, values, row_idx):
        written_as_text.append(row_idx)
        return row_xml(sheet, values, row_idx)

    monkeypatch.setattr(cells.ReportSheet, "_row_xml", spy)
    fast = _report(ODD_ROWS)
    assert written_as_text == [2, 3, 4, 6, 7]  # row 5 has a height; row 1 is not styled

    monkeypatch.setattr(cells, "_raw_output", lambda xf: None)
    slow = _report(ODD_ROWS)
    assert written_as_text == [2, 3, 4, 6, 7]

    assert _cells(fast) == _cells(slow)
    assert _sheet_xml(fast) == _sheet_xml(slow)
    by_ref = {c[0]: c for c in _cells(fast)}
    assert by_ref["A3"][4] is True and by_ref["A3"][7] == 1  # bold, indented
    assert by_ref["B3"][1] == "Trường A & B <cơ sở 2>" and by_ref["B3"][6] is None  # no style
    assert by_ref["B4"][1] == "  khoảng trắng  "
    assert by_ref["F4"][1:3] == ("=1+1", "s") and by_ref["F4"][8] is True  # text, marked
    assert by_ref["B5"][1] == "Têncóký tự điều khiển"
    assert len(by_ref["B6"][1]) == 32_767
    assert by_ref["B7"][1] == "=SUM(A1)" and by_ref["B7"][8] is True
    assert by_ref["G2"][3] == "[$-42A]0.0%"


def test_a_report_cell_refuses_a_value_it_cannot_write():
    from datetime import date

    with pytest.raises(TypeError):
        _report([[date(2021, 1, 1)]])


def test_every_unit_kind_has_its_section_of_the_report():
    placed = [kind for _title, kinds in GROUPS for kind in kinds]
    assert sorted(placed) == sorted(UnitKind)
    assert "special_zone" in GROUPS[0][1]  # a đặc khu reports with the communes and wards
