"""The JSON API: each endpoint's success and its refusals, and one error shape everywhere."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from campaign.api import schemas
from campaign.extensions import db
from campaign.formatting import vietnam_time, vietnam_today
from campaign.models import ApiToken, AuditEntry, Drive, OrgUnit, Plan, Quota, Result
from campaign.rates import display_units
from campaign.services import plans, results, tokens
from campaign.services.summary import plan_summary
from tests import factories as f
from tests.conftest import make_app


class World:
    """A district with three communes, a plan with quotas and a drive, and one account of
    each role that acts through a token."""

    def __init__(self) -> None:
        self.district, self.communes = f.district_with_communes(
            ["Quảng Bình", "Quảng Chính", "Quảng Định"]
        )
        self.other_district = f.unit("Huyện Khác", "district", self.district.parent)
        self.plan = f.plan(self.district, number="15/KH-BCĐ")
        plans.set_quotas(self.plan, {self.communes[0]: 40, self.communes[1]: 2000})
        self.drive = f.drive(self.plan)
        self.organiser = f.user("organiser", [self.district])
        self.reporter = f.user("reporter", [self.communes[0]])
        self.leader = f.user("leader", [self.district])
        self.stranger = f.user("organiser", [self.other_district])
        self.tokens = {
            name: tokens.create_token(getattr(self, name), name)[1]
            for name in ("organiser", "reporter", "leader", "stranger")
        }
        f.commit()

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def world(app, monkeypatch) -> World:
    # Four accounts per test: a cheap hash keeps the suite fast (scrypt costs ~50 ms each).
    monkeypatch.setattr(
        "campaign.models.users.generate_password_hash",
        lambda password: generate_password_hash(password, "pbkdf2:sha256:1000"),
    )
    return World()


def error_of(response) -> dict:
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


# --- authentication --------------------------------------------------------------


ENDPOINTS = [
    ("GET", "/api/v1/units"),
    ("POST", "/api/v1/units"),
    ("GET", "/api/v1/plans"),
    ("POST", "/api/v1/plans"),
    ("GET", "/api/v1/plans/1"),
    ("GET", "/api/v1/plans/1/quotas"),
    ("PUT", "/api/v1/plans/1/quotas"),
    ("GET", "/api/v1/plans/1/drives"),
    ("POST", "/api/v1/plans/1/drives"),
    ("GET", "/api/v1/drives/1/results"),
    ("GET", "/api/v1/drives/1/reporting"),
    ("PUT", "/api/v1/drives/1/results/X"),
    ("POST", "/api/v1/drives/1/results/X/approve"),
    ("POST", "/api/v1/drives/1/results/X/return"),
    ("GET", "/api/v1/plans/1/summary"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_a_token(client, method, path):
    response = client.open(path, method=method, json={})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_revoked_token_is_refused_everywhere(client, world, method, path):
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "organiser"))
    tokens.revoke(token)
    f.commit()
    response = client.open(path, method=method, json={}, headers=world.headers("organiser"))
    assert response.status_code == 401


def test_api_answers_are_never_stored(client, world):
    response = client.get("/api/v1/units", headers=world.headers("organiser"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_token_and_other_schemes_are_refused(client, world):
    for header in ("Bearer hmtn_not-a-token", "Basic dXNlcjpwYXNz", "Bearer "):
        response = client.get("/api/v1/units", headers={"Authorization": header})
        assert response.status_code == 401


def test_a_disabled_account_token_is_refused(client, world):
    world.organiser.enabled = False
    f.commit()
    assert client.get("/api/v1/units", headers=world.headers("organiser")).status_code == 401


def test_tokens_are_stored_hashed_and_record_their_use(client, world):
    plain = world.tokens["organiser"]
    stored = db.session.scalar(select(ApiToken).where(ApiToken.name == "organiser"))
    assert stored.token_hash == tokens.digest(plain) and plain not in stored.token_hash
    assert stored.last_used_at is None
    client.get("/api/v1/units", headers=world.headers("organiser"))
    db.session.rollback()
    assert db.session.get(ApiToken, stored.id).last_used_at is not None


def test_cookie_requests_work_and_need_csrf_to_write(migrated):
    app = make_app(migrated, WTF_CSRF_ENABLED=True)
    with app.app_context():
        try:
            district, _ = f.district_with_communes(["Quảng Bình"])
            user = f.user("organiser", [district])
            f.commit()
            client = app.test_client()
            page = client.get("/dang-nhap").get_data(as_text=True)
            csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
            client.post(
                "/dang-nhap",
                data={"username": user.username, "password": f.PASSWORD, "csrf_token": csrf},
            )
            assert client.get("/api/v1/units").status_code == 200
            body = {"code": "QX-NEW", "name": "Trường THPT", "kind": "school"}
            body["parent_code"] = district.code
            refused = client.post("/api/v1/units", json=body)
            assert refused.status_code == 400
            assert error_of(refused)["code"] == "bad_request"
            done = client.post("/api/v1/units", json=body, headers={"X-CSRFToken": csrf})
            assert done.status_code == 201
            # A token needs no CSRF token, even with CSRF protection on.
            _, plain = tokens.create_token(user)
            f.commit()
            body["code"] = "QX-NEW2"
            fresh = app.test_client()
            headers = {"Authorization": f"Bearer {plain}"}
            assert fresh.post("/api/v1/units", json=body, headers=headers).status_code == 201
        finally:
            db.session.rollback()
            from tests.conftest import empty_tables

            empty_tables()
            db.session.remove()
            db.engine.dispose()


# --- errors ----------------------------------------------------------------------


def test_errors_under_api_are_json_never_html(client, world):
    headers = world.headers("organiser")
    assert error_of(client.get("/api/v1/nothing-here"))["code"] == "not_found"
    assert client.get("/api/v1/nothing-here").status_code == 404
    response = client.delete("/api/v1/units", headers=headers)
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"
    response = client.get("/api/v1/plans/99999999999", headers=headers)
    assert response.status_code == 404 and error_of(response)
    response = client.post(
        "/api/v1/units", data="{not json", headers=headers, content_type="application/json"
    )
    assert response.status_code in (400, 422) and error_of(response)
    # Outside /api/ the pages stay HTML.
    assert "text/html" in client.get("/nothing-here").content_type


def test_a_body_too_large_is_413_json(migrated, world):
    app = make_app(migrated, MAX_CONTENT_LENGTH=100)
    response = app.test_client().post(
        "/api/v1/units", json={"name": "x" * 500}, headers=world.headers("organiser")
    )
    with app.app_context():
        db.engine.dispose()  # this second app's pooled connection, closed before GC
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_openapi_document_describes_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    for method, path in [
        ("GET", "/api/v1/units"),
        ("PUT", "/api/v1/drives/{drive_id}/results/{unit_code}"),
        ("GET", "/api/v1/plans/{plan_id}/summary"),
    ]:
        assert (method, path) in documented


# --- units -----------------------------------------------------------------------


def test_units_are_listed_within_scope_and_paginated(client, world):
    response = client.get("/api/v1/units?per_page=2", headers=world.headers("organiser"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 4 and body["page"] == 1 and body["per_page"] == 2
    assert len(body["items"]) == 2
    page2 = client.get("/api/v1/units?per_page=2&page=2", headers=world.headers("organiser"))
    codes = [u["code"] for u in body["items"] + page2.get_json()["items"]]
    assert set(codes) == {world.district.code, *(c.code for c in world.communes)}
    reporter = client.get("/api/v1/units", headers=world.headers("reporter")).get_json()
    assert [u["code"] for u in reporter["items"]] == [world.communes[0].code]


def test_units_of_one_parent(client, world):
    response = client.get(
        f"/api/v1/units?parent={world.district.code}", headers=world.headers("organiser")
    )
    items = response.get_json()["items"]
    assert {u["code"] for u in items} == {c.code for c in world.communes}
    assert items[0]["parent_code"] == world.district.code
    missing = client.get("/api/v1/units?parent=NOPE", headers=world.headers("organiser"))
    assert missing.status_code == 404


def test_units_are_found_by_their_code_whatever_its_case(client, world):
    organiser = world.headers("organiser")
    lower = world.district.code.lower()
    assert lower != world.district.code
    response = client.get(f"/api/v1/units?parent={lower}", headers=organiser)
    assert {u["code"] for u in response.get_json()["items"]} == {c.code for c in world.communes}
    commune = type("U", (), {"code": world.communes[0].code.lower()})
    pushed = client.put(result_url(world, commune), json=COUNTS, headers=organiser)
    assert pushed.status_code == 201, pushed.get_json()
    assert pushed.get_json()["unit_code"] == world.communes[0].code  # stored as typed


def test_a_code_differing_only_in_case_is_taken(client, world):
    body = {"code": world.communes[0].code.lower(), "name": "Xã Mới", "kind": "commune"}
    response = client.post(
        "/api/v1/units",
        json={**body, "parent_code": world.district.code},
        headers=world.headers("organiser"),
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "không phân biệt chữ hoa, chữ thường" in error["details"]["code"][0]
    db.session.rollback()
    assert db.session.scalar(select(OrgUnit).where(OrgUnit.name == "Xã Mới")) is None


def _masked(response, code: str) -> tuple[int, str]:
    return response.status_code, response.get_data(as_text=True).replace(code, "<code>")


def test_a_code_outside_the_scope_answers_as_an_unknown_code(client, world):
    """The answer never tells whether a code exists outside one's scope."""
    theirs, unknown = world.district.code, "NO-SUCH"
    stranger, reporter = world.headers("stranger"), world.headers("reporter")

    def listed(code):
        return _masked(client.get(f"/api/v1/units?parent={code}", headers=stranger), code)

    def created(code):
        body = {"code": "X-NEW", "name": "X", "kind": "school", "parent_code": code}
        return _masked(client.post("/api/v1/units", json=body, headers=stranger), code)

    def pushed(code):
        target = type("U", (), {"code": code})
        return _masked(client.put(result_url(world, target), json=COUNTS, headers=reporter), code)

    assert listed(theirs) == listed(unknown) and listed(theirs)[0] == 404
    assert created(theirs) == created(unknown) and created(theirs)[0] == 422
    other_commune = world.communes[1].code
    assert pushed(other_commune) == pushed(unknown) and pushed(unknown)[0] == 404


