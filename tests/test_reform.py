"""The reform of 1 July 2025 recorded in a tree that holds a province's pre-reform units:
old communes merge into the new ones, districts close, the units under them move; what
cannot be matched is listed; nothing is written until confirmed; a second run changes
nothing; plans issued before keep their figures."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from campaign import official_units
from campaign.extensions import db
from campaign.models import AuditEntry, OrgUnit, UnitMove
from campaign.services import official_import, plans, summary
from campaign.services.errors import Forbidden
from campaign.services.imports import ChangeKind
from campaign.services.scope import Scope
from tests import factories as f

REFORM = date(2025, 7, 1)
LAST_DAY = date(2025, 6, 30)


def count(model=OrgUnit) -> int:
    db.session.rollback()  # see what was committed
    return db.session.scalar(select(func.count()).select_from(model))


def new_unit(official_code: str) -> OrgUnit:
    return db.session.scalar(
        select(OrgUnit).where(OrgUnit.official_code == official_code, OrgUnit.valid_from == REFORM)
    )


def pre_reform_tree() -> SimpleNamespace:
    """Two districts of Thanh Hóa as a 2021 organiser typed them: names with or without
    their "Xã", one official code, a split ward, and a commune the list does not know."""
    t = SimpleNamespace()
    t.province = f.unit("Tỉnh Thanh Hóa", "province")
    t.qx = f.unit("Huyện Quảng Xương", "district", t.province)
    t.binh = f.unit("Quảng Bình", "commune", t.qx)
    t.luu = f.unit("Xã Quảng Lưu", "commune", t.qx, official_code="16543")  # reused
    t.loc = f.unit("quang loc", "commune", t.qx)
    t.hop = f.unit("Xã Quảng Hợp", "commune", t.qx)
    t.lost = f.unit("Xã Quảng Không Tên", "commune", t.qx)
    t.school = f.unit("Trường Tiểu học Quảng Bình", "school", t.binh)
    t.school_union = f.unit("CĐCS Trường Tiểu học Quảng Bình", "union", t.school)
    t.agency = f.unit("Cơ quan UBND huyện Quảng Xương", "agency", t.qx)
    t.city = f.unit("Thành phố Thanh Hóa", "district", t.province)
    t.dong_tho = f.unit("Phường Đông Thọ", "ward", t.city)  # split: Hàm Rồng, Hạc Thành
    t.truong_thi = f.unit("Phường Trường Thi", "ward", t.city)
    t.dong_tho_school = f.unit("Trường THCS Đông Thọ", "school", t.dong_tho)
    t.company = f.unit("CĐCS Công ty Mía đường Lam Sơn", "union", t.city)
    f.commit()
    return t


def test_a_dry_run_shows_the_reform_and_writes_nothing(runner):
    pre_reform_tree()
    before, audited = count(), count(AuditEntry)
    result = runner.invoke(args=["import-official-units", "38", "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Quảng Bình: QX" not in out  # sanity: rows name the app's codes
    for line in (
        "Quảng Bình · Huyện Quảng Xương -> Sáp nhập vào Xã Quảng Bình (16543) từ 01/07/2025",
        "Xã Quảng Lưu · Huyện Quảng Xương -> Sáp nhập vào Xã Quảng Bình (16543)",
        "quang loc · Huyện Quảng Xương -> Sáp nhập vào Xã Quảng Bình (16543)",
        "Xã Quảng Hợp · Huyện Quảng Xương -> Sáp nhập vào Xã Quảng Ngọc (16498)",
        "Phường Đông Thọ · Thành phố Thanh Hóa -> Sáp nhập vào Phường Hàm Rồng (14758)",
        "Phường Trường Thi · Thành phố Thanh Hóa -> Sáp nhập vào Phường Hạc Thành (14797)",
        "Trường Tiểu học Quảng Bình · Quảng Bình -> Chuyển về Xã Quảng Bình từ 01/07/2025",
        "Cơ quan UBND huyện Quảng Xương · Huyện Quảng Xương -> Chuyển về Tỉnh Thanh Hóa",
        "CĐCS Công ty Mía đường Lam Sơn · Thành phố Thanh Hóa -> Chuyển về Tỉnh Thanh Hóa",
        "Trường THCS Đông Thọ · Phường Đông Thọ -> Chuyển về Phường Hàm Rồng",
        "Huyện Quảng Xương -> Hết hiệu lực sau 30/06/2025",
        "Thành phố Thanh Hóa -> Hết hiệu lực sau 30/06/2025",
        "Phường Đông Thọ được chia cho: Phường Hàm Rồng (14758), Phường Hạc Thành (14797); "
        "nhận theo đề xuất: 14758.",
        "Chưa đối chiếu được: Xã Quảng Không Tên (Huyện Quảng Xương): không khớp",
        "Chưa đối chiếu được: Xã Quảng Thái (16558) của Huyện Quảng Xương có trong danh mục",
        "Chạy thử: chưa lưu gì.",
    ):
        assert line in out, line
    # The union under the school moves with it: it is not a row of its own.
    assert "CĐCS Trường Tiểu học Quảng Bình ·" not in out
    assert "changed: 13" in out and "new: 166" in out and "unchanged: 0" in out
    assert count() == before and count(AuditEntry) == audited and count(UnitMove) == 0


def test_the_reform_is_recorded_once(runner):
    t = pre_reform_tree()
    result = runner.invoke(args=["import-official-units", "Thanh Hóa"])
    assert result.exit_code == 0, result.output
    assert "Đã lưu 179 thay đổi." in result.output  # 166 new units, the province code, 12
    db.session.rollback()
    binh, ngoc = new_unit("16543"), new_unit("16498")
    ham_rong, province = new_unit("14758"), t.province
    assert binh.name == "Xã Quảng Bình" and binh.parent == province
    for old, into in [
        (t.binh, binh),
        (t.luu, binh),
        (t.loc, binh),
        (t.hop, ngoc),
        (t.dong_tho, ham_rong),
        (t.truong_thi, new_unit("14797")),
    ]:
        assert (old.valid_to, old.merged_into, old.parent.valid_to) == (LAST_DAY, into, LAST_DAY)
    assert t.luu.official_code == "16543"  # its code, in its time; the new unit reuses it
    assert (t.qx.valid_to, t.city.valid_to) == (LAST_DAY, LAST_DAY)
    assert t.province.valid_to is None
    assert t.school.parent == binh and t.school_union.parent == t.school
    assert t.dong_tho_school.parent == ham_rong
    assert t.agency.parent == province and t.company.parent == province
    moves = db.session.scalars(select(UnitMove).order_by(UnitMove.unit_id)).all()
    assert {(m.unit_id, m.from_parent_id, m.to_parent_id, m.moved_on) for m in moves} == {
        (t.school.id, t.binh.id, binh.id, REFORM),
        (t.dong_tho_school.id, t.dong_tho.id, ham_rong.id, REFORM),
        (t.agency.id, t.qx.id, province.id, REFORM),
        (t.company.id, t.city.id, province.id, REFORM),
    }
    # Not matched, so left as it was.
    assert (t.lost.valid_to, t.lost.merged_into, t.lost.parent) == (None, None, t.qx)
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions.count("unit.reform") == 1 and actions.count("unit.merge") == 6
    audited, units_count = count(AuditEntry), count()

    again = runner.invoke(args=["import-official-units", "38"])
    assert again.exit_code == 0, again.output
    assert "new: 0" in again.output and "changed: 0" in again.output
    assert "unchanged: 175" in again.output  # 167 units, 6 merged, 2 districts closed
    assert "Chưa đối chiếu được: Xã Quảng Không Tên" in again.output
    assert count() == units_count and count(AuditEntry) == audited and count(UnitMove) == 4


def test_a_split_commune_goes_where_the_list_gave_its_largest_part(app):
    hanoi = f.unit("Thành phố Hà Nội", "province")
    tay_ho = f.unit("Quận Tây Hồ", "district", hanoi)
    f.unit("Phường Thụy Khuê", "ward", tay_ho)  # to Ba Đình in part, mostly to Tây Hồ
    f.commit()
    found = official_import.preview(official_units.find_province("01"))
    (split,) = found.reform.splits
    assert [o.code for o in split.options] == ["00004", "00103"]
    assert split.proposed == split.chosen == "00103"


def test_a_choice_that_is_not_one_of_the_new_units_is_refused(app):
    t = pre_reform_tree()
    province = official_units.find_province("38")
    with pytest.raises(Exception, match="Đơn vị nhận Phường Đông Thọ không hợp lệ"):
        official_import.preview(province, choices={t.dong_tho.id: "16543"})


def test_a_scope_that_may_not_write_every_unit_is_refused_before_anything_is_written(
    runner, fast_passwords
):
    province = f.unit("Tỉnh Thanh Hóa", "province")
    f.commit()
    assert runner.invoke(args=["import-official-units", "38"]).exit_code == 0
    qx = f.unit("Huyện Quảng Xương", "district", province)  # typed after the new units
    binh = f.unit("Quảng Bình", "commune", qx)
    organiser = f.user("organiser", [qx])  # may add under the district, not change it
    f.commit()
    before, audited = count(), count(AuditEntry)
    found = official_import.preview(official_units.find_province("38"), Scope(organiser))
    assert (found.count(ChangeKind.NEW), found.count(ChangeKind.CHANGED)) == (0, 2)
    with pytest.raises(Forbidden):
        official_import.apply(found, organiser)
    assert count() == before and count(AuditEntry) == audited
    assert (binh.valid_to, binh.merged_into, qx.valid_to) == (None, None, None)


# --- plans issued before keep their tree and figures -----------------------------------


def test_a_2021_plan_reads_the_same_after_the_reform(runner):
    t = pre_reform_tree()
    province_plan = f.plan(t.province)
    plans.set_quotas(province_plan, {t.qx: 120, t.city: 80, t.company: 10})
    district_plan = f.plan(t.qx, parent=province_plan)
    plans.set_quotas(
        district_plan,
        {t.binh: 30, t.luu: 20, t.hop: 25, t.lost: 5, t.school: 10, t.agency: 15},
    )
    city_plan = f.plan(t.city, parent=province_plan)
    plans.set_quotas(city_plan, {t.dong_tho: 40, t.truong_thi: 30, t.dong_tho_school: 5})
    drive = f.drive(district_plan)
    for unit, bags in [
        (t.binh, (10, 12, 3)),
        (t.luu, (4, 9, 0)),
        (t.loc, (2, 2, 2)),
        (t.school, (1, 5, 0)),
        (t.school_union, (0, 3, 1)),
        (t.agency, (6, 6, 6)),
    ]:
        f.result(drive, unit, *bags, state="approved")
    city_drive = f.drive(city_plan)
    for unit, bags in [
        (t.dong_tho, (5, 5, 5)),
        (t.dong_tho_school, (0, 4, 0)),
        (t.company, (3, 0, 0)),
    ]:
        f.result(city_drive, unit, *bags)
    f.commit()
    every = (province_plan, district_plan, city_plan)
    before = [(read := summary.plan_summary(p), summary.figures(read)) for p in every]
    assert [len(read.lines) for read, _figures in before] == [3, 6, 3]

    assert runner.invoke(args=["import-official-units", "38"]).exit_code == 0
    db.session.rollback()
    assert t.binh.merged_into is not None  # the reform was recorded
    after = [(read := summary.plan_summary(p), summary.figures(read)) for p in every]
    assert after == before


# --- the page ---------------------------------------------------------------------------


def fingerprint(page: str) -> str:
    return page.split('name="fingerprint" type="hidden" value="')[1].split('"')[0]


def test_an_organiser_previews_changes_a_split_and_confirms(client, auth, fast_passwords):
    t = pre_reform_tree()
    t.province.official_code = "38"  # giving the province its code is an administrator's
    organiser = f.user("organiser", [t.province])
    f.commit()
    auth.sign_in(organiser)
    units_before = count()
    page = client.get("/don-vi/danh-muc-2025?tinh=38").get_data(as_text=True)
    field = f'name="tach-{t.dong_tho.id}"'
    assert field in page
    assert '<option value="14758" selected>Phường Hàm Rồng (14758) · đề xuất</option>' in page
    assert "Xã Quảng Không Tên (Huyện Quảng Xương): không khớp" in page
    assert "Sáp nhập vào Phường Hàm Rồng (14758) từ 01/07/2025" in page
    assert count() == units_before and count(UnitMove) == 0  # a preview writes nothing

    data = {"province": "38", "fingerprint": fingerprint(page)}
    refused = client.post("/don-vi/danh-muc-2025", data={**data, f"tach-{t.dong_tho.id}": "1"})
    assert refused.status_code == 302 and "tinh=38" in refused.headers["Location"]
    assert count() == units_before and count(UnitMove) == 0
    assert "Đơn vị nhận Phường Đông Thọ không hợp lệ" in client.get(
        refused.headers["Location"]
    ).get_data(as_text=True)

    done = client.post("/don-vi/danh-muc-2025", data={**data, f"tach-{t.dong_tho.id}": "14797"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/don-vi/")
    db.session.rollback()
    hac_thanh = new_unit("14797")
    assert t.dong_tho.merged_into == hac_thanh and t.dong_tho_school.parent == hac_thanh
    assert t.binh.merged_into == new_unit("16543") and t.qx.valid_to == LAST_DAY
    reform_entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "unit.reform"))
    assert reform_entry.user_id == organiser.id

    again = client.get("/don-vi/danh-muc-2025?tinh=38").get_data(as_text=True)
    assert "Cây đơn vị đã có đủ các đơn vị của Tỉnh Thanh Hóa." in again
    assert field not in again


@pytest.mark.parametrize("role", ["district organiser", "leader", "reporter"])
def test_who_may_not_record_the_reform_is_refused_and_nothing_written(
    client, auth, fast_passwords, role
):
    t = pre_reform_tree()
    if role == "district organiser":
        user = f.user("organiser", [t.qx])
    else:
        user = f.user(role, [t.province])
    f.commit()
    auth.sign_in(user)
    before = count()
    assert client.get("/don-vi/danh-muc-2025?tinh=38").status_code == 403
    data = {"province": "38", "fingerprint": "x", f"tach-{t.dong_tho.id}": "14797"}
    assert client.post("/don-vi/danh-muc-2025", data=data).status_code in (400, 403)
    assert count() == before and count(UnitMove) == 0
    assert db.session.scalar(select(OrgUnit.merged_into_id).where(OrgUnit.id == t.binh.id)) is None
