"""Every form of the app and every API body, fed the same bad values.

Whatever is typed, the answer is never a 500: a page answers 4xx, or shows the form again
with a message, or sends the user on with an error; the API answers 4xx in its one JSON
shape. What is refused writes nothing. A value may be taken only where ``accepts`` says
that it is an ordinary input there (an empty version means "not checked", an empty quota
removes it...).

As in ``test_access.py``, the walk starts from the route table: a POST route without an
entry in ``FORMS``, or a POST/PUT/PATCH endpoint of the API without one in ``BODIES``,
fails ``test_every_form_and_body_is_walked``. Fields come from the form classes and the
marshmallow schemas, so a new field is walked without being listed.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash
from wtforms import IntegerField
from wtforms.fields.core import UnboundField

from campaign.admin.forms import AccountForm, NewAccountForm
from campaign.api import schemas as s
from campaign.auth.forms import LoginForm, PasswordChangeForm
from campaign.extensions import db, limiter
from campaign.imports.forms import ConfirmForm, UploadForm
from campaign.models import (
    ApiToken,
    AuditEntry,
    Drive,
    ImportKind,
    OrgUnit,
    PendingImport,
    Plan,
    PlanDocument,
    Quota,
    Result,
    UnitMove,
    User,
)
from campaign.numbers import MAX_COUNT
from campaign.plans.forms import DocumentForm, DriveForm, PlanForm, PublicForm, StatusForm
from campaign.reports.forms import ReasonForm, ResultForm, VersionForm
from campaign.services import pending_imports, plans, tokens
from campaign.units.forms import DeactivateForm, MergeForm, OfficialImportForm, UnitForm
from tests import factories as f
from tests.test_imports import xlsx

#: The fixed set of bad values, as a person or a program could send them.
BAD: dict[str, Any] = {
    "empty": "",
    "negative": "-1",
    "2^63": str(2**63),
    "superscript": "²",
    "nul": "\x00",
    "long": "x" * 20_000,
    "surrogate": "\ud800",
    "wrong type": "mười hai",
}
#: For the API the wrong type is a JSON object, and numbers are JSON numbers.
API_BAD: dict[str, Any] = {
    **BAD,
    "negative": -1,
    "2^63": 2**63,
    "past the bound": MAX_COUNT + 1,
    "wrong type": {"a": [1]},
}
#: What a numeric field is fed on its own, the other fields being valid.
NUMERIC_BAD = ("empty", "negative", "2^63", "superscript", "wrong type")
ALL = frozenset(BAD) | frozenset(API_BAD)
#: Refusals that are recorded on purpose: they are not writes.
REFUSALS_RECORDED = ("auth.failed", "access.refused")


# --- the world -----------------------------------------------------------------------


@pytest.fixture
def w(app: Flask, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(
        "campaign.models.users.generate_password_hash",
        lambda p: generate_password_hash(p, method="pbkdf2:sha256:1"),
    )
    district, (a, b) = f.district_with_communes(["Quảng Bình", "Quảng Hải"])
    plan = f.plan(district)
    plans.set_quotas(plan, {a: 40})
    drive = f.drive(plan)
    result = f.result(drive, a, 5)
    document = plans.cite_document(
        plan, number="78/BCĐTH", issued_on=date(2021, 4, 29), issuer="BCĐ tỉnh"
    )
    organiser = f.user("organiser", [district])
    reporter = f.user("reporter", [a, b])
    admin = f.user("admin")
    other = f.user("reporter", [b])
    token, secret = tokens.create_token(organiser, "hệ thống")
    clean = xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Hải", 12])
    pending = pending_imports.store(organiser, ImportKind.QUOTAS, plan.id, "a.xlsx", clean)
    f.commit()
    return {
        "district": district.id,
        "a": a.id,
        "b": b.id,
        "a_code": a.code,
        "b_code": b.code,
        "plan": plan.id,
        "drive": drive.id,
        "result": result.id,
        "version": result.version,
        "document": document.id,
        "token": token.id,
        "pending": pending.token,
        "other": other.id,
        "users": {"organiser": organiser, "reporter": reporter, "admin": admin},
        "api": {"Authorization": f"Bearer {secret}"},
    }


TABLES = (
    OrgUnit,
    UnitMove,
    Plan,
    PlanDocument,
    Drive,
    Quota,
    Result,
    User,
    ApiToken,
    PendingImport,
)


def written() -> tuple[int, ...]:
    """Rows of the main tables, uploads and audit entries (every change has one), in one query."""
    db.session.rollback()
    counts = [select(func.count()).select_from(t).scalar_subquery() for t in TABLES]
    audit = select(func.count()).where(AuditEntry.action.not_in(REFUSALS_RECORDED))
    return tuple(db.session.execute(select(*counts, audit.scalar_subquery())).one())


# --- the forms -----------------------------------------------------------------------


def form_fields(form_class: type) -> tuple[list[str], list[str]]:
    """A form class's field names, and those that are read as numbers."""
    names, numeric = [], []
    for name, unbound in inspect.getmembers(form_class, lambda v: isinstance(v, UnboundField)):
        if name == "csrf_token":
            continue
        names.append(name)
        if (
            unbound.field_class is IntegerField
            or unbound.kwargs.get("coerce") is int
            or name == "version"
        ):
            numeric.append(name)
    return names, numeric