@pytest.mark.parametrize("query", ["per_page=1001", "per_page=0", "page=0", "page=x"])
def test_bad_pagination_is_422(client, world, query):
    response = client.get(f"/api/v1/units?{query}", headers=world.headers("organiser"))
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


def test_field_problems_are_said_in_vietnamese_and_in_english_on_request(client, world, auth):
    """marshmallow's messages come in the language of the answer, with their numbers."""
    organiser = world.headers("organiser")
    paged = client.get("/api/v1/units?per_page=0", headers=organiser)
    assert error_of(paged)["details"] == {"query": {"per_page": ["Phải từ 1 đến 1000."]}}
    body = {"name": "Xã Mới", "kind": "commune", "extra": 1, "parent_code": 7}
    created = client.post("/api/v1/units", json=body, headers=organiser)
    assert error_of(created)["details"] == {
        "json": {
            "code": ["Thiếu trường bắt buộc."],
            "extra": ["Trường này không được nhận."],
            "parent_code": ["Phải là một chuỗi ký tự."],
        }
    }
    long = client.post("/api/v1/units", json={**body, "code": "X" * 40}, headers=organiser)
    assert "Phải dài từ 1 đến 32 ký tự." in error_of(long)["details"]["json"]["code"]
    # A browser session in English reads marshmallow's own words.
    auth.sign_in(world.organiser)
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = client.get("/api/v1/units?per_page=0")
    assert error_of(english)["details"] == {
        "query": {
            "per_page": ["Must be greater than or equal to 1 and less than or equal to 1000."]
        }
    }


