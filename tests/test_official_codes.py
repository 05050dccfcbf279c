"""Official codes of units: optional, unique only among units valid on a same day (codes
are reused across the 2025 reform), through every door: the service, the unit form, the
units import and the API."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from campaign.extensions import db
from campaign.models import OrgUnit
from campaign.services import imports, tokens, units
from campaign.services.errors import ServiceError
from tests import factories as f
from tests.test_imports import xlsx

REFORM = date(2025, 7, 1)
BEFORE = date(2025, 6, 30)


@pytest.fixture
def district(app):
    district, communes = f.district_with_communes(["Xã Quảng Bình", "Xã Quảng Lưu"])
    return district, communes


def test_a_code_is_reused_by_a_unit_valid_after_the_old_one_ceased(district):
    district, (quang_binh, quang_luu) = district
    units.update_unit(
        quang_luu,
        code=quang_luu.code,
        name=quang_luu.name,
        kind="commune",
        parent=district,
        valid_to=BEFORE,
        official_code=" 16543 ",
    )
    new = f.unit(
        "Xã Quảng Bình (mới)", parent=district.parent, valid_from=REFORM, official_code="16543"
    )
    assert (quang_luu.official_code, new.official_code) == ("16543", "16543")
    assert units.check_official_code("", None, None) is None


@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [(None, None), (date(2025, 6, 30), None), (None, date(2025, 12, 31)), (date(2000, 1, 1), None)],
)
def test_two_units_valid_on_a_same_day_cannot_share_a_code(district, valid_from, valid_to):
    district, (quang_binh, _) = district
    units.update_unit(
        quang_binh,
        code=quang_binh.code,
        name=quang_binh.name,
        kind="commune",
        parent=district,
        valid_from=date(2019, 1, 1),
        valid_to=BEFORE,
        official_code="16468",
    )
    with pytest.raises(ServiceError) as refused:
        f.unit("Xã Khác", valid_from=valid_from, valid_to=valid_to, official_code="16468")
    assert refused.value.field == "official_code"
    assert "16468 đã được dùng cho một đơn vị khác" in refused.value.message
    assert quang_binh.name not in refused.value.message  # it may be outside the scope


def test_a_unit_keeps_its_own_code_when_edited_and_cannot_outlive_a_successor(district):
    district, (quang_binh, _) = district
    old = f.unit("Xã Cũ", valid_to=BEFORE, official_code="16468")
    f.unit("Xã Mới", valid_from=REFORM, official_code="16468")
    units.update_unit(
        old, code=old.code, name="Xã Cũ (đổi tên)", kind="commune", parent=None,
        valid_to=BEFORE, official_code="16468",
    )  # fmt: skip
    with pytest.raises(ServiceError, match="16468"):
        units.deactivate_unit(old, date(2025, 12, 31))
    assert old.valid_to == BEFORE


def test_special_zones_and_wards_are_kinds(district):
    zone = f.unit("Đặc khu Côn Đảo", "special_zone", official_code="26732")
    ward = f.unit("Phường Hạc Thành", "ward", official_code="14797")
    assert (zone.kind_label, ward.kind_label) == ("Đặc khu", "Phường")


# --- the unit form -------------------------------------------------------------------


@pytest.fixture
def organiser(app, client, auth, fast_passwords, district):
    district_unit, communes = district
    user = f.user("organiser", [district_unit])
    f.commit()
    auth.sign_in(user)
    return district_unit, communes


def test_the_unit_form_saves_an_official_code_and_shows_a_clash_by_the_field(client, organiser):
    district, (quang_binh, _) = organiser
    data = {"code": "QX-MOI", "name": "Xã Mới", "kind": "commune", "parent_id": district.id}
    response = client.post("/don-vi/moi", data={**data, "official_code": "16468"})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(OrgUnit.official_code).where(OrgUnit.code == "QX-MOI"))

    again = client.post("/don-vi/moi", data={**data, "code": "QX-MOI-2", "official_code": "16468"})
    page = again.get_data(as_text=True)
    assert again.status_code == 200
    assert 'id="official_code-error">Mã đơn vị hành chính 16468 đã được dùng' in page
    edit = client.get(f"/don-vi/{quang_binh.id}/sua").get_data(as_text=True)
    assert "Mã đơn vị hành chính" in edit


# --- the units import ------------------------------------------------------------------


HEADER = ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị", "Mã đơn vị hành chính"]


def test_the_units_import_reads_an_optional_official_code_column(district):
    district, (quang_binh, quang_luu) = district
    data = xlsx(
        HEADER,
        ["CD", "Đặc khu Côn Đảo", "Đặc khu", "26732"],
        [quang_binh.code, quang_binh.name, "Xã", 16468],
        ["QX-2", "Xã Hai", "Xã", "26732"],
        [quang_luu.code, quang_luu.name, "Xã", None],
    )
    preview = imports.preview_units(data, district)
    assert [(p.row, p.message) for p in preview.problems] == [
        (4, "Mã đơn vị hành chính 26732 đã có ở dòng 2.")
    ]
    fixed = xlsx(*[row for i, row in enumerate(_rows(data)) if i != 3])
    assert imports.apply(imports.preview_units(fixed, district)) == 2
    zone = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "CD"))
    assert (zone.kind, zone.official_code) == ("special_zone", "26732")
    assert quang_binh.official_code == "16468"

    # Without the column, the units keep their codes.
    plain = xlsx(HEADER[:3], [quang_binh.code, quang_binh.name, "Xã"])
    preview = imports.preview_units(plain, district)
    assert preview.ok and preview.count(imports.ChangeKind.UNCHANGED) == 1
    # A code held by a unit valid at the same time is refused before anything is written.
    clash = imports.preview_units(xlsx(HEADER, ["QX-3", "Xã Ba", "Xã", "16468"]), district)
    assert "16468 đã được dùng cho một đơn vị khác" in clash.problems[0].message


def _rows(data: bytes) -> list[list]:
    sheet = load_workbook(BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# --- the API ---------------------------------------------------------------------------


@pytest.fixture
def api(app, district, monkeypatch):
    monkeypatch.setattr(
        "campaign.models.users.generate_password_hash",
        lambda password: generate_password_hash(password, "pbkdf2:sha256:1000"),
    )
    district_unit, communes = district
    user = f.user("organiser", [district_unit.parent])
    _token, secret = tokens.create_token(user, "hệ thống")
    f.commit()
    return {"Authorization": f"Bearer {secret}"}, district_unit


def test_the_api_writes_reads_and_filters_official_codes(client, api):
    headers, district = api
    body = {
        "code": "QX-QBINH-2025",
        "name": "Xã Quảng Bình",
        "kind": "commune",
        "parent_code": district.parent.code,
        "valid_from": "2025-07-01",
        "official_code": "16543",
    }
    created = client.post("/api/v1/units", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["official_code"] == "16543"
    zone = {**body, "code": "CD", "name": "Đặc khu Côn Đảo", "kind": "special_zone"}
    clash = client.post("/api/v1/units", json=zone, headers=headers)
    assert clash.status_code == 422
    error = clash.get_json()["error"]
    assert error["details"] == {"official_code": [error["message"]]}
    zone["official_code"] = "26732"
    assert client.post("/api/v1/units", json=zone, headers=headers).status_code == 201

    found = client.get("/api/v1/units?official_code=16543", headers=headers).get_json()
    assert [(u["code"], u["valid_from"], u["official_code"]) for u in found["items"]] == [
        ("QX-QBINH-2025", "2025-07-01", "16543")
    ]
    everything = client.get("/api/v1/units", headers=headers).get_json()["items"]
    assert {u["code"]: u["official_code"] for u in everything}["CD"] == "26732"
    none = client.get("/api/v1/units?official_code=99999", headers=headers).get_json()
    assert none["items"] == [] and none["total"] == 0