@dataclass
class Form:
    url: Callable[[dict[str, Any]], str]
    #: Who fills it: one of ``w["users"]``.
    who: str
    #: A form class, or the field names of a grid.
    fields: type | Callable[[dict[str, Any]], list[str]]
    #: Valid values for every field, for the runs that make one numeric field bad.
    valid: Callable[[dict[str, Any]], dict[str, str]] = lambda w: {}
    #: Bad values that are ordinary input here and may be taken.
    accepts: frozenset[str] = frozenset()
    #: Numeric fields of a grid (a form class says its own).
    numeric: Callable[[dict[str, Any]], list[str]] = lambda w: []
    prefix: str = ""

    def names(self, w: dict[str, Any]) -> tuple[list[str], list[str]]:
        if isinstance(self.fields, type):
            names, numeric = form_fields(self.fields)
            return [self.prefix + n for n in names], [self.prefix + n for n in numeric]
        return self.fields(w), self.numeric(w)


def _plan(w: dict[str, Any]) -> dict[str, str]:
    return {
        "number": "16/KH-BCĐ",
        "issued_on": "2022-03-01",
        "issuer_id": str(w["district"]),
        "title": "Hiến máu năm 2022",
        "year": "2022",
        "counting_rule": "bag",
        "parent_id": "0",
        "compare_with_id": "auto",
        "note": "",
    }


def _unit(w: dict[str, Any]) -> dict[str, str]:
    return {
        "code": "QX-MOI",
        "name": "Xã Mới",
        "kind": "commune",
        "official_code": "16543",
        "parent_id": str(w["district"]),
        "valid_from": "",
        "valid_to": "",
        "contact_name": "",
        "contact_phone": "",
        "moved_on": "",
    }


def _drive(w: dict[str, Any]) -> dict[str, str]:
    return {"name": "Đợt 2", "starts_on": "2021-09-01", "ends_on": "2021-09-01", "site": ""}


def _counts(prefix: str = "") -> dict[str, str]:
    counts = {"registered": "3", "deferred": "1", "bags_250": "2"}
    return {f"{prefix}{k}": v for k, v in counts.items()} | {
        f"{prefix}bags_350": "0",
        f"{prefix}bags_450": "0",
    }


def _grid_row(w: dict[str, Any]) -> list[str]:
    return [f"r-{w['b']}-{name}" for name in _counts()] + [f"r-{w['a']}-version"]


def _result_url(tail: str) -> Callable[[dict[str, Any]], str]:
    return lambda w: f"/bao-cao/ket-qua/{w['result']}/{tail}"


def _version(w: dict[str, Any]) -> dict[str, str]:
    return {"version": str(w["version"]), "reason": "Sai số liệu"}