def test_create_unit(client, world):
    body = {
        "code": "QX-THPT1",
        "name": "Trường THPT Quảng Xương 1",
        "kind": "school",
        "parent_code": world.district.code,
        "valid_from": "2021-01-01",
        "contact_email": "thpt1@example.vn",
    }
    response = client.post("/api/v1/units", json=body, headers=world.headers("organiser"))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["id"] > 0 and created["valid_to"] is None
    assert created["contact_email"] == "thpt1@example.vn"
    listed = client.get("/api/v1/units", headers=world.headers("organiser")).get_json()
    assert {u["code"]: u["contact_email"] for u in listed["items"]}["QX-THPT1"] == (
        "thpt1@example.vn"
    )
    assert created["parent_code"] == world.district.code and created["kind"] == "school"


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("leader", {"parent_code": "D"}, 403),
        # A unit outside one's scope reads as an unknown code (as NOPE below), not as 403.
        ("reporter", {"parent_code": "D"}, 422),
        ("stranger", {"parent_code": "D"}, 422),
        ("organiser", {"parent_code": None}, 403),
        ("organiser", {"parent_code": "D", "kind": "castle"}, 422),
        ("organiser", {"parent_code": "D", "code": ""}, 422),
        ("organiser", {"parent_code": "NOPE"}, 422),
        ("organiser", {"parent_code": "D", "extra": 1}, 422),
        (
            "organiser",
            {"parent_code": "D", "valid_from": "2022-01-01", "valid_to": "2021-01-01"},
            422,
        ),
        ("organiser", {"parent_code": "D", "code": "DUP"}, 422),
        ("organiser", {"parent_code": "D", "contact_email": "not an address"}, 422),
    ],
)
def test_create_unit_refusals(client, world, who, body, status):
    f.unit("Đã có", "school", world.district, code="DUP")
    f.commit()
    full = {"code": "QX-NEW", "name": "Trường mới", "kind": "school", **body}
    if full.get("parent_code") == "D":
        full["parent_code"] = world.district.code
    response = client.post("/api/v1/units", json=full, headers=world.headers(who))
    assert response.status_code == status
    error_of(response)


def test_refusals_are_audited(client, world):
    body = {"code": "X1", "name": "X", "kind": "school", "parent_code": world.district.code}
    client.post("/api/v1/units", json=body, headers=world.headers("leader"))
    db.session.rollback()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "access.refused"))
    assert entry is not None and entry.user_id == world.leader.id


# --- plans -----------------------------------------------------------------------


def plan_body(world: World, **kw) -> dict:
    return {
        "number": "276/KH-BCĐTH",
        "issued_on": "2020-12-28",
        "issuer_code": world.district.code,
        "title": "Tuyên truyền vận động hiến máu tình nguyện năm 2021",
        "year": 2021,
        **kw,
    }


def test_create_and_get_plan(client, world):
    body = plan_body(world, counting_rule="ml250", parent_plan_id=world.plan.id)
    response = client.post("/api/v1/plans", json=body, headers=world.headers("organiser"))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "active" and created["counting_rule"] == "ml250"
    assert created["parent_plan_id"] == world.plan.id
    assert created["issuer_code"] == world.district.code
    fetched = client.get(f"/api/v1/plans/{created['id']}", headers=world.headers("leader"))
    assert fetched.get_json()["number"] == "276/KH-BCĐTH"


def test_a_number_below_ten_keeps_its_leading_zero_and_is_found_either_way(client, world):
    body = plan_body(world, number="05/KH-BCĐ")
    response = client.post("/api/v1/plans", json=body, headers=world.headers("organiser"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["number"] == "05/KH-BCĐ"
    db.session.rollback()
    assert plans.find_plan("5/KH-BCĐ", 2020).number == "05/KH-BCĐ"
    refused = client.post(
        "/api/v1/plans",
        json=plan_body(world, number="012/KH-BCĐ"),
        headers=world.headers("organiser"),
    )
    assert refused.status_code == 422
    assert "chỉ số dưới 10 mới viết thêm số 0 ở đầu" in str(refused.get_json())


@pytest.mark.parametrize(
    ("who", "changes", "status"),
    [
        ("leader", {}, 403),
        # The issuer outside their scope reads as an unknown code (as NOPE below).
        ("reporter", {}, 422),
        ("stranger", {}, 422),
        ("organiser", {"status": "paused"}, 422),
        ("organiser", {"counting_rule": "litre"}, 422),
        ("organiser", {"number": "not a number"}, 422),
        ("organiser", {"issued_on": "28/12/2020"}, 422),
        ("organiser", {"issuer_code": "NOPE"}, 422),
        ("organiser", {"parent_plan_id": 999999}, 422),
        ("organiser", {"number": "15/KH-BCĐ", "issued_on": "2021-01-02"}, 422),
    ],
)
def test_create_plan_refusals(client, world, who, changes, status):
    response = client.post(
        "/api/v1/plans", json=plan_body(world, **changes), headers=world.headers(who)
    )
    assert response.status_code == status, response.get_json()
    error_of(response)


def test_plans_are_listed_by_scope_and_year(client, world):
    f.plan(world.other_district, year=2022)
    f.commit()
    mine = client.get("/api/v1/plans", headers=world.headers("organiser")).get_json()
    assert [p["id"] for p in mine["items"]] == [world.plan.id]
    assert (
        client.get("/api/v1/plans?year=2022", headers=world.headers("organiser")).get_json()[
            "total"
        ]
        == 0
    )
    assert client.get("/api/v1/plans", headers=world.headers("reporter")).get_json()["total"] == 0


def test_a_plan_out_of_scope_is_403(client, world):
    response = client.get(f"/api/v1/plans/{world.plan.id}", headers=world.headers("stranger"))
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
    assert client.get("/api/v1/plans/424242", headers=world.headers("stranger")).status_code == 404


# --- quotas ----------------------------------------------------------------------


def test_get_and_put_quotas(client, world):
    url = f"/api/v1/plans/{world.plan.id}/quotas"
    listed = client.get(url, headers=world.headers("leader")).get_json()
    assert {(q["unit_code"], q["quota"]) for q in listed["items"]} == {
        (world.communes[0].code, 40),
        (world.communes[1].code, 2000),
    }
    body = [
        {"unit_code": world.communes[0].code, "quota": 45},
        {"unit_code": world.communes[2].code, "quota": 30},
    ]
    response = client.put(url, json=body, headers=world.headers("organiser"))
    assert response.status_code == 200, response.get_json()
    db.session.rollback()
    stored = dict(
        db.session.execute(
            select(Quota.unit_id, Quota.amount).where(Quota.plan_id == world.plan.id)
        )
        .tuples()
        .all()
    )
    assert stored == {
        world.communes[0].id: 45,
        world.communes[1].id: 2000,
        world.communes[2].id: 30,
    }


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("leader", [{"unit_code": 0, "quota": 5}], 403),
        ("stranger", [{"unit_code": 0, "quota": 5}], 403),
        ("organiser", [{"unit_code": 0, "quota": 5}, {"unit_code": 1, "quota": -1}], 422),
        ("organiser", [{"unit_code": 0, "quota": 5}, {"unit_code": "NOPE", "quota": 1}], 422),
        ("organiser", [{"unit_code": 0, "quota": 5}, {"unit_code": 0, "quota": 6}], 422),
        ("organiser", [{"unit_code": 0, "quota": "5"}], 422),
        ("organiser", {"unit_code": 0, "quota": 5}, 422),
    ],
)
def test_put_quotas_is_all_or_nothing(client, world, who, body, status):
    def code(value):
        return world.communes[value].code if isinstance(value, int) else value

    rows = body if isinstance(body, list) else [body]
    for row in rows:
        row["unit_code"] = code(row["unit_code"])
    response = client.put(
        f"/api/v1/plans/{world.plan.id}/quotas", json=body, headers=world.headers(who)
    )
    assert response.status_code == status, response.get_json()
    error_of(response)
    db.session.rollback()
    amounts = set(db.session.scalars(select(Quota.amount).where(Quota.plan_id == world.plan.id)))
    assert amounts == {40, 2000}


