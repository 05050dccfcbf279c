"""The reporter's flow and the organiser's review, through the routes."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from campaign.extensions import db
from campaign.models import AuditEntry, OrgUnit, Result, ResultState
from campaign.services import plans, results
from tests import factories as f
from tests.conftest import empty_tables, make_app


@pytest.fixture(autouse=True)
def fast_hash(monkeypatch):
    monkeypatch.setattr(
        "campaign.models.users.generate_password_hash",
        lambda p: generate_password_hash(p, method="pbkdf2:sha256:1"),
    )


@pytest.fixture
def district(app):
    district, (a, b, c) = f.district_with_communes(["Quảng Bình", "Quảng Hải", "Quảng Lộc"])
    b.contact_name, b.contact_phone = "Lê Văn Hải", "0912 345 678"
    plan = f.plan(district)
    plans.set_quotas(plan, {a: 40, b: 30, c: 20})
    drive = f.drive(plan)
    reporter = f.user("reporter", [a])
    organiser = f.user("organiser", [district])
    f.commit()
    return {
        "a": a,
        "b": b,
        "c": c,
        "plan": plan,
        "drive": drive,
        "reporter": reporter,
        "organiser": organiser,
    }


def form_url(d) -> str:
    return f"/bao-cao/don-vi/{d['a'].id}/dot/{d['drive'].id}"


COUNTS = {"registered": "50", "deferred": "5", "bags_250": "10", "bags_350": "30", "bags_450": "5"}


def stored(d) -> Result | None:
    db.session.rollback()  # see what the requests committed
    return db.session.scalar(select(Result).where(Result.unit_id == d["a"].id))


def test_reporter_lands_on_their_units_and_sees_open_drives(client, auth, district):
    response = auth.login(district["reporter"])
    assert response.headers["Location"] == "/bao-cao/"
    page = client.get("/bao-cao/").get_data(as_text=True)
    assert "Quảng Bình" in page and "Đợt 1" in page and form_url(district) in page


def test_save_draft_then_submit(client, auth, district):
    auth.login(district["reporter"])
    response = client.post(form_url(district), data=COUNTS | {"save": "1"})
    assert response.status_code == 302
    result = stored(district)
    assert (result.state, result.bags_350, result.version) == ("draft", 30, 1)
    client.post(form_url(district), data=COUNTS | {"version": "1", "send": "1"})
    assert stored(district).state == ResultState.SUBMITTED


def test_bad_input_is_shown_again_and_nothing_saved(client, auth, district):
    auth.login(district["reporter"])
    response = client.post(form_url(district), data=COUNTS | {"bags_350": "-3", "save": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="-3"' in page and "từ 0 trở lên" in page
    assert stored(district) is None


def test_stale_save_is_refused_showing_the_current_values(client, auth, district):
    f.result(district["drive"], district["a"], 1, state="draft")
    f.commit()
    auth.login(district["reporter"])
    client.post(form_url(district), data=COUNTS | {"version": "1", "save": "1"})  # now v2
    response = client.post(
        form_url(district), data=COUNTS | {"bags_350": "29", "version": "1", "save": "1"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "vừa được người khác thay đổi" in page
    assert 'value="29"' in page  # what was typed is kept
    assert "<dd>30</dd>" in page  # beside what is stored
    assert 'name="version" type="hidden" value="2"' in page
    assert stored(district).bags_350 == 30


def test_withdraw_until_reviewed(client, auth, district):
    result = f.result(district["drive"], district["a"], 5)
    f.commit()
    auth.login(district["reporter"])
    page = client.get(form_url(district)).get_data(as_text=True)
    assert "Rút lại để sửa" in page
    response = client.post(
        form_url(district) + "/rut-lai",
        data={"version": str(result.version)},
        follow_redirects=True,
    )
    assert stored(district).state == ResultState.DRAFT
    page = response.get_data(as_text=True)
    assert "Đã rút lại báo cáo về bản nháp" in page and "Đã lưu." not in page


def test_approved_cannot_be_withdrawn(client, auth, district):
    result = f.result(district["drive"], district["a"], 5, state="approved")
    f.commit()
    auth.login(district["reporter"])
    client.post(form_url(district) + "/rut-lai", data={"version": str(result.version)})
    assert stored(district).state == ResultState.APPROVED


def test_returned_report_shows_the_reason(client, auth, district):
    f.result(district["drive"], district["a"], 5, state="returned")
    f.commit()
    auth.login(district["reporter"])
    assert "Sai số liệu" in client.get("/bao-cao/").get_data(as_text=True)
    assert "Sai số liệu" in client.get(form_url(district)).get_data(as_text=True)


def test_queue_approve_return_and_reopen(client, auth, district):
    result = f.result(district["drive"], district["a"], 5)
    f.commit()
    auth.login(district["organiser"])
    assert "Quảng Bình" in client.get("/bao-cao/duyet").get_data(as_text=True)
    url = f"/bao-cao/ket-qua/{result.id}"
    client.post(url + "/tra-lai", data={"reason": "", "version": "1"})
    assert stored(district).state == ResultState.SUBMITTED  # a reason is required
    client.post(url + "/duyet", data={"version": "1"})
    assert stored(district).state == ResultState.APPROVED
    client.post(url + "/mo-lai", data={"reason": "Nhầm số túi 450 ml", "version": "2"})
    result = stored(district)
    assert (result.state, result.return_reason) == ("returned", "Nhầm số túi 450 ml")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "result.reopen"))
    assert entry.note == "Nhầm số túi 450 ml"
    assert entry.before["state"] == "approved" and entry.after["state"] == "returned"


def test_the_queue_shows_when_a_report_was_sent_in_vietnam_time(client, auth, district):
    result = f.result(district["drive"], district["a"], 5)
    # Sent at 18:30 UTC on 11 June: already 01:30 on 12 June in Vietnam.
    result.submitted_at = datetime(2021, 6, 11, 18, 30)
    f.commit()
    auth.sign_in(district["organiser"])
    page = client.get("/bao-cao/duyet").get_data(as_text=True)
    assert "<td>12/06/2021 01:30</td>" in page
    assert "UTC" not in page


def test_review_of_a_changed_report_is_refused(client, auth, district):
    result = f.result(district["drive"], district["a"], 5)
    f.commit()
    auth.login(district["organiser"])
    response = client.post(f"/bao-cao/ket-qua/{result.id}/duyet", data={"version": "0"})
    assert response.status_code == 302
    assert stored(district).state == ResultState.SUBMITTED


def test_approve_several_at_once(client, auth, district):
    d = district
    ra = f.result(d["drive"], d["a"], 5)
    rb = f.result(d["drive"], d["b"], 6)
    rc = f.result(d["drive"], d["c"], 7)
    f.commit()
    auth.login(d["organiser"])
    response = client.post(
        "/bao-cao/duyet/nhieu",
        data={"result": [f"{ra.id}:{ra.version}", f"{rb.id}:{rb.version}", f"{rc.id}:99"]},
    )
    assert response.status_code == 302
    db.session.rollback()
    states = {r.unit_id: r.state for r in db.session.scalars(select(Result))}
    assert states == {d["a"].id: "approved", d["b"].id: "approved", d["c"].id: "submitted"}


def test_drive_page_lists_units_not_reported_with_contact(client, auth, district):
    d = district
    f.result(d["drive"], d["a"], 5)
    f.result(d["drive"], d["c"], 5, state="draft")
    f.commit()
    auth.login(d["organiser"])
    page = client.get(f"/bao-cao/dot/{d['drive'].id}").get_data(as_text=True)
    missing = page.split("Báo cáo đã nhận")[0]
    assert "Quảng Hải" in missing and "Lê Văn Hải" in missing and "0912 345 678" in missing
    assert "Quảng Lộc" in missing  # a draft counts nowhere
    assert "Quảng Bình" not in missing


def test_not_reported_falls_back_to_the_units_below_the_issuer(app):
    district, (a, b) = f.district_with_communes(["A", "B"])
    drive = f.drive(f.plan(district))
    f.result(drive, a, 1)
    missing = results.not_reported(drive, select(OrgUnit.id))
    assert [unit.name for unit, _ in missing] == ["B"]


def test_a_form_post_without_the_csrf_token_is_refused(migrated):
    app = make_app(migrated, WTF_CSRF_ENABLED=True)
    with app.app_context():
        try:
            district, (a,) = f.district_with_communes(["A"])
            drive = f.drive(f.plan(district))
            reporter = f.user("reporter", [a])
            f.commit()
            client = app.test_client()
            login_page = client.get("/dang-nhap").get_data(as_text=True)
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)[1]
            signed_in = client.post(
                "/dang-nhap",
                data={"username": reporter.username, "password": f.PASSWORD, "csrf_token": token},
            )
            assert signed_in.status_code == 302
            url = f"/bao-cao/don-vi/{a.id}/dot/{drive.id}"
            refused = client.post(url, data=COUNTS | {"save": "1"})
            assert refused.status_code == 400
            db.session.rollback()
            assert db.session.scalar(select(Result)) is None
            form = client.get(url).get_data(as_text=True)
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
            accepted = client.post(url, data=COUNTS | {"save": "1", "csrf_token": token})
            assert accepted.status_code == 302
        finally:
            db.session.rollback()
            empty_tables()
            db.session.remove()
            db.engine.dispose()


def test_the_form_refuses_more_donors_and_deferred_than_registered(client, auth, district):
    auth.login(district["reporter"])
    typed = {"registered": "10", "deferred": "8", "bags_250": "20", "bags_350": "0"}
    response = client.post(form_url(district), data={**typed, "bags_450": "0", "save": "1"})
    page = response.get_data(as_text=True)
    assert "Số đăng ký (10) nhỏ hơn số hiến thành công và không đủ điều kiện (28)." in page
    assert 'value="20"' in page  # what was typed is kept
    assert stored(district) is None