NO_FIELDS: Callable[[dict[str, Any]], list[str]] = lambda w: []  # noqa: E731
ANYTHING = ALL  # the route reads no field, or none it could refuse

#: endpoint -> the form it takes.
FORMS: dict[str, Form] = {
    "auth.login": Form(lambda w: "/dang-nhap", "", LoginForm),
    "auth.logout": Form(lambda w: "/dang-xuat", "reporter", NO_FIELDS, accepts=ANYTHING),
    "auth.change_password": Form(lambda w: "/doi-mat-khau", "reporter", PasswordChangeForm),
    "main.language": Form(lambda w: "/ngon-ngu", "reporter", lambda w: ["lang"], accepts=ALL),
    "admin.new_account": Form(
        lambda w: "/quan-tri/tai-khoan/moi",
        "admin",
        NewAccountForm,
        # A full name or a scope may be left empty; a username is then still missing.
    ),
    "admin.account": Form(
        lambda w: f"/quan-tri/tai-khoan/{w['other']}",
        "admin",
        AccountForm,
        valid=lambda w: {"full_name": "", "role": "reporter", "units": w["b_code"]},
    ),
    "admin.set_enabled": Form(
        lambda w: f"/quan-tri/tai-khoan/{w['other']}/trang-thai",
        "admin",
        lambda w: ["enabled"],
        accepts=ANYTHING,  # anything but "1" disables
    ),
    "admin.reset_password": Form(
        lambda w: f"/quan-tri/tai-khoan/{w['other']}/mat-khau", "admin", NO_FIELDS, accepts=ALL
    ),
    # An empty target is no target; every other empty field is refused.
    "plans.create": Form(
        lambda w: "/ke-hoach/moi", "organiser", PlanForm, valid=_plan, accepts=frozenset({"empty"})
    ),
    "plans.edit": Form(
        lambda w: f"/ke-hoach/{w['plan']}/sua",
        "organiser",
        PlanForm,
        valid=_plan,
        accepts=frozenset({"empty"}),
    ),
    "plans.status": Form(lambda w: f"/ke-hoach/{w['plan']}/trang-thai", "organiser", StatusForm),
    "plans.publish": Form(lambda w: f"/ke-hoach/{w['plan']}/cong-khai", "organiser", PublicForm),
    "plans.cite": Form(
        lambda w: f"/ke-hoach/{w['plan']}/van-ban", "organiser", DocumentForm, prefix="doc-"
    ),
    "plans.uncite": Form(
        lambda w: f"/ke-hoach/{w['plan']}/van-ban/{w['document']}/xoa",
        "organiser",
        NO_FIELDS,
        accepts=ALL,
    ),
    # The plan has a drive and the drive a result: both stay, with the reason.
    "plans.remove": Form(lambda w: f"/ke-hoach/{w['plan']}/xoa", "organiser", NO_FIELDS),
    "plans.remove_drive": Form(
        lambda w: f"/ke-hoach/{w['plan']}/dot/{w['drive']}/xoa", "organiser", NO_FIELDS
    ),
    "plans.new_drive": Form(
        lambda w: f"/ke-hoach/{w['plan']}/dot/moi", "organiser", DriveForm, valid=_drive
    ),
    "plans.edit_drive": Form(
        lambda w: f"/ke-hoach/{w['plan']}/dot/{w['drive']}/sua",
        "organiser",
        DriveForm,
        valid=_drive,
    ),
    "plans.quotas": Form(
        lambda w: f"/ke-hoach/{w['plan']}/chi-tieu",
        "organiser",
        lambda w: [f"q-{w[u]}-{name}" for u in "ab" for name in ("amount", "headcount")],
        valid=lambda w: {f"q-{w['a']}-amount": "40", f"q-{w['b']}-amount": "12"},
        numeric=lambda w: [f"q-{w[u]}-{name}" for u in "ab" for name in ("amount", "headcount")],
        accepts=frozenset({"empty"}),  # an emptied field removes the quota or the headcount
    ),
    "plans.results_grid": Form(
        lambda w: f"/ke-hoach/{w['plan']}/dot/{w['drive']}/ket-qua",
        "organiser",
        _grid_row,
        valid=lambda w: _counts(f"r-{w['b']}-"),
        numeric=_grid_row,
        accepts=frozenset({"empty"}),  # an empty row is a unit not reported yet
    ),
    "reports.report": Form(
        lambda w: f"/bao-cao/don-vi/{w['b']}/dot/{w['drive']}",
        "reporter",
        ResultForm,
        valid=lambda w: _counts() | {"version": "", "save": "1"},
        accepts=frozenset({"empty"}),  # no version: the unit's first report
    ),
    # No version means "as it is now": the action may be taken.
    "reports.withdraw": Form(
        lambda w: f"/bao-cao/don-vi/{w['a']}/dot/{w['drive']}/rut-lai",
        "reporter",
        VersionForm,
        valid=_version,
        accepts=frozenset({"empty"}),
    ),
    "reports.approve": Form(
        _result_url("duyet"), "organiser", VersionForm, valid=_version, accepts=frozenset({"empty"})
    ),
    "reports.return_": Form(
        _result_url("tra-lai"),
        "organiser",
        ReasonForm,
        valid=_version,
        accepts=frozenset({"empty"}),
    ),
    "reports.reopen": Form(_result_url("mo-lai"), "organiser", ReasonForm, valid=_version),
    # No field but the CSRF token; no mail server in the tests, so nothing is sent either way.
    "reports.remind": Form(
        lambda w: f"/bao-cao/dot/{w['drive']}/nhac", "organiser", NO_FIELDS, accepts=ANYTHING
    ),
    "reports.approve_many": Form(
        lambda w: "/bao-cao/duyet/nhieu",
        "organiser",
        lambda w: ["result"],
        valid=lambda w: {"result": f"{w['result']}:{w['version']}"},
        numeric=lambda w: ["result"],
    ),
    "units.create": Form(lambda w: "/don-vi/moi", "organiser", UnitForm, valid=_unit),
    "units.edit": Form(lambda w: f"/don-vi/{w['b']}/sua", "organiser", UnitForm, valid=_unit),
    "units.deactivate": Form(lambda w: f"/don-vi/{w['b']}/ngung", "organiser", DeactivateForm),
    "units.merge": Form(
        lambda w: "/don-vi/gop",
        "organiser",
        MergeForm,
        valid=lambda w: {
            "sources": str(w["b"]),
            "starts_on": "2025-07-01",
            "target_id": str(w["a"]),
            "code": "",
            "name": "",
            "kind": "commune",
            "parent_id": str(w["district"]),
        },
    ),
    "units.official": Form(lambda w: "/don-vi/danh-muc-2025", "admin", OfficialImportForm),
    "tokens.revoke": Form(
        lambda w: f"/tai-khoan/ma-truy-cap/{w['token']}/thu-hoi",
        "organiser",
        NO_FIELDS,
        accepts=ALL,
    ),
    "imports.units": Form(lambda w: f"/don-vi/{w['district']}/nhap-excel", "organiser", UploadForm),
    "imports.quotas": Form(
        lambda w: f"/ke-hoach/{w['plan']}/nhap-chi-tieu", "organiser", UploadForm
    ),
    "imports.results": Form(lambda w: f"/dot/{w['drive']}/nhap-ket-qua", "organiser", UploadForm),
    # The stored file is clean: only a fingerprint other than the preview's is refused.
    "imports.confirm": Form(lambda w: f"/nhap-excel/{w['pending']}", "organiser", ConfirmForm),
    "imports.discard": Form(
        lambda w: f"/nhap-excel/{w['pending']}/huy", "organiser", NO_FIELDS, accepts=ALL
    ),
}