# --- drives ----------------------------------------------------------------------


def test_create_and_list_drives(client, world):
    url = f"/api/v1/plans/{world.plan.id}/drives"
    body = {
        "name": "Đợt 2",
        "starts_on": "2021-09-10",
        "ends_on": "2021-09-11",
        "site": "Hội trường",
    }
    response = client.post(url, json=body, headers=world.headers("organiser"))
    assert response.status_code == 201
    assert response.get_json()["id"] > world.drive.id
    assert response.get_json()["report_due_on"] == "2021-09-14"  # the default: 3 days after
    chosen = {**body, "name": "Đợt 3", "report_due_on": "2021-09-30"}
    response = client.post(url, json=chosen, headers=world.headers("organiser"))
    assert response.get_json()["report_due_on"] == "2021-09-30"
    listed = client.get(url, headers=world.headers("leader")).get_json()
    assert [d["name"] for d in listed["items"]] == ["Đợt 1", "Đợt 2", "Đợt 3"]
    assert client.get(url, headers=world.headers("stranger")).status_code == 403


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("leader", {}, 403),
        ("stranger", {}, 403),
        ("organiser", {"ends_on": "2021-09-01"}, 422),
        ("organiser", {"name": ""}, 422),
        ("organiser", {"report_due_on": "2021-09-10"}, 422),
        ("organiser", {"report_due_on": "10/09/2021"}, 422),
        ("organiser", {"starts_on": None}, 422),
    ],
)
def test_create_drive_refusals(client, world, who, body, status):
    full = {"name": "Đợt 2", "starts_on": "2021-09-10", "ends_on": "2021-09-11", **body}
    response = client.post(
        f"/api/v1/plans/{world.plan.id}/drives", json=full, headers=world.headers(who)
    )
    assert response.status_code == status
    error_of(response)


def test_a_drive_s_dates_and_deadline_change_through_the_api(client, world):
    url = f"/api/v1/drives/{world.drive.id}"
    organiser = world.headers("organiser")

    def patch(body: dict) -> dict:
        response = client.patch(url, json=body, headers=organiser)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    moved = patch({"starts_on": "2021-06-20", "ends_on": "2021-06-21"})
    assert moved["report_due_on"] == "2021-06-24"  # the default deadline moved with the drive
    assert moved["name"] == "Đợt 1" and moved["site"] == "Trung tâm Hội nghị"  # left out, kept
    assert patch({"report_due_on": "2021-06-30"})["report_due_on"] == "2021-06-30"
    assert patch({"ends_on": "2021-06-22"})["report_due_on"] == "2021-06-30"  # chosen, it stays
    assert patch({"report_due_on": None})["report_due_on"] == "2021-06-25"
    db.session.rollback()  # the requests committed
    stored = db.session.get_one(Drive, world.drive.id)
    assert (stored.ends_on, stored.report_due_on) == (date(2021, 6, 22), date(2021, 6, 25))


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("leader", {"name": "Đợt mới"}, 403),
        ("reporter", {"name": "Đợt mới"}, 403),
        ("stranger", {"name": "Đợt mới"}, 403),
        ("organiser", {"report_due_on": "2021-06-10"}, 422),  # before the drive's last day
        ("organiser", {"ends_on": "2021-06-01"}, 422),  # before its first
        ("organiser", {"name": ""}, 422),
        ("organiser", {"starts_on": None}, 422),
        ("organiser", {"deadline": "2021-06-30"}, 422),
    ],
)
def test_drive_changes_refused_change_nothing(client, world, who, body, status):
    drive_id = world.drive.id
    response = client.patch(f"/api/v1/drives/{drive_id}", json=body, headers=world.headers(who))
    assert response.status_code == status
    assert error_of(response)["message"]
    db.session.rollback()
    stored = db.session.get_one(Drive, drive_id)
    assert (stored.name, stored.ends_on, stored.report_due_on) == (
        "Đợt 1", date(2021, 6, 11), date(2021, 6, 14),
    )  # fmt: skip


