"""The first pages: sign-in, the plan list and a plan's summary table."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from campaign import formatting, labels
from campaign.extensions import db
from campaign.models import AuditEntry, Plan
from campaign.services import demo
from campaign.services.summary import plan_summary
from tests import factories as f


@pytest.fixture
def demo_data(app):
    demo.load(reform=False)
    user = f.user("leader", [db.session.scalar(select(Plan)).issuer])
    f.commit()
    return user


@pytest.mark.parametrize("path", ["/", "/ke-hoach/1"])
def test_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/dang-nhap" in response.headers["Location"]


def test_sign_in_and_out(client, auth, demo_data):
    response = auth.login(demo_data)
    assert response.status_code == 302
    assert "Kế hoạch hiến máu tình nguyện" in client.get("/").get_data(as_text=True)
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_shows_a_message_by_the_field_and_is_logged(client, auth, demo_data):
    response = auth.login(demo_data, password="not the password")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "không đúng" in page
    assert f'value="{demo_data.username}"' in page  # what was typed is shown again
    db.session.rollback()  # end this test's read snapshot to see the request's commit
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.failed"))


def test_sign_in_never_redirects_to_another_site(client, demo_data):
    response = client.post(
        "/dang-nhap?next=//evil.example/",
        data={"username": demo_data.username, "password": f.PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_plan_list_shows_the_demo_plans_and_their_sample_note(client, auth, demo_data):
    auth.login(demo_data)
    page = client.get("/").get_data(as_text=True)
    assert "276/KH-BCĐTH" in page
    assert "28/12/2020" in page
    assert "Số liệu mẫu" in page


def cells(page: str) -> list[list[str]]:
    body = page.split('id="units-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    # As a wide screen shows them: without the status repeated under each name for a phone.
    body = re.sub(r'<div class="narrow-only">.*?</div>', "", body, flags=re.S)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]


def test_plan_page_shows_the_figures_of_rates(client, auth, demo_data):
    auth.login(demo_data)
    plan = db.session.scalar(select(Plan).where(Plan.number == "15/KH-BCĐ"))
    summary = plan_summary(plan)
    page = client.get(f"/ke-hoach/{plan.id}").get_data(as_text=True)
    rows = cells(page)
    assert len(rows) == len(summary.lines) == 34
    for row, line in zip(rows, summary.lines, strict=True):
        assert row[1] == line.unit.name
        assert row[3] == formatting.number(line.quota)
        assert row[7] == formatting.units(line.collected)
        assert row[8] == formatting.percent(line.rate)
        assert row[10] == labels.STATUS[line.status.value]
    t = summary.totals
    assert f"{t.completed}/{t.holders} ({formatting.percent(t.completed_share)})" in page
    assert "24/LĐLĐ" in page
    assert "Số liệu mẫu" in page


def test_missing_plan_is_404(client, auth, demo_data):
    auth.login(demo_data)
    response = client.get("/ke-hoach/999999")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.get_data(as_text=True)


def test_security_headers(client):
    headers = client.get("/dang-nhap").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_strict_transport_security_in_production_only(client, migrated, monkeypatch):
    from tests.conftest import make_app

    assert "Strict-Transport-Security" not in client.get("/dang-nhap").headers
    monkeypatch.setenv("CAMPAIGN_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a production secret")
    production = make_app(migrated)
    with production.app_context():
        headers = production.test_client().get("/dang-nhap").headers
        db.session.remove()
        db.engine.dispose()
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_signed_in_pages_and_api_answers_are_never_stored(app, client, auth, fast_passwords):
    def cache_control(path: str) -> str:
        with client.get(path) as response:  # a static file's answer holds the file open
            return response.headers.get("Cache-Control", "")

    assert cache_control("/api/v1/plans") == "no-store"  # even a refusal
    assert "no-store" not in cache_control("/static/app.css")
    assert "no-store" not in cache_control("/dang-nhap")
    auth.sign_in(f.user("admin"))
    f.commit()
    for path in ("/", "/ke-hoach/999999", "/quan-tri/tai-khoan", "/tai-khoan/ma-truy-cap/"):
        assert cache_control(path) == "no-store", path
    assert "no-store" not in cache_control("/static/app.css")


def test_logout_needs_post_and_csrf(migrated):
    from tests.conftest import make_app

    app = make_app(migrated, WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        assert client.get("/dang-xuat").status_code == 405
        assert client.post("/dang-nhap", data={"username": "a", "password": "b"}).status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/dang-nhap", {"username": "leader\x00", "password": "x"}),
        ("get", "/don-vi/?q=Qu%00ang", None),
        ("post", "/don-vi/moi", {"code": "X1", "name": "Xã\x00 Mới", "kind": "commune"}),
        ("get", "/api/v1/units?q=%00", None),
    ],
)
def test_a_nul_character_is_refused_before_any_work(client, auth, demo_data, method, path, data):
    """PostgreSQL cannot store a NUL: the sign-in's query failed with a DataError (500)."""
    issuer = db.session.scalar(select(Plan)).issuer
    if path != "/dang-nhap":
        auth.sign_in(f.user("organiser", [issuer]))
    if data and "kind" in data:
        data["parent_id"] = issuer.id
    f.commit()
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    response = getattr(client, method)(path, data=data)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json["error"]["code"] == "bad_request"
    else:
        assert "Yêu cầu không hợp lệ." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