def _encode(data: dict[str, str]) -> str:
    # A lone surrogate has no UTF-8 form: send the bytes a careless client would.
    return urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in data.items()})


def _outcome(client, response) -> str:
    """``refused`` (4xx, or a message shown) or ``taken``; a 500 fails here."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        return "refused"
    if response.status_code in (301, 302, 303):
        # The next page would show the flashed messages: read them where they wait.
        with client.session_transaction() as session:
            flashed = session.pop("_flashes", [])
        return "refused" if any(category == "error" for category, _ in flashed) else "taken"
    page = response.get_data(as_text=True)
    return "refused" if 'class="error' in page else "taken"


def _sign_in(client, w: dict[str, Any], who: str) -> None:
    limiter.reset()  # the walk's wrong passwords must not throttle its own sign-ins
    with client.session_transaction() as session:
        session.clear()
    if who:
        db.session.rollback()
        user = db.session.get(User, w["users"][who].id)
        client.post("/dang-nhap", data={"username": user.username, "password": f.PASSWORD})


def _requests(spec: Form, w: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """Every field with one bad value at once; then each numeric field alone."""
    names, numeric = spec.names(w)
    for bad, value in BAD.items():
        yield bad, dict.fromkeys(names or ["x"], value)
    valid = spec.valid(w)
    for name in numeric:
        for bad in NUMERIC_BAD:
            yield bad, {**valid, name: BAD[bad]}


def test_every_form_and_body_is_walked(app: Flask) -> None:
    posts = {r.endpoint for r in app.url_map.iter_rules() if r.methods & {"POST", "PUT", "PATCH"}}
    assert {e for e in posts if not e.startswith("api.")} == set(FORMS)
    assert {e for e in posts if e.startswith("api.")} == set(BODIES)


@pytest.mark.parametrize("endpoint", sorted(FORMS))
def test_a_form_refuses_bad_values_with_a_message_and_writes_nothing(client, w, endpoint):
    spec = FORMS[endpoint]
    _sign_in(client, w, spec.who)
    for bad, data in _requests(spec, w):
        before = written()
        response = client.post(
            spec.url(w), data=_encode(data), content_type="application/x-www-form-urlencoded"
        )
        got = _outcome(client, response)
        if got == "refused":
            assert written() == before, (bad, data)
        else:
            assert bad in spec.accepts, (bad, {k: v[:20] for k, v in data.items()})
        if endpoint in ("auth.logout", "auth.change_password", "admin.reset_password"):
            _sign_in(client, w, spec.who)  # these end the session


@pytest.mark.parametrize("bad", ["nul", "surrogate", "long", "empty"])
def test_an_upload_with_a_bad_file_name_is_never_a_500(client, w, bad):
    _sign_in(client, w, "organiser")
    name = (BAD[bad] + ".xlsx").encode("utf-8", "surrogatepass")  # the bytes, as sent
    workbook = xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Hải", 12])
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + workbook + b"\r\n--B--\r\n"
    )
    response = client.post(
        f"/ke-hoach/{w['plan']}/nhap-chi-tieu",
        data=body,
        content_type="multipart/form-data; boundary=B",
    )
    # Stored under a name the database takes, refused (NUL), or asked for again (a name
    # that is not UTF-8 is no name).
    assert response.status_code in (302, 400) or _outcome(client, response) == "refused"
    db.session.rollback()
    names = db.session.scalars(select(PendingImport.filename)).all()
    assert all(len(n) <= 255 and "\x00" not in n for n in names)


# --- the API -------------------------------------------------------------------------


@dataclass
class Body:
    method: str
    url: Callable[[dict[str, Any]], str]
    #: The schema that reads the body; its fields are walked. ``None``: no body is read.
    schema: type[ma.Schema] | None
    valid: Callable[[dict[str, Any]], dict[str, Any]] = lambda w: {}
    #: Field -> bad values that are ordinary input there.
    accepts: dict[str, frozenset[str]] = field(default_factory=dict)
    many: bool = False


TEXT_OK = frozenset({"negative", "superscript"})  # "-1" and "²" are text like any other


def _result_api(w: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/drives/{w['drive']}/results/{w['a_code']}{tail}"


BODIES: dict[str, Body] = {
    "api.create_unit": Body(
        "POST",
        lambda w: "/api/v1/units",
        s.UnitIn,
        lambda w: {
            "code": "QX-MOI",
            "name": "Xã Mới",
            "kind": "commune",
            "parent_code": w["b_code"],
        },
        # An empty official code is no code.
        accepts={"code": TEXT_OK, "name": TEXT_OK, "official_code": TEXT_OK | {"empty"}},
    ),
    "api.create_plan": Body(
        "POST",
        lambda w: "/api/v1/plans",
        s.PlanIn,
        lambda w: {
            "number": "16/KH-BCĐ",
            "issued_on": "2022-03-01",
            "issuer_code": w["b_code"],
            "title": "Hiến máu năm 2022",
            "year": 2022,
        },
        accepts={"title": TEXT_OK},
    ),
    "api.create_drive": Body(
        "POST",
        lambda w: f"/api/v1/plans/{w['plan']}/drives",
        s.DriveSchema,
        lambda w: {"name": "Đợt 2", "starts_on": "2021-09-01", "ends_on": "2021-09-01"},
        accepts={"name": TEXT_OK, "site": TEXT_OK | {"empty"}},
    ),
    "api.update_plan": Body(
        "PATCH", lambda w: f"/api/v1/plans/{w['plan']}", s.PlanPatch, lambda w: {"public": True}
    ),
    "api.update_drive": Body(
        "PATCH",
        lambda w: f"/api/v1/drives/{w['drive']}",
        s.DrivePatch,
        lambda w: {"name": "Đợt 2", "site": "Hội trường"},
        accepts={"name": TEXT_OK, "site": TEXT_OK | {"empty"}},
    ),
    "api.set_quotas": Body(
        "PUT",
        lambda w: f"/api/v1/plans/{w['plan']}/quotas",
        s.QuotaSchema,
        lambda w: {"unit_code": w["b_code"], "quota": 12},
        many=True,
    ),
    "api.save_result": Body(
        "PUT",
        _result_api,
        s.ResultSchema,
        lambda w: {"registered": 3, "deferred": 1, "bags_250": 2},
    ),
    "api.approve_result": Body("POST", lambda w: _result_api(w, "/approve"), None),
    "api.return_result": Body(
        "POST",
        lambda w: _result_api(w, "/return"),
        s.ReturnSchema,
        lambda w: {"reason": "Sai"},
        accepts={"reason": TEXT_OK},
    ),
}


def _api_error(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.data[:300])
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]


def _json(value: Any) -> bytes:
    # Escaped, so "\ud800" arrives as valid JSON that decodes to a lone surrogate.
    return json.dumps(value).encode("ascii")


@pytest.mark.parametrize("endpoint", sorted(BODIES))
def test_an_api_body_refuses_bad_values_in_the_error_shape_and_writes_nothing(client, w, endpoint):
    spec = BODIES[endpoint]
    loaded = [n for n, f in spec.schema().load_fields.items()] if spec.schema else ["x"]
    valid = spec.valid(w)
    cases: list[tuple[str, str, Any]] = [
        ("body", bad, value) for bad, value in API_BAD.items() if bad != "empty"
    ]
    cases += [(name, bad, value) for name in loaded for bad, value in API_BAD.items()]
    for name, bad, value in cases:
        if name == "body":
            body = value  # the whole body of the wrong shape
        else:
            row = (
                {**valid, spec.schema().fields[name].data_key or name: value} if spec.schema else {}
            )
            body = [row] if spec.many else row
        before = written()
        response = client.open(
            spec.url(w),
            method=spec.method,
            data=_json(body),
            content_type="application/json",
            headers=w["api"],
        )
        if response.status_code < 300:
            assert spec.schema is None or bad in spec.accepts.get(name, ()), (name, bad)
            continue
        _api_error(response)
        assert written() == before, (name, bad)


@pytest.mark.parametrize("bad", sorted(BAD))
def test_an_if_match_the_api_cannot_read_is_refused_in_the_error_shape(client, w, bad):
    value = BAD[bad].encode("utf-8", "surrogatepass").decode("latin-1")
    before = written()
    response = client.put(
        _result_api(w),
        json={"registered": 3, "bags_250": 2},
        headers={**w["api"], "If-Match": value},
    )
    _api_error(response)
    assert written() == before