# --- results ---------------------------------------------------------------------


def result_url(world: World, unit=None, action: str = "") -> str:
    unit = unit or world.communes[0]
    return f"/api/v1/drives/{world.drive.id}/results/{unit.code}{action}"


COUNTS = {"registered": 50, "deferred": 5, "bags_250": 10, "bags_350": 30, "bags_450": 5}


def test_push_update_submit_approve(client, world):
    reporter = world.headers("reporter")
    created = client.put(result_url(world), json=COUNTS, headers=reporter)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["state"] == "draft" and body["version"] == 1 and body["unit_code"]
    assert created.headers["ETag"] == '"1"'
    updated = client.put(
        result_url(world), json={**COUNTS, "submit": True}, headers={**reporter, "If-Match": '"1"'}
    )
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["state"] == "submitted"
    version = updated.get_json()["version"]
    assert version == 2
    approved = client.post(result_url(world, action="/approve"), headers=world.headers("organiser"))
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    listed = client.get(
        f"/api/v1/drives/{world.drive.id}/results", headers=world.headers("leader")
    ).get_json()
    assert listed["total"] == 1 and listed["items"][0]["bags_350"] == 30


def test_stale_or_missing_version_is_409_and_changes_nothing(client, world):
    reporter = world.headers("reporter")
    client.put(result_url(world), json=COUNTS, headers=reporter)
    changed = {**COUNTS, "bags_250": 9}
    assert (
        client.put(
            result_url(world), json=changed, headers={**reporter, "If-Match": "1"}
        ).status_code
        == 200
    )
    stale = client.put(
        result_url(world), json={**COUNTS, "bags_250": 8}, headers={**reporter, "If-Match": "1"}
    )
    assert stale.status_code == 409
    assert error_of(stale)["code"] == "conflict"
    assert error_of(stale)["details"] == {"current_version": 2}
    missing = client.put(result_url(world), json=COUNTS, headers=reporter)
    assert missing.status_code == 409
    bad = client.put(result_url(world), json=COUNTS, headers={**reporter, "If-Match": "abc"})
    assert bad.status_code == 422
    db.session.rollback()
    assert db.session.scalar(select(Result.bags_250)) == 9


@pytest.mark.parametrize(
    ("who", "unit", "body", "status"),
    [
        ("reporter", 1, COUNTS, 404),  # another commune: as unknown as NOPE below
        ("leader", 0, COUNTS, 403),
        ("stranger", 0, COUNTS, 403),
        ("reporter", 0, {**COUNTS, "bags_250": -1}, 422),
        ("reporter", 0, {**COUNTS, "bags_250": 1.5}, 422),
        ("reporter", 0, {**COUNTS, "bags_250": 10**12}, 422),
        ("reporter", 0, {**COUNTS, "total": 45}, 422),
        ("reporter", "NOPE", COUNTS, 404),
    ],
)
def test_push_refusals(client, world, who, unit, body, status):
    target = world.communes[unit] if isinstance(unit, int) else type("U", (), {"code": unit})
    response = client.put(result_url(world, target), json=body, headers=world.headers(who))
    assert response.status_code == status, response.get_json()
    error_of(response)
    db.session.rollback()
    assert db.session.scalar(select(Result.id)) is None


def test_review_refusals_and_return(client, world):
    f.result(world.drive, world.communes[0], 10, 30, 5)
    f.commit()
    for who in ("reporter", "leader", "stranger"):
        response = client.post(result_url(world, action="/approve"), headers=world.headers(who))
        assert response.status_code == 403
    missing = client.post(
        result_url(world, world.communes[1], "/approve"), headers=world.headers("organiser")
    )
    assert missing.status_code == 404
    no_reason = client.post(
        result_url(world, action="/return"), json={"reason": ""}, headers=world.headers("organiser")
    )
    assert no_reason.status_code == 422
    returned = client.post(
        result_url(world, action="/return"),
        json={"reason": "Sai số túi 350 ml"},
        headers=world.headers("organiser"),
    )
    assert returned.status_code == 200
    assert returned.get_json()["state"] == "returned"
    assert returned.get_json()["return_reason"] == "Sai số túi 350 ml"
    again = client.post(result_url(world, action="/approve"), headers=world.headers("organiser"))
    assert again.status_code == 422


def test_results_list_is_scoped(client, world):
    f.result(world.drive, world.communes[0], 10)
    f.result(world.drive, world.communes[1], 5)
    f.commit()
    url = f"/api/v1/drives/{world.drive.id}/results"
    mine = client.get(url, headers=world.headers("reporter")).get_json()
    assert [r["unit_code"] for r in mine["items"]] == [world.communes[0].code]
    assert client.get(url, headers=world.headers("stranger")).status_code == 403
    assert (
        client.get("/api/v1/drives/777/results", headers=world.headers("reporter")).status_code
        == 404
    )


# --- summary ---------------------------------------------------------------------


def test_summary_figures_are_those_of_rates(client, world):
    # The worked example of DOMAIN.md, and a unit just below its quota.
    f.result(world.drive, world.communes[0], 10, 30, 5, state="approved")
    f.result(world.drive, world.communes[1], 1999)
    f.result(world.drive, world.communes[2], 3)
    f.commit()
    response = client.get(f"/api/v1/plans/{world.plan.id}/summary", headers=world.headers("leader"))
    assert response.status_code == 200
    body = response.get_json()
    made = plan_summary(world.plan)
    assert body["counting_rule"] == "bag" and body["plan"]["id"] == world.plan.id
    by_code = {u["code"]: u for u in body["units"]}
    for line in made.lines:
        unit = by_code[line.unit.code]
        assert unit["rate_percent"] == float(line.rate_percent)
        assert unit["status"] == line.status.value
        assert unit["collected"] == float(display_units(line.collected))
        assert unit["over_amount"] == float(display_units(line.over_amount))
        assert unit["quota"] == line.quota and unit["donors"] == line.tally.donors
    quang_binh = by_code[world.communes[0].code]
    assert (quang_binh["collected"], quang_binh["rate_percent"]) == (45, 112.5)
    assert (quang_binh["status"], quang_binh["over_amount"]) == ("over", 5)
    assert by_code[world.communes[1].code]["rate_percent"] == 99.9
    totals = body["totals"]
    assert totals["quota"] == made.totals.quota == 2040
    assert totals["rate_percent"] == float(made.totals.rate_percent)
    assert totals["completed"] == 1 and totals["completed_percent"] == 50.0
    assert totals["collected_outside"] == float(display_units(made.collected_outside)) == 3
    assert Decimal(str(totals["collected"])) == display_units(made.totals.collected)


