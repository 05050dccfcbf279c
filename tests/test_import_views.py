"""Upload, preview and confirm an import through the web pages."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import AuditEntry, ImportKind, OrgUnit, PendingImport, Result
from campaign.models.base import utcnow
from campaign.services import pending_imports, plans
from tests import factories as f
from tests.conftest import make_app
from tests.test_imports import NAMES, quotas_of, xlsx


@pytest.fixture
def setup(app):
    district, communes = f.district_with_communes(NAMES)
    plan = f.plan(district)
    drive = f.drive(plan)
    organiser = f.user("organiser", [district])
    f.commit()
    return district, communes, plan, drive, organiser


def upload(client, url: str, data: bytes, name: str = "chi-tieu.xlsx"):
    return client.post(
        url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def fingerprint(page: str) -> str:
    return re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', page).group(1)


def pending_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(PendingImport))


CLEAN = xlsx(
    ["BẢNG GIAO CHỈ TIÊU NĂM 2021"],
    ["STT", "Mã đơn vị", "Tên đơn vị", "Chỉ tiêu (đv máu)"],
    [1, None, "quang binh", "40"],
    [2, None, "Quảng Chính", 25],
    [None, "Tổng cộng", None, 65],
)


def test_preview_shows_every_problem_with_its_row_and_changes_nothing(setup, client, auth):
    _district, _communes, plan, _drive, organiser = setup
    auth.login(organiser)
    data = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Chỉ tiêu"],
        [None, "Quảng Bìnhh", 40],
        [None, "Quảng Chính", "hai mươi"],
        [None, "Quảng Định", 15],
    )
    response = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", data)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Có phải: Quảng Bình" in page
    assert re.search(r'<td class="num">2</td><td>Không tìm thấy đơn vị Quảng Bìnhh', page)
    assert re.search(r'<td class="num">3</td><td>Cột amount: hai mươi', page)
    assert "Quảng Định" in page  # the clean row is still previewed
    assert 'name="fingerprint"' not in page  # no confirm button
    confirmed = client.post(response.location, data={"fingerprint": "x"})
    assert confirmed.status_code == 302
    assert "Tệp còn lỗi" in client.get(confirmed.location).get_data(as_text=True)
    db.session.rollback()
    assert quotas_of(plan) == {}


def test_a_clean_file_is_previewed_then_applied_on_confirm(setup, client, auth):
    _district, _communes, plan, _drive, organiser = setup
    auth.login(organiser)
    preview_url = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", CLEAN).location
    page = client.get(preview_url).get_data(as_text=True)
    assert "Xác nhận nhập 2 dòng" in page
    db.session.rollback()
    assert quotas_of(plan) == {}  # previewing saved nothing
    response = client.post(preview_url, data={"fingerprint": fingerprint(page)})
    assert response.status_code == 302
    assert response.location == f"/ke-hoach/{plan.id}"
    assert "Đã nhập 2 dòng từ tệp chi-tieu.xlsx" in client.get(response.location).get_data(
        as_text=True
    )
    db.session.rollback()
    assert quotas_of(plan) == {"Quảng Bình": 40, "Quảng Chính": 25}
    # One entry for the file, on the plan, by whoever confirmed it.
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "quota.import")).all()
    assert [(a.user_id, a.entity_id, a.after["new"]) for a in audit] == [(organiser.id, plan.id, 2)]
    assert pending_count() == 0
    assert client.get(preview_url).status_code == 404  # used up


def test_a_stale_preview_is_not_applied_blindly(setup, client, auth):
    _district, communes, plan, _drive, organiser = setup
    auth.login(organiser)
    preview_url = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", CLEAN).location
    seen = fingerprint(client.get(preview_url).get_data(as_text=True))
    db.session.rollback()
    plans.set_quotas(plan, {communes[1]: 30})  # someone else sets a quota meanwhile
    f.commit()
    response = client.post(preview_url, data={"fingerprint": seen})
    page = client.get(response.location).get_data(as_text=True)
    assert "Dữ liệu đã thay đổi" in page
    db.session.rollback()
    assert quotas_of(plan) == {"Quảng Chính": 30}
    response = client.post(preview_url, data={"fingerprint": fingerprint(page)})
    db.session.rollback()
    assert quotas_of(plan) == {"Quảng Bình": 40, "Quảng Chính": 25}


def test_only_the_owner_may_see_or_confirm_an_upload(setup, client, auth):
    district, _communes, plan, _drive, organiser = setup
    colleague = f.user("organiser", [district])
    f.commit()
    auth.login(organiser)
    preview_url = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", CLEAN).location
    seen = fingerprint(client.get(preview_url).get_data(as_text=True))
    auth.logout()
    auth.login(colleague)
    assert client.get(preview_url).status_code == 403
    assert client.post(preview_url, data={"fingerprint": seen}).status_code == 403
    assert client.post(preview_url + "/huy").status_code == 403
    assert client.get("/nhap-excel/not-a-token").status_code == 404
    db.session.rollback()
    assert quotas_of(plan) == {}
    assert pending_count() == 1


def test_the_upload_survives_into_another_app_process(setup, client, auth, migrated):
    _district, _communes, plan, _drive, organiser = setup
    auth.login(organiser)
    preview_url = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", CLEAN).location
    other_app = make_app(migrated)
    other = other_app.test_client()
    other.post("/dang-nhap", data={"username": organiser.username, "password": f.PASSWORD})
    seen = fingerprint(other.get(preview_url).get_data(as_text=True))
    assert other.post(preview_url, data={"fingerprint": seen}).status_code == 302
    with other_app.app_context():
        db.engine.dispose()
    db.session.rollback()
    assert quotas_of(plan) == {"Quảng Bình": 40, "Quảng Chính": 25}


@pytest.mark.parametrize("role", ["leader", "reporter", "outsider"])
def test_import_pages_refuse_who_may_not_import(setup, client, auth, role):
    district, communes, plan, drive, _organiser = setup
    if role == "outsider":
        user = f.user("organiser", [f.unit("Huyện Tĩnh Gia", "district")])
    else:
        user = f.user(role, [district if role == "leader" else communes[0]])
    f.commit()
    auth.login(user)
    for url in (
        f"/ke-hoach/{plan.id}/nhap-chi-tieu",
        f"/dot/{drive.id}/nhap-ket-qua",
        f"/don-vi/{district.id}/nhap-excel",
    ):
        assert client.get(url).status_code == 403
        assert upload(client, url, CLEAN).status_code == 403
    assert "nhap-chi-tieu" not in client.get(f"/ke-hoach/{plan.id}").get_data(as_text=True)
    assert pending_count() == 0


def test_missing_targets_are_404(setup, client, auth):
    auth.login(setup[-1])
    for url in (
        "/ke-hoach/9999/nhap-chi-tieu",
        "/dot/9999/nhap-ket-qua",
        "/don-vi/9999/nhap-excel",
    ):
        assert client.get(url).status_code == 404


NOT_WORKBOOKS = [
    (b"", "Tệp rỗng"),
    (b"STT;Don vi;Chi tieu\n1;Quang Binh;40\n", "không phải bảng tính Excel .xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "đặt mật khẩu"),
    (b"PK\x03\x04" + b"\0" * 100, "bị hỏng"),
]


def test_a_file_that_is_not_a_workbook_gets_a_message_by_the_field(setup, client, auth):
    _district, _communes, plan, _drive, organiser = setup
    auth.login(organiser)
    for data, message in NOT_WORKBOOKS:
        response = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", data, "chi-tieu.xlsx")
        assert response.status_code == 200
        assert message in response.get_data(as_text=True)
    assert pending_count() == 0


def test_a_workbook_without_the_columns_previews_a_file_problem(setup, client, auth):
    _district, _communes, plan, _drive, organiser = setup
    auth.login(organiser)
    url = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", xlsx(["Họ tên", "Tuổi"])).location
    page = client.get(url).get_data(as_text=True)
    assert "Cả tệp" in page and "Không tìm thấy dòng tiêu đề" in page


def test_a_file_over_the_size_limit_is_413_with_the_limit_and_a_way_back(
    setup, client, auth, app, migrated
):
    _district, _communes, plan, _drive, organiser = setup
    auth.login(organiser)
    app.config["MAX_CONTENT_LENGTH"] = 2048
    url = f"/ke-hoach/{plan.id}/nhap-chi-tieu"
    response = upload(client, url, b"PK\x03\x04" + b"x" * 4096)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "giới hạn 2 KB" in page and f'href="{url}"' in page
    # With CSRF on, as in production, the body is refused before the token is even read.
    guarded = make_app(migrated, WTF_CSRF_ENABLED=True, MAX_CONTENT_LENGTH=2048)
    response = upload(guarded.test_client(), url, b"PK\x03\x04" + b"x" * 4096)
    assert response.status_code == 413 and "giới hạn 2 KB" in response.get_data(as_text=True)
    with guarded.app_context():
        db.engine.dispose()
    assert pending_count() == 0


def test_results_and_units_through_the_pages(setup, client, auth):
    district, communes, plan, drive, organiser = setup
    auth.login(organiser)
    results = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Đăng ký", "Hoãn", "250 ml", "350 ml", "450 ml"],
        [communes[0].code, None, 50, 5, 10, 30, 5],
    )
    url = upload(client, f"/dot/{drive.id}/nhap-ket-qua", results).location
    page = client.get(url).get_data(as_text=True)
    client.post(url, data={"fingerprint": fingerprint(page)})
    units = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị"],
        ["QX-THPT1", "Trường THPT Quảng Xương 1", "Trường học"],
    )
    url = upload(client, f"/don-vi/{district.id}/nhap-excel", units).location
    page = client.get(url).get_data(as_text=True)
    client.post(url, data={"fingerprint": fingerprint(page)})
    db.session.rollback()
    result = db.session.scalar(select(Result).where(Result.drive_id == drive.id))
    assert (result.registered, result.bags_350, result.state) == (50, 30, "submitted")
    school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "QX-THPT1"))
    assert school.parent_id == district.id


def test_plan_page_links_to_the_imports_for_its_organiser(setup, client, auth):
    _district, _communes, plan, drive, organiser = setup
    auth.login(organiser)
    page = client.get(f"/ke-hoach/{plan.id}").get_data(as_text=True)
    assert f"/ke-hoach/{plan.id}/nhap-chi-tieu" in page
    assert f"/dot/{drive.id}/nhap-ket-qua" in page


def test_discarding_and_purging_uploads(setup, client, auth):
    _district, _communes, plan, _drive, organiser = setup
    auth.login(organiser)
    url = upload(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", CLEAN).location
    assert client.post(url + "/huy").status_code == 302
    assert pending_count() == 0
    db.session.rollback()
    old = pending_imports.store(organiser, ImportKind.QUOTAS, plan.id, "cu.xlsx", CLEAN)
    old.created_at = utcnow() - timedelta(days=2)
    f.commit()
    with pytest.raises(pending_imports.NotFound):
        pending_imports.find(old.token)
    pending_imports.store(organiser, ImportKind.QUOTAS, plan.id, "moi.xlsx", CLEAN)
    f.commit()
    assert [p.filename for p in db.session.scalars(select(PendingImport))] == ["moi.xlsx"]


@pytest.fixture
def elsewhere(setup):
    """A unit of another district, outside the organiser's scope."""
    district = setup[0]
    other = f.unit("Huyện Khác", "district", district.parent)
    unit = f.unit("Xã Bí Mật", "commune", other, code="KH-BIMAT")
    f.commit()
    return unit


