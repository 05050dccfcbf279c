"""flask import-official-units: a province and its commune-level units from the official
list, through the units service; idempotent; a dry run or a problem writes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import AuditEntry, OrgUnit
from tests import factories as f

REFORM = date(2025, 7, 1)


def count(model=OrgUnit) -> int:
    db.session.rollback()  # see what the command committed
    return db.session.scalar(select(func.count()).select_from(model))


def by_official_code(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.official_code == code))


def test_a_dry_run_prints_what_it_would_do_and_writes_nothing(runner):
    result = runner.invoke(args=["import-official-units", "thanh hoa", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Tỉnh Thanh Hóa (38)" in result.output
    assert "new: 167" in result.output
    assert "HC2025-16543 · 16543 · Xã Quảng Bình · Xã" in result.output
    assert "Chạy thử: chưa lưu gì." in result.output
    assert count() == 0 and count(AuditEntry) == 0


def test_an_empty_database_gets_the_province_and_its_166_units_once(runner):
    result = runner.invoke(args=["import-official-units", "Thanh Hóa"])
    assert result.exit_code == 0, result.output
    assert "Đã lưu 167 thay đổi." in result.output
    province = by_official_code("38")
    assert (province.name, province.kind, province.parent) == ("Tỉnh Thanh Hóa", "province", None)
    communes = province.children
    assert len(communes) == 166
    assert Counter(u.kind for u in communes) == {"commune": 147, "ward": 19}
    assert {(u.valid_from, u.valid_to) for u in communes} == {(REFORM, None)}
    hac_thanh = by_official_code("14797")
    assert (hac_thanh.name, hac_thanh.kind, hac_thanh.code) == (
        "Phường Hạc Thành",
        "ward",
        "HC2025-14797",
    )
    audited = count(AuditEntry)

    again = runner.invoke(args=["import-official-units", "38"])
    assert again.exit_code == 0, again.output
    assert "new: 0" in again.output and "changed: 0" in again.output
    assert "unchanged: 167" in again.output
    assert count() == 167 and count(AuditEntry) == audited


def test_units_already_typed_by_name_receive_their_codes_and_nothing_else_changes(runner):
    district, (old_binh,) = f.district_with_communes(["Xã Quảng Bình"])
    province = district.parent  # "Tỉnh Thanh Hóa", no official code
    typed = f.unit("phuong hac thanh", "ward", province, valid_from=REFORM, contact_name="Chị Lan")
    f.commit()
    result = runner.invoke(args=["import-official-units", "THANH HOA"])
    assert result.exit_code == 0, result.output
    # The province's and Hạc Thành's codes, and the reform: a merge and a district closed.
    assert "changed: 4" in result.output and "new: 165" in result.output
    db.session.rollback()
    assert province.official_code == "38" and province.name == "Tỉnh Thanh Hóa"
    assert (typed.official_code, typed.name, typed.contact_name) == (
        "14797",
        "phuong hac thanh",
        "Chị Lan",
    )
    # The pre-reform commune of the same name is not the new one: it merges into it.
    new_binh = by_official_code("16543")
    assert new_binh.name == "Xã Quảng Bình" and new_binh.id != old_binh.id
    assert (old_binh.official_code, old_binh.parent_id) == (None, district.id)
    assert (old_binh.valid_to, old_binh.merged_into) == (date(2025, 6, 30), new_binh)


def test_a_code_held_by_a_unit_still_valid_after_the_reform_is_listed_and_nothing_written(runner):
    # Under a district the list does not know, the reform leaves it as it is.
    district = f.unit("Huyện Không Có", "district", f.unit("Tỉnh Thanh Hóa", "province"))
    old_luu = f.unit("Xã Quảng Lưu", "commune", district)
    old_luu.official_code = "16543"  # the old code, reused by the new Xã Quảng Bình
    f.commit()
    before = count()
    result = runner.invoke(args=["import-official-units", "38"])
    assert result.exit_code == 1
    assert "16543 đã được dùng cho một đơn vị khác" in result.output
    assert "Chưa có gì được lưu." in result.output
    assert count() == before

    old_luu.valid_to = date(2025, 6, 30)  # closed the day before the reform: the code is free
    f.commit()
    assert runner.invoke(args=["import-official-units", "38"]).exit_code == 0
    assert count() == before + 166


def test_special_zones_come_with_their_kind(runner):
    result = runner.invoke(args=["import-official-units", "Tỉnh Quảng Ngãi"])
    assert result.exit_code == 0, result.output
    assert by_official_code("21548").kind == "special_zone"  # Đặc khu Lý Sơn


@pytest.mark.parametrize("ref", ["99", "Quảng Xương", "x" * 5000])
def test_an_unknown_province_fails_on_one_line_and_writes_nothing(runner, ref):
    result = runner.invoke(args=["import-official-units", ref])
    assert result.exit_code == 1
    assert "trong danh mục từ 01/07/2025" in result.output
    assert "Traceback" not in result.output
    assert count() == 0


# --- the page --------------------------------------------------------------------------


def fingerprint(page: str) -> str:
    return page.split('name="fingerprint" type="hidden" value="')[1].split('"')[0]


def test_an_administrator_previews_then_confirms_and_a_second_run_has_nothing_to_do(
    client, auth, fast_passwords
):
    admin = f.user("admin")
    f.commit()
    auth.sign_in(admin)
    page = client.get("/don-vi/danh-muc-2025", query_string={"tinh": "thanh hoa"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "HC2025-16543 · 16543 · Xã Quảng Bình · Xã" in text
    assert count() == 0
    data = {"province": "38", "fingerprint": fingerprint(text)}
    assert (
        client.post("/don-vi/danh-muc-2025", data={**data, "fingerprint": "x"}).status_code == 302
    )
    assert count() == 0  # a preview other than the one seen is not applied

    done = client.post("/don-vi/danh-muc-2025", data=data)
    assert done.status_code == 302 and done.headers["Location"].endswith("/don-vi/")
    assert count() == 167
    again = client.get("/don-vi/danh-muc-2025?tinh=38").get_data(as_text=True)
    assert "Cây đơn vị đã có đủ các đơn vị của Tỉnh Thanh Hóa." in again


def test_an_organiser_adds_under_the_province_of_their_scope_and_nowhere_else(
    client, auth, fast_passwords
):
    province = f.unit("Tỉnh Thanh Hóa", "province", official_code="38")
    other = f.unit("Tỉnh Nghệ An", "province", official_code="40")
    district_organiser = f.user("organiser", [f.unit("Huyện X", "district", other)])
    organiser = f.user("organiser", [province])
    f.commit()
    auth.sign_in(district_organiser)
    assert client.get("/don-vi/danh-muc-2025?tinh=38").status_code == 403
    assert client.get("/don-vi/danh-muc-2025?tinh=40").status_code == 403  # not their root's
    auth.sign_in(organiser)
    page = client.get("/don-vi/danh-muc-2025?tinh=38").get_data(as_text=True)
    client.post("/don-vi/danh-muc-2025", data={"province": "38", "fingerprint": fingerprint(page)})
    db.session.rollback()
    assert len(province.children) == 166
    assert client.get("/don-vi/danh-muc-2025?tinh=44").status_code == 403  # a new root