def test_summary_approved_only(client, world):
    f.result(world.drive, world.communes[0], 10, 30, 5, state="approved")
    f.result(world.drive, world.communes[1], 1999)
    f.commit()
    body = client.get(
        f"/api/v1/plans/{world.plan.id}/summary?approved_only=true",
        headers=world.headers("organiser"),
    ).get_json()
    assert body["totals"]["collected"] == 45
    assert {u["code"]: u["status"] for u in body["units"]}[world.communes[1].code] == "not_reported"


def test_summary_comes_a_page_of_units_at_a_time_when_asked(client, world):
    """A national plan's summary has a hundred thousand units: a client may take them a
    page at a time, in the summary's order, with the totals of the whole plan each time."""
    url = f"/api/v1/plans/{world.plan.id}/summary"
    headers = world.headers("leader")
    whole = client.get(url, headers=headers).get_json()
    codes = [u["code"] for u in whole["units"]]
    assert len(codes) >= 2 and whole["units_total"] == len(codes)
    assert "page" not in whole
    pages = [
        client.get(url, query_string={"page": n, "per_page": 1}, headers=headers).get_json()
        for n in range(1, len(codes) + 2)
    ]
    assert [u["code"] for p in pages for u in p["units"]] == codes
    assert pages[-1]["units"] == []  # past the end: an empty page, not an error
    first = pages[0]
    assert (first["page"], first["per_page"], first["units_total"]) == (1, 1, len(codes))
    assert all(p["totals"] == whole["totals"] for p in pages)
    for bad in ({"page": 0}, {"per_page": 1001}, {"page": "x"}, {"per_page": -1}):
        answer = client.get(url, query_string=bad, headers=headers)
        assert answer.status_code == 422, bad
        assert answer.get_json()["error"]["code"] == "invalid", bad


def test_a_summary_of_more_units_than_a_page_comes_a_page_at_a_time(client, world, monkeypatch):
    """Asked for every unit, a plan of more than a page (a national plan: 105.000 units,
    40 MB) gives its first page, and says so; each page after it is asked for by number."""
    url = f"/api/v1/plans/{world.plan.id}/summary"
    headers = world.headers("leader")
    whole = client.get(url, headers=headers).get_json()
    codes = [u["code"] for u in whole["units"]]
    monkeypatch.setattr(schemas, "SUMMARY_PAGE", len(codes) - 1)
    first = client.get(url, headers=headers).get_json()
    assert (first["page"], first["per_page"], first["units_total"]) == (
        1,
        len(codes) - 1,
        len(codes),
    )
    assert [u["code"] for u in first["units"]] == codes[:-1]
    assert first["totals"] == whole["totals"]
    rest = client.get(url, query_string={"page": 2}, headers=headers).get_json()
    assert [u["code"] for u in rest["units"]] == codes[-1:]
    monkeypatch.setattr(schemas, "SUMMARY_PAGE", len(codes))
    assert "page" not in client.get(url, headers=headers).get_json()  # a page holds them all


def test_summary_refusals(client, world):
    url = f"/api/v1/plans/{world.plan.id}/summary"
    assert client.get(url, headers=world.headers("stranger")).status_code == 403
    assert client.get(url, headers=world.headers("reporter")).status_code == 403
    assert (
        client.get(url + "?approved_only=maybe", headers=world.headers("leader")).status_code == 422
    )


def test_summary_workbook_has_the_figures_of_the_summary(client, world):
    f.result(world.drive, world.communes[0], 10, 30, 5, state="approved")
    f.result(world.drive, world.communes[1], 1999)
    f.commit()
    url = f"/api/v1/plans/{world.plan.id}/summary"
    body = client.get(url, headers=world.headers("leader")).get_json()
    response = client.get(url + ".xlsx", headers=world.headers("leader"))
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(BytesIO(response.data), read_only=True)["Tổng hợp"]
    rows = {r[1]: r for r in sheet.iter_rows(values_only=True) if len(r) > 8 and r[1]}
    for unit in body["units"]:
        row = rows[unit["name"]]
        assert (row[3], row[5], row[7]) == (unit["quota"], unit["donors"], unit["collected"])
        assert round(row[8] * 100, 1) == unit["rate_percent"]
    assert client.get(url + ".xlsx", headers=world.headers("stranger")).status_code == 403


# --- tokens on the command line and the account page -------------------------------


def test_token_commands(runner, world):
    created = runner.invoke(args=["create-token", world.leader.username, "--name", "Tỉnh"])
    assert created.exit_code == 0, created.output
    plain = created.stdout.strip().splitlines()[-1]
    assert plain.startswith(tokens.PREFIX)
    db.session.rollback()
    stored = db.session.scalar(select(ApiToken).where(ApiToken.name == "Tỉnh"))
    assert stored.token_hash == tokens.digest(plain)
    listed = runner.invoke(args=["list-tokens", world.leader.username])
    assert "Tỉnh" in listed.output and plain not in listed.output
    assert vietnam_time(stored.created_at) in listed.output  # Vietnam time, as pages show
    revoked = runner.invoke(args=["revoke-token", str(stored.id)])
    assert revoked.exit_code == 0, revoked.output
    db.session.rollback()
    assert db.session.get(ApiToken, stored.id).revoked_at is not None
    assert runner.invoke(args=["create-token", "nobody"]).exit_code != 0
    assert runner.invoke(args=["revoke-token", "424242"]).exit_code != 0


