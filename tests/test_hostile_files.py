"""Files built to hurt: each is refused with a message that says why, through the upload page
and the command line, nothing is stored, and the server goes on answering."""

from __future__ import annotations

import http.cookiejar
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import ImportKind, PendingImport, Quota
from campaign.services import pending_imports
from campaign.spreadsheets import bounds, isolated
from campaign.spreadsheets.reading import SheetError, check_xlsx
from tests import factories as f
from tests.test_imports import NAMES, xlsx

ROOT = Path(__file__).resolve().parent.parent
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>Tên đơn vị</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>Chỉ tiêu</t></is></c></row>'
)


def workbook(*sheets: str, prolog: str = "") -> bytes:
    """A minimal .xlsx written by hand, so that nothing tidies what a test puts in it."""
    buffer = io.BytesIO()
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in range(1, len(sheets) + 1)
    )
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxml'
            'formats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        names = "".join(
            f'<sheet name="Trang {n}" sheetId="{n}" r:id="rId{n}"/>'
            for n in range(1, len(sheets) + 1)
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}">'
            f"<sheets>{names}</sheets></workbook>",
        )
        targets = "".join(
            f'<Relationship Id="rId{n}" Type="{DOC_RELS}/worksheet" '
            f'Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{RELS}">{targets}</Relationships>',
        )
        for n, rows in enumerate(sheets, start=1):
            archive.writestr(
                f"xl/worksheets/sheet{n}.xml",
                f'<?xml version="1.0"?>{prolog}<worksheet xmlns="{MAIN}"><sheetData>{rows}'
                "</sheetData></worksheet>",
            )
    return buffer.getvalue()


def quota_row(row: int, name: str, amount: str) -> str:
    return (
        f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>{name}</t></is></c>'
        f'<c r="B{row}"><v>{amount}</v></c></row>'
    )


def million_rows() -> bytes:
    rows = "".join(f'<row r="{n}"><c r="B{n}"><v>1</v></c></row>' for n in range(2, 1_048_577))
    return workbook(HEADER_ROW + rows)


def bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (60 * 1024 * 1024))
    return buffer.getvalue()


SECRET = "bí-mật-của-máy-chủ-4127"


def xxe(secret_file: Path) -> bytes:
    prolog = f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
    return workbook(HEADER_ROW + quota_row(2, "&xxe;", "40"), prolog=prolog)


#: (name, the file, what the refusal must say). Built once: the million rows take a second.
@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, str]]:
    secret_file = tmp_path_factory.mktemp("secret") / "secret.txt"
    secret_file.write_text(SECRET, encoding="utf-8")
    return {
        "sparse sheet": (
            workbook(HEADER_ROW + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'),
            "dữ liệu đến dòng 1.048.576; mỗi trang tính chỉ được đọc tối đa 150.000 dòng",
        ),
        "far column": (
            workbook(HEADER_ROW + '<row r="2"><c r="XFD2"><v>1</v></c></row>'),
            "dữ liệu đến cột thứ 16.384; mỗi trang tính chỉ được đọc tối đa 50 cột",
        ),
        "cells placed by their order": (
            workbook(HEADER_ROW + "<row>" + "<c><v>1</v></c>" * 20_000 + "</row>"),
            "dữ liệu đến cột thứ 20.000",
        ),
        "declared dimension": (
            _with_dimension("A1:XFD1048576"),
            "dữ liệu đến dòng 1.048.576",
        ),
        "a million rows": (million_rows(), "mỗi trang tính chỉ được đọc tối đa 150.000 dòng"),
        "zip bomb": (bomb(), "nội dung giải nén quá lớn"),
        "not a zip": (b"Ten don vi;Chi tieu\nQuang Binh;40\n", "không phải bảng tính Excel"),
        "2.000 sheets": (workbook(*[HEADER_ROW] * 2000), "Tệp có 2.004 thành phần nén bên trong"),
        "60 sheets": (workbook(*[HEADER_ROW] * 60), "Tệp có 60 trang tính; tối đa 50"),
        "external entity": (xxe(secret_file), ""),
    }


def _with_dimension(ref: str) -> bytes:
    data = workbook(HEADER_ROW + quota_row(2, "Quảng Bình", "40"))
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(
                    b"<sheetData>", f'<dimension ref="{ref}"/><sheetData>'.encode()
                )
            archive.writestr(entry.filename, content)
    return buffer.getvalue()


@pytest.fixture
def setup(app):
    district, _communes = f.district_with_communes(NAMES)
    plan = f.plan(district)
    organiser = f.user("organiser", [district])
    f.commit()
    return plan, organiser


def pending_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(PendingImport))