def preview_page(client, url: str, data: bytes) -> str:
    return client.get(upload(client, url, data).location).get_data(as_text=True)


@pytest.mark.parametrize("code", ["KH-BIMAT", "kh-bimat"])
def test_a_units_import_never_names_a_unit_outside_the_scope(setup, elsewhere, client, auth, code):
    district, _communes, _plan, _drive, organiser = setup
    auth.sign_in(organiser)
    data = xlsx(["Mã đơn vị", "Tên đơn vị", "Loại đơn vị"], [code, "Trường Mới", "Trường học"])
    page = preview_page(client, f"/don-vi/{district.id}/nhap-excel", data)
    assert (
        f"Mã đơn vị {code} đã được dùng cho một đơn vị không thuộc phạm vi của bạn; "
        "hãy dùng mã khác."
    ) in page
    assert elsewhere.name not in page
    assert 'name="fingerprint"' not in page  # nothing to confirm
    db.session.rollback()
    assert db.session.get(OrgUnit, elsewhere.id).name == "Xã Bí Mật"


def test_a_units_import_matches_a_code_whatever_its_case(setup, client, auth):
    district, communes, _plan, _drive, organiser = setup
    auth.sign_in(organiser)
    before = db.session.scalar(select(func.count()).select_from(OrgUnit))
    data = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Loại đơn vị"],
        [communes[0].code.lower(), "Quảng Bình Mới", "Xã"],
    )
    url = upload(client, f"/don-vi/{district.id}/nhap-excel", data).location
    page = client.get(url).get_data(as_text=True)
    client.post(url, data={"fingerprint": fingerprint(page)})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == before
    renamed = db.session.get(OrgUnit, communes[0].id)
    assert (renamed.name, renamed.code) == ("Quảng Bình Mới", communes[0].code)


def test_a_quota_row_naming_a_unit_outside_the_scope_reads_as_unknown(
    setup, elsewhere, client, auth
):
    """No code, name or close name finds (or suggests) a unit outside one's scope."""
    district, communes, plan, _drive, organiser = setup
    auth.sign_in(organiser)
    data = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Chỉ tiêu"],
        [elsewhere.code.lower(), None, 10],
        ["NO-SUCH", None, 10],
        [None, "Xã Bí Mật", 10],
        [None, "Xã Bí Mậtt", 10],
    )
    page = preview_page(client, f"/ke-hoach/{plan.id}/nhap-chi-tieu", data)
    assert re.findall("Không tìm thấy[^<]*", page) == [
        "Không tìm thấy đơn vị kh-bimat.",
        "Không tìm thấy đơn vị NO-SUCH.",
        "Không tìm thấy đơn vị Xã Bí Mật.",
        "Không tìm thấy đơn vị Xã Bí Mậtt.",
    ]