def test_account_page_lists_and_revokes_own_tokens_only(client, auth, world):
    auth.login(world.leader)
    page = client.get("/tai-khoan/ma-truy-cap/").get_data(as_text=True)
    assert "leader" in page and world.tokens["leader"] not in page
    mine = db.session.scalar(select(ApiToken).where(ApiToken.name == "leader"))
    theirs = db.session.scalar(select(ApiToken).where(ApiToken.name == "organiser"))
    assert client.post(f"/tai-khoan/ma-truy-cap/{theirs.id}/thu-hoi").status_code == 404
    assert client.post(f"/tai-khoan/ma-truy-cap/{mine.id}/thu-hoi").status_code == 302
    assert client.get("/api/v1/units", headers=world.headers("leader")).status_code == 401
    assert client.get("/api/v1/units", headers=world.headers("organiser")).status_code == 200
    assert date.today()  # the page renders dates


def test_a_result_with_more_donors_and_deferred_than_registered_is_422(client, world):
    body = {"registered": 10, "deferred": 8, "bags_250": 20, "bags_350": 0, "bags_450": 0}
    response = client.put(result_url(world), json=body, headers=world.headers("reporter"))
    assert response.status_code == 422
    error = error_of(response)
    assert "Số đăng ký (10) nhỏ hơn số hiến thành công và không đủ điều kiện (28)." in str(error)
    assert "registered" in str(error)
    listed = client.get(f"/api/v1/drives/{world.drive.id}/results", headers=world.headers("leader"))
    assert listed.get_json()["total"] == 0


def test_a_drive_of_a_draft_plan_takes_no_report_as_on_the_page(client, world):
    world.drive.plan.status = "draft"
    db.session.commit()
    response = client.put(result_url(world), json=COUNTS, headers=world.headers("reporter"))
    assert response.status_code == 404
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Result)) == 0


@pytest.mark.parametrize(
    ("action", "body"), [("/approve", None), ("/return", {"reason": "Sai số túi 350 ml"})]
)
def test_review_with_a_stale_if_match_is_409_and_changes_nothing(client, world, action, body):
    """The reviewer read version 1; the reporter has saved version 2 since."""
    result = f.result(world.drive, world.communes[0], 10, 30, 5)
    read = result.version
    results.save(
        world.drive,
        world.communes[0],
        results.Counts(50, 0, 20, 30, 0),
        expected_version=read,
        submit=True,
    )
    f.commit()
    organiser = world.headers("organiser")
    stale = client.post(
        result_url(world, action=action), json=body, headers={**organiser, "If-Match": f'"{read}"'}
    )
    assert stale.status_code == 409, stale.get_json()
    assert error_of(stale)["details"] == {"current_version": read + 1}
    db.session.rollback()
    assert db.session.scalar(select(Result.state)) == "submitted"
    fresh = client.post(
        result_url(world, action=action),
        json=body,
        headers={**organiser, "If-Match": str(read + 1)},
    )
    assert fresh.status_code == 200 and fresh.headers["ETag"] == f'"{read + 2}"'


# --- targets beyond blood units ------------------------------------------------------


TARGETS = {"min_large_bag_percent": 70, "min_repeat_percent": 40, "min_participation_percent": 30}


def test_a_plan_carries_its_targets(client, world):
    body = plan_body(world, targets={**TARGETS, "min_repeat_percent": None})
    created = client.post("/api/v1/plans", json=body, headers=world.headers("organiser"))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["targets"] == {**TARGETS, "min_repeat_percent": None}
    plain = client.post(
        "/api/v1/plans",
        json=plan_body(world, number="277/KH-BCĐTH"),
        headers=world.headers("organiser"),
    )
    assert plain.get_json()["targets"] == dict.fromkeys(TARGETS)


