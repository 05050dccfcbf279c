"""Every route, every role, objects inside and outside each scope.

A route without a row here fails ``test_every_route_has_a_row``: add its row when adding it.
Outcomes: ``ok`` (the page, or a redirect that is not to sign-in), ``login`` (sent to sign
in), or the status code (403 outside the scope, 404 for what does not exist).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from campaign.extensions import db
from campaign.services import plans
from tests import factories as f
from tests.conftest import RequestClient, empty_tables, make_app

ROLES = ("anonymous", "rep_a", "rep_b", "org_x", "org_y", "leader_x", "admin")
K, L, F, N = "ok", "login", 403, 404
Outcome = str | int


def by_role(others: Outcome, **outcomes: Outcome) -> dict[str, Outcome]:
    """The outcome for each of ROLES: those named, and ``others`` for the rest."""
    unknown = outcomes.keys() - set(ROLES)
    assert not unknown, f"no such role: {unknown}"
    return {role: outcomes.get(role, others) for role in ROLES}


ALL_OK = by_role(others=K)
SIGNED_IN = by_role(anonymous=L, others=K)
ADMIN_ONLY = by_role(anonymous=L, admin=K, others=F)
REVIEWERS = by_role(anonymous=L, org_x=K, org_y=K, admin=K, others=F)
# Objects of district X (unit A, its drive and result) and of district Y (unit B...).
REPORT_X = by_role(anonymous=L, rep_a=K, org_x=K, admin=K, others=F)
REPORT_Y = by_role(anonymous=L, rep_b=K, org_y=K, admin=K, others=F)
REVIEW_X = by_role(anonymous=L, org_x=K, admin=K, others=F)
REVIEW_Y = by_role(anonymous=L, org_y=K, admin=K, others=F)
MISSING = by_role(anonymous=L, others=N)
ALL_MISSING = by_role(others=N)
MISSING_REVIEW = by_role(anonymous=L, org_x=N, org_y=N, admin=N, others=F)
SEE_X = by_role(anonymous=L, org_x=K, leader_x=K, admin=K, others=F)
SEE_Y = by_role(anonymous=L, org_y=K, admin=K, others=F)
# Organiser X asks for something of X that does not exist; the others are refused first.
NONE_X = by_role(anonymous=L, org_x=N, admin=N, others=F)
API_SIGNED_IN = by_role(anonymous=401, others=K)
API_BAD_BODY = by_role(anonymous=401, others=422)
API_SEE_X = by_role(anonymous=401, org_x=K, leader_x=K, admin=K, others=F)
API_SEE_Y = by_role(anonymous=401, org_y=K, admin=K, others=F)
API_MISSING = by_role(anonymous=401, others=N)
API_REPORT_X = by_role(anonymous=401, rep_b=F, org_y=F, others=K)
API_REPORT_Y = by_role(anonymous=401, rep_b=K, org_y=K, admin=K, others=F)
API_SAVE_X = by_role(anonymous=401, rep_a=409, org_x=409, admin=409, others=F)
API_SAVE_Y = by_role(anonymous=401, rep_b=409, org_y=409, admin=409, others=F)
# The district's organiser approves; the administrator, asking next, finds it approved (422).
REVIEW_X_API = by_role(anonymous=401, org_x=K, admin=422, others=F)
REVIEW_Y_API = by_role(anonymous=401, org_y=K, admin=422, others=F)


def result_api(w: dict[str, Any], district: str) -> str:
    unit = w["a_code"] if district == "x" else w["b_code"]
    return f"/api/v1/drives/{w['drive_' + district]}/results/{unit}"


Url = Callable[[dict[str, Any]], str]

#: endpoint -> method and, per variant, the URL and the outcome for each role by name.
ROWS: dict[str, tuple[str, dict[str, tuple[Url, dict[str, Outcome]]]]] = {
    "static": ("GET", {"file": (lambda w: "/static/app.css", ALL_OK)}),
    # The installable app's files name no unit and no figure: anyone may fetch them.
    "offline.service_worker": ("GET", {"": (lambda w: "/sw.js", ALL_OK)}),
    "offline.manifest": ("GET", {"": (lambda w: "/manifest.webmanifest", ALL_OK)}),
    "auth.login": ("GET", {"": (lambda w: "/dang-nhap", ALL_OK)}),
    "auth.logout": ("POST", {"": (lambda w: "/dang-xuat", SIGNED_IN)}),
    "auth.change_password": ("GET", {"": (lambda w: "/doi-mat-khau", SIGNED_IN)}),
    "main.plans": ("GET", {"": (lambda w: "/", SIGNED_IN)}),
    "main.plan": (
        "GET",
        {
            "x": (
                lambda w: f"/ke-hoach/{w['plan_x']}",
                by_role(anonymous=L, org_x=K, leader_x=K, admin=K, others=F),
            ),
            "y": (
                lambda w: f"/ke-hoach/{w['plan_y']}",
                by_role(anonymous=L, org_y=K, admin=K, others=F),
            ),
            "missing": (lambda w: "/ke-hoach/999999", MISSING),
        },
    ),
    "main.language": ("POST", {"": (lambda w: "/ngon-ngu", ALL_OK)}),
    # Plan X is published, plan Y is not: its QR code is missing for whoever may see it.
    "main.public_qr": (
        "GET",
        {
            "x png": (lambda w: f"/ke-hoach/{w['plan_x']}/cong-khai/ma-qr.png", SEE_X),
            "x svg": (lambda w: f"/ke-hoach/{w['plan_x']}/cong-khai/ma-qr.svg", SEE_X),
            "y": (
                lambda w: f"/ke-hoach/{w['plan_y']}/cong-khai/ma-qr.svg",
                by_role(anonymous=L, org_y=N, admin=N, others=F),
            ),
            "missing": (lambda w: "/ke-hoach/999999/cong-khai/ma-qr.png", MISSING),
        },
    ),
    # A published plan is for everyone, signed in or not; any other address is missing.
    **{
        endpoint: (
            "GET",
            {
                "published": (partial(lambda t, w: f"/cong-khai/{w['slug_x']}{t}", tail), ALL_OK),
                "unknown": (partial(lambda t, w: f"/cong-khai/khong-co{t}", tail), ALL_MISSING),
            },
        )
        for endpoint, tail in [("public.page", ""), ("public.data", ".json")]
    },
    "reports.my_units": ("GET", {"": (lambda w: "/bao-cao/", SIGNED_IN)}),
    "reports.unit": (
        "GET",
        {
            "x": (lambda w: f"/bao-cao/don-vi/{w['a']}", REPORT_X),
            "y": (lambda w: f"/bao-cao/don-vi/{w['b']}", REPORT_Y),
            "missing": (lambda w: "/bao-cao/don-vi/999999", MISSING),
        },
    ),
    "reports.report": (
        "GET",
        {
            "x": (lambda w: f"/bao-cao/don-vi/{w['a']}/dot/{w['drive_x']}", REPORT_X),
            "y": (lambda w: f"/bao-cao/don-vi/{w['b']}/dot/{w['drive_y']}", REPORT_Y),
            # A drive of another district's plan is not open to the unit.
            "foreign drive": (
                lambda w: f"/bao-cao/don-vi/{w['a']}/dot/{w['drive_y']}",
                by_role(anonymous=L, rep_a=N, org_x=N, admin=N, others=F),
            ),
        },
    ),
    "reports.withdraw": (
        "POST",
        {
            "x": (lambda w: f"/bao-cao/don-vi/{w['a']}/dot/{w['drive_x']}/rut-lai", REPORT_X),
            "y": (lambda w: f"/bao-cao/don-vi/{w['b']}/dot/{w['drive_y']}/rut-lai", REPORT_Y),
        },
    ),
    "reports.queue": ("GET", {"": (lambda w: "/bao-cao/duyet", REVIEWERS)}),
    "reports.approve_many": ("POST", {"": (lambda w: "/bao-cao/duyet/nhieu", REVIEWERS)}),
    "reports.review": (
        "GET",
        {
            "x": (lambda w: f"/bao-cao/ket-qua/{w['result_x']}", REVIEW_X),
            "y": (lambda w: f"/bao-cao/ket-qua/{w['result_y']}", REVIEW_Y),
            "missing": (lambda w: "/bao-cao/ket-qua/999999", MISSING_REVIEW),
        },
    ),
    **{
        endpoint: (
            "POST",
            {
                "x": (
                    partial(lambda tail, w: f"/bao-cao/ket-qua/{w['result_x']}/{tail}", t),
                    REVIEW_X,
                ),
                "y": (
                    partial(lambda tail, w: f"/bao-cao/ket-qua/{w['result_y']}/{tail}", t),
                    REVIEW_Y,
                ),
            },
        )
        for endpoint, t in [
            ("reports.approve", "duyet"),
            ("reports.return_", "tra-lai"),
            ("reports.reopen", "mo-lai"),
        ]
    },
    # Leaders read the list of units that owe a report; only organisers send reminders.
    "reports.drive": (
        "GET",
        {
            "x": (lambda w: f"/bao-cao/dot/{w['drive_x']}", SEE_X),
            "y": (lambda w: f"/bao-cao/dot/{w['drive_y']}", SEE_Y),
            "missing": (
                lambda w: "/bao-cao/dot/999999",
                by_role(anonymous=L, rep_a=F, rep_b=F, others=N),
            ),
        },
    ),
    "reports.remind": (
        "POST",
        {
            "x": (lambda w: f"/bao-cao/dot/{w['drive_x']}/nhac", REVIEW_X),
            "y": (lambda w: f"/bao-cao/dot/{w['drive_y']}/nhac", REVIEW_Y),
            "missing": (lambda w: "/bao-cao/dot/999999/nhac", MISSING_REVIEW),
        },
    ),
    "admin.accounts": ("GET", {"": (lambda w: "/quan-tri/tai-khoan", ADMIN_ONLY)}),
    "admin.new_account": ("GET", {"": (lambda w: "/quan-tri/tai-khoan/moi", ADMIN_ONLY)}),
    "admin.account": (
        "GET",
        {
            "other": (lambda w: f"/quan-tri/tai-khoan/{w['other']}", ADMIN_ONLY),
            "missing": (
                lambda w: "/quan-tri/tai-khoan/999999",
                by_role(anonymous=L, admin=N, others=F),
            ),
        },
    ),
    "admin.set_enabled": (
        "POST",
        {"other": (lambda w: f"/quan-tri/tai-khoan/{w['other']}/trang-thai", ADMIN_ONLY)},
    ),
    "admin.reset_password": (
        "POST",
        {"other": (lambda w: f"/quan-tri/tai-khoan/{w['other']}/mat-khau", ADMIN_ONLY)},
    ),
    "main.plan_unit": (
        "GET",
        {
            "x": (lambda w: f"/ke-hoach/{w['plan_x']}/don-vi/{w['a']}", SEE_X),
            "y": (lambda w: f"/ke-hoach/{w['plan_y']}/don-vi/{w['b']}", SEE_Y),
            "unit of y in plan x": (
                lambda w: f"/ke-hoach/{w['plan_x']}/don-vi/{w['b']}",
                by_role(anonymous=L, admin=N, others=F),
            ),
            "missing": (lambda w: f"/ke-hoach/999999/don-vi/{w['a']}", MISSING),
        },
    ),
    "exports.summary": (
        "GET",
        {
            "x": (lambda w: f"/ke-hoach/{w['plan_x']}/bao-cao.xlsx", SEE_X),
            "y": (lambda w: f"/ke-hoach/{w['plan_y']}/bao-cao.xlsx", SEE_Y),
            "missing": (lambda w: "/ke-hoach/999999/bao-cao.xlsx", MISSING),
        },
    ),
    "exports.quota_template": (
        "GET",
        {
            "x": (lambda w: f"/ke-hoach/{w['plan_x']}/mau-chi-tieu.xlsx", REVIEW_X),
            "y": (lambda w: f"/ke-hoach/{w['plan_y']}/mau-chi-tieu.xlsx", REVIEW_Y),
        },
    ),
    "plans.create": ("GET", {"": (lambda w: "/ke-hoach/moi", REVIEWERS)}),
    **{
        endpoint: (
            method,
            {
                "x": (partial(lambda tail, w: f"/ke-hoach/{w['plan_x']}/{tail}", t), REVIEW_X),
                "y": (partial(lambda tail, w: f"/ke-hoach/{w['plan_y']}/{tail}", t), REVIEW_Y),
                "missing": (partial(lambda tail, w: f"/ke-hoach/999999/{tail}", t), MISSING_REVIEW),
            },
        )
        for endpoint, method, t in [
            ("plans.edit", "GET", "sua"),
            ("plans.cite", "POST", "van-ban"),
            ("plans.status", "POST", "trang-thai"),
            # No choice sent: managers are sent back with a message, nothing changes.
            ("plans.publish", "POST", "cong-khai"),
            # The plans have drives: managers get the refusal, nothing is deleted.
            ("plans.remove", "POST", "xoa"),
            ("plans.new_drive", "GET", "dot/moi"),
            ("plans.quotas", "GET", "chi-tieu"),
        ]
    },
    "plans.uncite": (
        "POST",
        {"no such document": (lambda w: f"/ke-hoach/{w['plan_x']}/van-ban/999999/xoa", NONE_X)},
    ),
    # Drive X has a result: managers are sent back with the refusal, nothing is deleted.
    "plans.remove_drive": (
        "POST",
        {
            "x": (lambda w: f"/ke-hoach/{w['plan_x']}/dot/{w['drive_x']}/xoa", REVIEW_X),
            "y": (lambda w: f"/ke-hoach/{w['plan_y']}/dot/{w['drive_y']}/xoa", REVIEW_Y),
            "missing": (lambda w: f"/ke-hoach/{w['plan_x']}/dot/999999/xoa", NONE_X),
        },
    ),
    **{
        endpoint: (
            "GET",
            {
                "x": (
                    partial(lambda t, w: f"/ke-hoach/{w['plan_x']}/dot/{w['drive_x']}/{t}", tail),
                    REVIEW_X,
                ),
                "y": (
                    partial(lambda t, w: f"/ke-hoach/{w['plan_y']}/dot/{w['drive_y']}/{t}", tail),
                    REVIEW_Y,
                ),
                "drive of another plan": (
                    partial(lambda t, w: f"/ke-hoach/{w['plan_x']}/dot/{w['drive_y']}/{t}", tail),
                    NONE_X,
                ),
            },
        )
        for endpoint, tail in [("plans.edit_drive", "sua"), ("plans.results_grid", "ket-qua")]
    },
    # Everyone signed in sees the units of their own scope (a reporter: their own units).
    "units.tree": ("GET", {"": (lambda w: "/don-vi/", SIGNED_IN)}),
    "units.create": ("GET", {"": (lambda w: "/don-vi/moi", REVIEWERS)}),
    "units.merge": ("GET", {"": (lambda w: "/don-vi/gop", REVIEWERS)}),
    # The world's province has no official code and another name: only an administrator
    # may add Thanh Hóa as a new root.
    "units.official": (
        "GET",
        {
            "": (lambda w: "/don-vi/danh-muc-2025", REVIEWERS),
            "province": (lambda w: "/don-vi/danh-muc-2025?tinh=38", ADMIN_ONLY),
        },
    ),
    **{
        endpoint: (
            method,
            {
                "x": (partial(lambda t, w: f"/don-vi/{w['a']}/{t}", tail), REVIEW_X),
                "y": (partial(lambda t, w: f"/don-vi/{w['b']}/{t}", tail), REVIEW_Y),
                "missing": (partial(lambda t, w: f"/don-vi/999999/{t}", tail), MISSING_REVIEW),
            },
        )
        for endpoint, method, tail in [
            ("units.edit", "GET", "sua"),
            ("units.deactivate", "POST", "ngung"),
        ]
    },
    "tokens.index": ("GET", {"": (lambda w: "/tai-khoan/ma-truy-cap/", SIGNED_IN)}),
    "tokens.revoke": (
        "POST",
        {"missing": (lambda w: "/tai-khoan/ma-truy-cap/999999/thu-hoi", MISSING)},
    ),
    # The API answers 401 instead of sending anyone to sign in; a browser's session works too.
    "api-docs.openapi_json": ("GET", {"": (lambda w: "/api/v1/openapi.json", ALL_OK)}),
    "api.list_units": ("GET", {"": (lambda w: "/api/v1/units", API_SIGNED_IN)}),
    "api.list_plans": ("GET", {"": (lambda w: "/api/v1/plans", API_SIGNED_IN)}),
    "api.create_unit": ("POST", {"no body": (lambda w: "/api/v1/units", API_BAD_BODY)}),
    "api.create_plan": ("POST", {"no body": (lambda w: "/api/v1/plans", API_BAD_BODY)}),
    **{
        endpoint: (
            "GET",
            {
                "x": (partial(lambda t, w: f"/api/v1/plans/{w['plan_x']}{t}", tail), API_SEE_X),
                "y": (partial(lambda t, w: f"/api/v1/plans/{w['plan_y']}{t}", tail), API_SEE_Y),
                "missing": (partial(lambda t, w: f"/api/v1/plans/999999{t}", tail), API_MISSING),
            },
        )
        for endpoint, tail in [
            ("api.get_plan", ""),
            ("api.list_quotas", "/quotas"),
            ("api.list_drives", "/drives"),
            ("api.plan_summary", "/summary"),
            ("api.plan_progress", "/progress"),
            ("api.plan_summary_workbook", "/summary.xlsx"),
        ]
    },
    "api.update_plan": (
        "PATCH",
        {"x": (lambda w: f"/api/v1/plans/{w['plan_x']}", API_BAD_BODY)},
    ),
    "api.set_quotas": (
        "PUT",
        {"x": (lambda w: f"/api/v1/plans/{w['plan_x']}/quotas", API_BAD_BODY)},
    ),
    "api.create_drive": (
        "POST",
        {"x": (lambda w: f"/api/v1/plans/{w['plan_x']}/drives", API_BAD_BODY)},
    ),
    # A drive changes for its plan's organisers; an empty change changes nothing.
    "api.update_drive": (
        "PATCH",
        {
            "x": (
                lambda w: f"/api/v1/drives/{w['drive_x']}",
                by_role(anonymous=401, org_x=K, admin=K, others=F),
            ),
            "missing": (lambda w: "/api/v1/drives/999999", API_MISSING),
        },
    ),
    "api.drive_reporting": (
        "GET",
        {
            "x": (lambda w: f"/api/v1/drives/{w['drive_x']}/reporting", API_REPORT_X),
            "y": (lambda w: f"/api/v1/drives/{w['drive_y']}/reporting", API_REPORT_Y),
            "missing": (lambda w: "/api/v1/drives/999999/reporting", API_MISSING),
        },
    ),
    "api.list_results": (
        "GET",
        {
            "x": (lambda w: f"/api/v1/drives/{w['drive_x']}/results", API_REPORT_X),
            "y": (lambda w: f"/api/v1/drives/{w['drive_y']}/results", API_REPORT_Y),
            "missing": (lambda w: "/api/v1/drives/999999/results", API_MISSING),
        },
    ),
    # Without If-Match an existing result is not overwritten (409); outside the scope, 403.
    "api.save_result": (
        "PUT",
        {
            "x": (lambda w: result_api(w, "x"), API_SAVE_X),
            "y": (lambda w: result_api(w, "y"), API_SAVE_Y),
        },
    ),
    # Approving needs no body, so reviewers approve; returning without a reason is 422,
    # checked before the scope.
    "api.approve_result": (
        "POST",
        {
            "x": (lambda w: f"{result_api(w, 'x')}/approve", REVIEW_X_API),
            "y": (lambda w: f"{result_api(w, 'y')}/approve", REVIEW_Y_API),
        },
    ),
    "api.return_result": (
        "POST",
        {
            "x": (lambda w: f"{result_api(w, 'x')}/return", API_BAD_BODY),
            "y": (lambda w: f"{result_api(w, 'y')}/return", API_BAD_BODY),
        },
    ),
    **{
        endpoint: (
            "GET",
            {
                "x": (partial(lambda t, key, w: t.format(w[key + "x"]), tail, key), REVIEW_X),
                "y": (partial(lambda t, key, w: t.format(w[key + "y"]), tail, key), REVIEW_Y),
                "missing": (partial(lambda t, w: t.format(999999), tail), MISSING_REVIEW),
            },
        )
        for endpoint, tail, key in [
            ("imports.units", "/don-vi/{}/nhap-excel", "unit_"),
            ("imports.quotas", "/ke-hoach/{}/nhap-chi-tieu", "plan_"),
            ("imports.results", "/dot/{}/nhap-ket-qua", "drive_"),
        ]
    },
    # An upload is its owner's alone; one that does not exist is 404 to any organiser.
    "imports.preview": ("GET", {"missing": (lambda w: "/nhap-excel/nope", MISSING_REVIEW)}),
    "imports.confirm": ("POST", {"missing": (lambda w: "/nhap-excel/nope", MISSING_REVIEW)}),
    "imports.discard": ("POST", {"missing": (lambda w: "/nhap-excel/nope/huy", MISSING_REVIEW)}),
    "history.show": (
        "GET",
        {
            "x": (
                lambda w: f"/lich-su/result/{w['result_x']}",
                by_role(anonymous=L, rep_b=F, org_y=F, others=K),
            ),
            "y": (lambda w: f"/lich-su/result/{w['result_y']}", REPORT_Y),
            "plan x": (
                lambda w: f"/lich-su/plan/{w['plan_x']}",
                by_role(anonymous=L, org_x=K, leader_x=K, admin=K, others=F),
            ),
            "account": (lambda w: f"/lich-su/user_account/{w['other']}", ADMIN_ONLY),
            "missing": (lambda w: "/lich-su/result/999999", MISSING),
            "unknown kind": (lambda w: "/lich-su/password/1", MISSING),
        },
    ),
}


def _fast_hash(password: str) -> str:
    # Seven accounts a module: scrypt would cost more than the requests themselves.
    return generate_password_hash(password, method="pbkdf2:sha256:1")


@pytest.fixture(scope="module")
def world(migrated: str) -> Iterator[tuple[Flask, dict[str, Any]]]:
    app = make_app(migrated)
    app.test_client_class = RequestClient
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setattr("campaign.models.users.generate_password_hash", _fast_hash)
        province = f.unit("Tỉnh", "province")
        x, y = f.unit("Huyện X", "district", province), f.unit("Huyện Y", "district", province)
        a, b = f.unit("Xã A", "commune", x), f.unit("Xã B", "commune", y)
        plan_x, plan_y = f.plan(x), f.plan(y)
        drive_x, drive_y = f.drive(plan_x), f.drive(plan_y)
        result_x, result_y = f.result(drive_x, a, 5), f.result(drive_y, b, 7)
        plans.set_public(plan_x, True)
        accounts = {
            "rep_a": f.user("reporter", [a]),
            "rep_b": f.user("reporter", [b]),
            "org_x": f.user("organiser", [x]),
            "org_y": f.user("organiser", [y]),
            "leader_x": f.user("leader", [x]),
            "admin": f.user("admin"),
        }
        other = f.user("reporter", [b])
        f.commit()
        ids = {
            "a": a.id,
            "b": b.id,
            "plan_x": plan_x.id,
            "plan_y": plan_y.id,
            "drive_x": drive_x.id,
            "drive_y": drive_y.id,
            "result_x": result_x.id,
            "result_y": result_y.id,
            "a_code": a.code,
            "unit_x": a.id,
            "unit_y": b.id,
            "b_code": b.code,
            "other": other.id,
            "slug_x": plan_x.public_slug,
            "usernames": {role: user.username for role, user in accounts.items()},
        }
        db.session.remove()
    yield app, ids
    with app.app_context():
        empty_tables()
        db.engine.dispose()


def _client(app: Flask, ids: dict[str, Any], role: str):
    client = app.test_client()
    if role != "anonymous":
        response = client.post(
            "/dang-nhap", data={"username": ids["usernames"][role], "password": f.PASSWORD}
        )
        assert response.status_code == 302, role
    return client


def outcome(response) -> str | int:
    response.close()
    location = response.headers.get("Location", "")
    if response.status_code == 302 and "/dang-nhap?next=" in location:
        return L
    return K if response.status_code < 400 else response.status_code


def test_every_route_has_a_row(world):
    app, _ids = world
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(ROWS)


@pytest.mark.parametrize("endpoint", sorted(ROWS))
def test_access(world, endpoint):
    app, ids = world
    method, variants = ROWS[endpoint]
    clients = {role: _client(app, ids, role) for role in ROLES}
    got, expected = {}, {}
    for variant, (url, outcomes) in variants.items():
        for role, want in outcomes.items():
            response = clients[role].open(url(ids), method=method)
            got[variant, role], expected[variant, role] = outcome(response), want
    assert got == expected