def quota_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Quota))


BOUNDARY = "----hostile-file"


def multipart(data: bytes, name: str, csrf_token: str = "") -> bytes:
    """The form body, encoded here: the test client would spool a large one to an unclosed
    temporary file."""
    token = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf_token}\r\n'
        if csrf_token
        else ""
    )
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return (
        (
            f'{token}--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def upload(client, url: str, data: bytes, name: str = "chi-tieu.xlsx"):
    return client.post(
        url,
        data=multipart(data, name),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


CASES = [
    "sparse sheet",
    "far column",
    "cells placed by their order",
    "declared dimension",
    "a million rows",
    "zip bomb",
    "not a zip",
    "2.000 sheets",
    "60 sheets",
]


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_upload_is_refused_by_the_field_with_its_limit(
    case, hostile, setup, client, auth
):
    plan, organiser = setup
    auth.sign_in(organiser)
    data, message = hostile[case]
    assert len(data) < 10 * 1024 * 1024
    started = time.perf_counter()
    response = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", data)
    assert time.perf_counter() - started < 20
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:500]
    assert message in page
    assert pending_count() == 0 and quota_count() == 0
    assert client.get(f"/ke-hoach/{plan.id}").status_code == 200  # still answering


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_file_stored_before_the_checks_previews_its_problem(
    case, hostile, setup, client, auth
):
    """An upload kept from before a check existed must not bring the preview down."""
    plan, organiser = setup
    auth.sign_in(organiser)
    data, message = hostile[case]
    pending = pending_imports.store(organiser, ImportKind.QUOTAS, plan.id, "x.xlsx", data)
    f.commit()
    page = client.get(f"/nhap-excel/{pending.token}").get_data(as_text=True)
    assert message in page and "Cả tệp" in page
    assert quota_count() == 0


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_file_is_refused_by_the_command_line(case, hostile, setup, runner, tmp_path):
    plan, _organiser = setup
    data, message = hostile[case]
    path = tmp_path / "chi-tieu.xlsx"
    path.write_bytes(data)
    result = runner.invoke(args=["import-quotas", plan.number, str(path), "--year", str(plan.year)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert message in result.output
    assert quota_count() == 0


def test_an_external_entity_is_never_read(hostile, setup, client, auth, runner, tmp_path):
    plan, organiser = setup
    auth.sign_in(organiser)
    data, _ = hostile["external entity"]
    response = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", data)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        response = client.get(response.location)
    assert response.status_code == 200
    assert SECRET not in response.get_data(as_text=True)
    path = tmp_path / "xxe.xlsx"
    path.write_bytes(data)
    result = runner.invoke(
        args=["import-quotas", plan.number, str(path), "--year", str(plan.year), "--dry-run"]
    )
    assert SECRET not in result.output
    assert quota_count() == 0


def test_a_file_name_with_nul_quotes_and_line_breaks_is_kept_harmless(setup, client, auth):
    plan, organiser = setup
    auth.sign_in(organiser)
    data = xlsx(["Tên đơn vị", "Chỉ tiêu"], ["Quảng Bình", 40])
    name = 'chỉ "tiêu"\r\nSet-Cookie: x=1\x00<b>.xlsx'
    response = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", data, name)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        stored = db.session.scalar(select(PendingImport.filename))
        assert stored == 'chỉ "tiêu"Set-Cookie: x=1<b>.xlsx'
        page = client.get(response.location).get_data(as_text=True)
        assert "Set-Cookie: x=1&lt;b&gt;.xlsx" in page
    assert client.get(f"/ke-hoach/{plan.id}").status_code == 200


def test_the_problem_list_stops_at_a_thousand_and_says_how_many_more(setup, client, auth):
    plan, organiser = setup
    auth.sign_in(organiser)
    rows = "".join(quota_row(n, f"Không có {n}", "1") for n in range(2, 1502))
    response = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", workbook(HEADER_ROW + rows))
    page = client.get(response.location).get_data(as_text=True)
    assert page.count('<td class="num">') == 1000
    assert "Chỉ liệt kê 1.000 lỗi đầu tiên; 500 lỗi khác không được liệt kê." in page
    assert "Tệp còn 1.500 lỗi" in page


def test_the_upload_page_states_the_limits(setup, client, auth):
    plan, organiser = setup
    auth.sign_in(organiser)
    page = client.get(f"/ke-hoach/{plan.id}/nhap-chi-tieu").get_data(as_text=True)
    assert "tối đa 10 MB, 50 trang tính; mỗi trang tính tối đa 150.000 dòng và 50 cột" in page


def test_a_reader_that_dies_ends_only_its_own_process(hostile, monkeypatch):
    """The second wall: a file the bounds did not foresee kills the reading child, not us."""
    monkeypatch.setattr(bounds, "check_workbook", lambda _archive: None)
    data, _ = hostile["sparse sheet"]
    with pytest.raises(SheetError) as error:
        isolated.read_table_isolated(data, ())
    assert error.value.code == "too_costly"


def test_a_reader_past_its_memory_limit_is_a_file_refused():
    """Within every bound, a cell at AX150000 still makes the reader lay out 7,5 million
    cells (about 240 MB): past a lower memory limit, the file is refused, not the server."""
    data = workbook(HEADER_ROW + '<row r="150000"><c r="AX150000"><v>1</v></c></row>')
    check_xlsx(data)
    with pytest.raises(SheetError) as error:
        isolated.read_table_isolated(data, (), memory_limit=64 * 1024 * 1024)
    assert error.value.code == "too_costly"
    with pytest.raises(SheetError) as error:  # under the default limit it is read
        isolated.read_table_isolated(data, ())
    assert error.value.code == "no_header"


def test_the_bounds_cost_little_on_a_large_ordinary_file():
    rows = "".join(quota_row(n, f"Đơn vị {n}", "1") for n in range(2, 100_002))
    data = workbook(HEADER_ROW + rows)
    started = time.perf_counter()
    check_xlsx(data)
    assert time.perf_counter() - started < 5  # generous: a shared machine; about 0,1 s here


# --- the real server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(migrated: str) -> Iterator[str]:
    """The app under gunicorn in its own process, CSRF on, as in production."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": migrated,
        "SECRET_KEY": "hostile-files-test",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "campaign.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/dang-nhap", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_served_app_survives_the_sparse_sheet_and_keeps_answering(hostile, setup, server):
    plan, organiser = setup
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def csrf(path: str) -> str:
        page = opener.open(server + path, timeout=30).read().decode()
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    form = {
        "csrf_token": csrf("/dang-nhap"),
        "username": organiser.username,
        "password": f.PASSWORD,
    }
    opener.open(server + "/dang-nhap", urllib.parse.urlencode(form).encode(), timeout=30)
    data, message = hostile["sparse sheet"]
    url = f"/ke-hoach/{plan.id}/nhap-chi-tieu"
    request = urllib.request.Request(
        server + url,
        multipart(data, "a.xlsx", csrf(url)),
        {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    page = opener.open(request, timeout=60).read().decode()
    assert message in page
    # A copy stored before the checks existed: its preview must not take the server down.
    pending = pending_imports.store(organiser, ImportKind.QUOTAS, plan.id, "a.xlsx", data)
    f.commit()
    for _ in range(2):
        page = opener.open(f"{server}/nhap-excel/{pending.token}", timeout=60).read().decode()
        assert message in page
    assert opener.open(f"{server}/ke-hoach/{plan.id}", timeout=30).status == 200