@pytest.mark.parametrize("value", [0, 101, 50.5, "70", True])
def test_a_target_is_a_whole_percentage_from_1_to_100(client, world, value):
    body = plan_body(world, targets={"min_large_bag_percent": value})
    response = client.post("/api/v1/plans", json=body, headers=world.headers("organiser"))
    assert response.status_code == 422
    assert "targets" in error_of(response)["details"]["json"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 1


def test_quota_headcounts_are_set_kept_and_cleared(client, world):
    url = f"/api/v1/plans/{world.plan.id}/quotas"
    organiser = world.headers("organiser")
    code = world.communes[0].code
    put = client.put(
        url, json=[{"unit_code": code, "quota": 40, "headcount": 250}], headers=organiser
    )
    assert put.status_code == 200 and put.get_json()["items"][0]["headcount"] == 250
    kept = client.put(url, json=[{"unit_code": code, "quota": 45}], headers=organiser)
    assert kept.get_json()["items"][0] == {
        "unit_code": code, "unit_name": "Quảng Bình", "quota": 45, "headcount": 250,
    }  # fmt: skip
    listed = client.get(url, headers=world.headers("leader")).get_json()["items"]
    assert {q["unit_code"]: q["headcount"] for q in listed} == {
        code: 250, world.communes[1].code: None,
    }  # fmt: skip
    cleared = client.put(
        url, json=[{"unit_code": code, "quota": 45, "headcount": None}], headers=organiser
    )
    assert cleared.get_json()["items"][0]["headcount"] is None
    bad = client.put(
        url, json=[{"unit_code": code, "quota": 45, "headcount": -1}], headers=organiser
    )
    assert bad.status_code == 422


def test_repeat_donors_are_at_most_the_donations(client, world):
    reporter = world.headers("reporter")
    too_many = client.put(result_url(world), json={**COUNTS, "repeat_donors": 46}, headers=reporter)
    assert too_many.status_code == 422
    assert "repeat_donors" in error_of(too_many)["details"]
    saved = client.put(result_url(world), json={**COUNTS, "repeat_donors": 45}, headers=reporter)
    assert saved.status_code == 201 and saved.get_json()["repeat_donors"] == 45


def test_the_summary_judges_each_target_as_rates_does(client, world):
    world.plan.min_large_bag_percent, world.plan.min_participation_percent = 70, 30
    plans.set_quotas(world.plan, {world.communes[0]: 45}, headcounts={world.communes[0]: 200})
    f.result(world.drive, world.communes[0], 10, 30, 5)  # 35 of 45 bags are 350/450 ml
    f.result(world.drive, world.communes[1], 20)
    f.commit()
    body = client.get(
        f"/api/v1/plans/{world.plan.id}/summary", headers=world.headers("leader")
    ).get_json()
    units = {u["code"]: u for u in body["units"]}
    binh, chinh = units[world.communes[0].code], units[world.communes[1].code]
    assert (binh["large_bag_percent"], binh["participation_percent"]) == (77.8, 22.5)
    assert (binh["headcount"], binh["repeat_percent"]) == (200, None)
    assert binh["targets_missed"] == ["participation"]
    assert binh["status"] == "met"  # missing a target does not change the quota status
    assert (chinh["large_bag_percent"], chinh["targets_missed"]) == (0.0, ["large_bag"])
    assert body["totals"]["large_bag_percent"] == 53.8  # 35 of 65
    assert body["totals"]["participation_percent"] == 22.5
    made = plan_summary(world.plan)
    assert body["totals"]["targets_missed"] == [
        t.value for t in made.totals.shares.missed(world.plan.targets)
    ]


def test_progress_month_by_month_against_the_even_pace(client, world):
    f.result(world.drive, world.communes[0], 10, 30, 5)  # the drive ends on 11/06/2021
    late = f.drive(world.plan, "Đợt 2", date(2021, 11, 20))
    f.result(late, world.communes[1], 12)
    f.commit()
    url = f"/api/v1/plans/{world.plan.id}/progress"
    body = client.get(url, headers=world.headers("leader")).get_json()
    assert body["quota"] == 2040
    months = body["months"]
    assert [m["month"] for m in months] == [f"2021-{n:02d}" for n in range(1, 13)]
    assert months[4] == {"month": "2021-05", "collected": 0, "cumulative": 0, "pace": 850}
    assert (months[5]["collected"], months[5]["cumulative"]) == (45, 45)
    assert (months[10]["collected"], months[10]["cumulative"]) == (12, 57)
    summary = client.get(f"/api/v1/plans/{world.plan.id}/summary", headers=world.headers("leader"))
    assert months[-1]["cumulative"] == summary.get_json()["totals"]["collected"]
    one = client.get(f"{url}?unit={world.communes[1].code}", headers=world.headers("leader"))
    assert one.get_json()["quota"] == 2000
    assert [m["cumulative"] for m in one.get_json()["months"]][9:] == [0, 12, 12]
    assert client.get(f"{url}?unit=NOPE", headers=world.headers("leader")).status_code == 404
    mine = client.get(f"{url}?unit={world.communes[1].code}", headers=world.headers("reporter"))
    assert mine.status_code in (403, 404)


def test_patch_sets_the_targets_and_refuses_them_out_of_range(client, world):
    url = f"/api/v1/plans/{world.plan.id}"
    organiser = world.headers("organiser")
    changed = client.patch(url, json={"targets": {"min_large_bag_percent": 70}}, headers=organiser)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["targets"] == {**dict.fromkeys(TARGETS), "min_large_bag_percent": 70}
    assert (
        client.patch(
            url, json={"targets": {"min_repeat_percent": 0}}, headers=organiser
        ).status_code
        == 422
    )
    assert (
        client.patch(url, json={"targets": TARGETS}, headers=world.headers("leader")).status_code
        == 403
    )
    assert client.patch(url, json={}, headers=organiser).status_code == 422
    db.session.rollback()
    assert db.session.get(Plan, world.plan.id).targets == (70, None, None)


# --- reporting on time -------------------------------------------------------------


def test_a_drive_s_reporting_rate_and_timeliness(client, world, monkeypatch):
    binh, chinh, dinh = world.communes  # Định has no quota
    monkeypatch.setattr(results, "utcnow", lambda: datetime(2021, 6, 13, 2, 0))
    f.result(world.drive, binh, 5)
    monkeypatch.setattr(results, "utcnow", lambda: datetime(2021, 6, 20, 2, 0))
    f.result(world.drive, chinh, 5, state="approved")
    f.result(world.drive, dinh, 5, state="draft")  # no quota and nothing sent: not expected
    f.commit()
    url = f"/api/v1/drives/{world.drive.id}/reporting"

    body = client.get(url, headers=world.headers("leader")).get_json()

    assert body == {
        "expected": 2,
        "received": 2,
        "on_time": 1,
        "late": 1,
        "overdue": 0,
        "units": [
            {
                "code": binh.code,
                "name": "Quảng Bình",
                "state": "on_time",
                "submitted_at": "2021-06-13T02:00:00+00:00",
                "days_late": None,
            },
            {
                "code": chinh.code,
                "name": "Quảng Chính",
                "state": "late",
                "submitted_at": "2021-06-20T02:00:00+00:00",
                "days_late": 6,
            },
        ],
    }
    # A reporter sees their own unit only; another district's organiser is refused.
    own = client.get(url, headers=world.headers("reporter")).get_json()
    assert [u["code"] for u in own["units"]] == [binh.code]
    assert client.get(url, headers=world.headers("stranger")).status_code == 403


def test_a_unit_that_owes_the_report_after_the_deadline_is_overdue(client, world):
    url = f"/api/v1/drives/{world.drive.id}/reporting"
    body = client.get(url, headers=world.headers("organiser")).get_json()
    days = (vietnam_today() - date(2021, 6, 14)).days
    assert (body["expected"], body["received"], body["overdue"]) == (2, 0, 2)
    assert {u["state"] for u in body["units"]} == {"overdue"}
    assert {u["days_late"] for u in body["units"]} == {days}
    assert {u["submitted_at"] for u in body["units"]} == {None}
