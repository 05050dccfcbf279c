"""Reading real-world workbooks safely, and writing text that never becomes a formula."""

from __future__ import annotations

import io
import zipfile
from fractions import Fraction

import openpyxl
import pytest
from openpyxl import Workbook

from campaign import rates
from campaign.spreadsheets.reading import (
    Column,
    NotANumber,
    SheetError,
    check_xlsx,
    header_key,
    read_table,
    whole_number,
)
from campaign.spreadsheets.summary import summary_sentence

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
    with pytest.raises(SheetError, match="bomb"):
        check_xlsx(many)


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
