"""Input that once ended in a 500: ids and versions ``int()`` cannot read or the database
cannot hold, counts past the one bound every way in shares, JSON Python cannot read, a NUL
in an upload's name. Each is refused with a message and nothing is written."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from campaign.extensions import db
from campaign.models import AuditEntry, PendingImport, Quota, Result, ResultState
from campaign.numbers import MAX_COUNT, MAX_ID, parse_id
from campaign.plans import grids
from campaign.services import imports, plans, results, tokens
from campaign.services.errors import ServiceError
from campaign.spreadsheets.reading import NotANumber, TooLarge, whole_number
from tests import factories as f
from tests.test_imports import xlsx

#: Past a 32-bit column (PostgreSQL), past a 64-bit one (SQLite), past ``int()``'s digits.
HUGE = [str(2**31), str(2**63), "9" * 20, "1" * 5000]


@pytest.fixture
def w(app, monkeypatch):
    monkeypatch.setattr(
        "campaign.models.users.generate_password_hash",
        lambda p: generate_password_hash(p, method="pbkdf2:sha256:1"),
    )
    district, (a, b) = f.district_with_communes(["Quảng Bình", "Quảng Hải"])
    plan = f.plan(district)
    plans.set_quotas(plan, {a: 40})
    drive = f.drive(plan)
    result = f.result(drive, a, 5)
    organiser = f.user("organiser", [district])
    reporter = f.user("reporter", [a, b])
    token = tokens.create_token(organiser, "test")[1]
    f.commit()
    return {
        "district": district,
        "a": a,
        "b": b,
        "plan": plan,
        "drive": drive,
        "result": result,
        "organiser": organiser,
        "reporter": reporter,
        "api": {"Authorization": f"Bearer {token}"},
    }


def written() -> tuple[int, ...]:
    """Rows of what a refused request must leave alone."""
    db.session.rollback()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Quota, Result, AuditEntry, PendingImport)
    )


def result_state(w) -> tuple[str, int, int]:
    db.session.rollback()
    result = db.session.get(Result, w["result"].id)
    return result.state, result.version, result.bags_250


def api_error(response) -> dict:
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


# --- the one parser ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("42", 42), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("²", None)]
    + [("٣", None), ("-1", None), (" 1", None), ("1_000", None), ("", None), (None, None)]
    + [("9" * 20, None), ("1" * 5000, None), ("1\n", None)],
)
def test_parse_id_reads_ascii_digits_within_range_only(text, expected):
    assert parse_id(text) == expected


# --- versions and ids in forms and the query string ----------------------------------


def test_a_damaged_version_in_the_result_form_is_refused_with_a_message(client, auth, w):
    auth.sign_in(w["reporter"])
    before = written()
    response = client.post(
        f"/bao-cao/don-vi/{w['b'].id}/dot/{w['drive'].id}",
        data={"registered": "9", "deferred": "0", "bags_250": "9", "bags_350": "0"}
        | {"bags_450": "0", "version": "²", "save": "1"},
    )
    assert response.status_code == 200
    assert 'value="9"' in response.get_data(as_text=True)  # what was typed, shown again
    assert "tải lại trang" in response.get_data(as_text=True)
    assert written() == before


@pytest.mark.parametrize("version", ["²", "1" * 30, "abc"])
@pytest.mark.parametrize("action", ["duyet", "tra-lai", "mo-lai"])
def test_a_damaged_version_in_a_review_action_is_refused_with_a_message(
    client, auth, w, version, action
):
    auth.sign_in(w["organiser"])
    before, state = written(), result_state(w)
    url = f"/bao-cao/ket-qua/{w['result'].id}/{action}"
    response = client.post(url, data={"version": version, "reason": "Sai"})
    assert response.status_code == 302
    assert "tải lại trang" in client.get(response.location).get_data(as_text=True)
    assert written() == before and result_state(w) == state


def test_a_damaged_version_when_withdrawing_is_refused(client, auth, w):
    auth.sign_in(w["reporter"])
    before, state = written(), result_state(w)
    url = f"/bao-cao/don-vi/{w['a'].id}/dot/{w['drive'].id}/rut-lai"
    response = client.post(url, data={"version": "²"})
    assert response.status_code == 302
    assert written() == before and result_state(w) == state


@pytest.mark.parametrize(
    "value", ["{id}:abc", "{id}:²", "²:1", "9" * 20 + ":1", "{id}:" + "9" * 20]
)
def test_bulk_approval_refuses_what_it_cannot_read(client, auth, w, value):
    auth.sign_in(w["organiser"])
    before, state = written(), result_state(w)
    response = client.post("/bao-cao/duyet/nhieu", data={"result": value.format(id=w["result"].id)})
    assert response.status_code == 302
    assert "1 báo cáo không duyệt được" in client.get(response.location).get_data(as_text=True)
    assert written() == before and result_state(w) == state


def test_bulk_approval_still_approves_what_it_can_read(client, auth, w):
    auth.sign_in(w["organiser"])
    value = f"{w['result'].id}:{w['result'].version}"
    client.post("/bao-cao/duyet/nhieu", data={"result": [value, "²:1"]})
    assert result_state(w)[0] == ResultState.APPROVED


@pytest.mark.parametrize("parent", ["²", "9" * 20, "1" * 5000, "-1"])
def test_the_new_unit_page_ignores_a_parent_it_cannot_read(client, auth, w, parent):
    auth.sign_in(w["organiser"])
    assert client.get(f"/don-vi/moi?parent={parent}").status_code == 200


@pytest.mark.parametrize("source", ["²", "9" * 20, "1" * 5000, str(2**31), ""])
def test_copying_quotas_from_a_plan_it_cannot_read_is_404(client, auth, w, source):
    auth.sign_in(w["organiser"])
    assert client.get(f"/ke-hoach/{w['plan'].id}/chi-tieu?copy_from={source}").status_code == 404


def test_a_damaged_version_in_the_result_grid_is_a_conflict_on_its_row(client, auth, w):
    auth.sign_in(w["organiser"])
    a, before = w["a"].id, written()
    row = {f"r-{a}-{name}": "6" for name in ("registered", "bags_250")}
    response = client.post(
        f"/ke-hoach/{w['plan'].id}/dot/{w['drive'].id}/ket-qua", data={**row, f"r-{a}-version": "²"}
    )
    assert response.status_code == 200
    assert "vừa được người khác thay đổi" in response.get_data(as_text=True)
    assert written() == before


def test_every_id_in_a_page_address_past_the_columns_range_is_404(client, auth, w, app):
    """Every route with an ``<int:...>`` part, with ids neither engine can hold. (A method
    the address also has a rule for is checked before its id: a PUT there answers 405.)"""
    auth.sign_in(f.user("admin"))
    f.commit()
    rules = [r for r in app.url_map.iter_rules() if "int:" in r.rule]
    assert rules
    for rule in rules:
        for huge in (str(2**31), str(2**63), "9" * 30, "١"):
            url = rule.rule
            for name in rule.arguments:
                url = url.replace(f"<int:{name}>", huge).replace(f"<{name}>", "x")
            method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
            response = client.open(url, method=method)
            assert response.status_code in (404, 405), (method, url, response.status_code)


@pytest.mark.parametrize("ref", ["²", str(2**31), str(2**63), "9" * 30])
def test_a_plan_named_by_an_id_no_plan_can_have_is_not_found(w, ref):
    """The command line names a plan by id or number: neither reaches the database."""
    with pytest.raises(ServiceError):
        plans.find_plan(ref)


# --- the one bound for counts and quotas ---------------------------------------------


@pytest.mark.parametrize("typed", [str(MAX_COUNT + 1), "1.000.001", *HUGE])
def test_the_quota_grid_refuses_a_quota_past_the_bound(client, auth, w, typed):
    auth.sign_in(w["organiser"])
    before = written()
    response = client.post(
        f"/ke-hoach/{w['plan'].id}/chi-tieu",
        data={f"q-{w['a'].id}-amount": "41", f"q-{w['b'].id}-amount": typed},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Số quá lớn; tối đa 1.000.000." in page
    assert written() == before


def test_the_quota_grid_takes_the_bound_itself(client, auth, w):
    auth.sign_in(w["organiser"])
    data = {f"q-{w['a'].id}-amount": "40", f"q-{w['b'].id}-amount": "1.000.000"}
    assert client.post(f"/ke-hoach/{w['plan'].id}/chi-tieu", data=data).status_code == 302


@pytest.mark.parametrize("typed", [str(MAX_COUNT + 1), *HUGE])
def test_the_result_grid_and_form_refuse_counts_past_the_bound(client, auth, w, typed):
    auth.sign_in(w["organiser"])
    before, b = written(), w["b"].id
    grid = client.post(
        f"/ke-hoach/{w['plan'].id}/dot/{w['drive'].id}/ket-qua",
        data={f"r-{b}-registered": typed, f"r-{b}-bags_250": "1"},
    )
    assert grid.status_code == 200 and "Số quá lớn" in grid.get_data(as_text=True)
    auth.sign_in(w["reporter"])
    form = client.post(
        f"/bao-cao/don-vi/{b}/dot/{w['drive'].id}",
        data={"registered": typed, "deferred": "0", "bags_250": "1", "bags_350": "0"}
        | {"bags_450": "0", "save": "1"},
    )
    assert form.status_code == 200 and "Số quá lớn" in form.get_data(as_text=True)
    assert written() == before


def test_the_services_refuse_counts_and_quotas_past_the_bound(w):
    with pytest.raises(ServiceError, match="Số quá lớn"):
        plans.set_quotas(w["plan"], {w["b"]: MAX_COUNT + 1})
    with pytest.raises(ServiceError, match="Số quá lớn"):
        plans.set_quotas(w["plan"], {w["b"].id: 2**63})
    with pytest.raises(ServiceError, match="Số quá lớn"):
        results.Counts(MAX_COUNT + 1, 0, 0, 0, 0).check()
    db.session.rollback()
    results.Counts(MAX_COUNT, 0, MAX_COUNT, 0, 0).check()  # the bound itself is a count


@pytest.mark.parametrize(
    "value", [MAX_COUNT + 1, 2**63, float(2**63), 1e300, "1.000.001", "9" * 20, "1" * 5000]
)
def test_imports_refuse_counts_past_the_bound(w, value):
    with pytest.raises(TooLarge):
        whole_number(value)
    preview = imports.preview_quotas(xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Hải", value]), w["plan"])
    assert not preview.ok
    assert "tối đa 1.000.000" in str(preview.problems)


def test_whole_number_still_reads_what_people_type():
    assert [whole_number(v) for v in (12, 12.0, "1.200", " 1 200 ", "7,0", MAX_COUNT)] == [
        *(12, 12, 1200, 1200, 7),
        MAX_COUNT,
    ]
    for value in ("²", "٣", "1,5", True):
        with pytest.raises(NotANumber):
            whole_number(value)


def test_a_grid_reads_numbers_as_an_import_does_with_its_own_messages(app):
    read = [grids.whole_number(v) for v in ("", "12", "1.200", " 1 200 ", "7,0", str(MAX_COUNT))]
    assert read == [None, 12, 1200, 1200, 7, MAX_COUNT]
    for text, message in [
        ("-5", "Không được là số âm."),
        ("1,5", "Chỉ nhập số nguyên không âm, ví dụ 25."),
        ("²", "Chỉ nhập số nguyên không âm, ví dụ 25."),
        (str(MAX_COUNT + 1), "tối đa 1.000.000"),
        ("9" * 5000, "tối đa 1.000.000"),
    ]:
        with pytest.raises(grids.BadNumber, match=message):
            grids.whole_number(text)


# --- the API -------------------------------------------------------------------------


@pytest.mark.parametrize("if_match", ["²", '"²"', "9" * 20, "1" * 5000, "-1", "٣"])
def test_an_if_match_the_api_cannot_read_is_422(client, w, if_match):
    before = written()
    response = client.put(
        f"/api/v1/drives/{w['drive'].id}/results/{w['a'].code}",
        json={"bags_250": 1, "registered": 1},
        headers={**w["api"], "If-Match": if_match},
    )
    assert response.status_code == 422
    assert api_error(response)["details"] == {"If-Match": [response.json["error"]["message"]]}
    assert written() == before


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        '[{"unit_code": "X", "quota": ' + "1" * 5000 + "}]",
        '[{"unit_code": "X", "quota": 1',
        b'[{"unit_code": "\xff"}]',
    ],
)
def test_a_json_body_python_cannot_read_is_400_in_the_error_shape(client, w, body):
    before = written()
    response = client.put(
        f"/api/v1/plans/{w['plan'].id}/quotas",
        data=body,
        content_type="application/json",
        headers=w["api"],
    )
    assert response.status_code == 400
    assert api_error(response)["details"] == {"json": ["Nội dung JSON không đọc được."]}
    assert written() == before


def test_a_lone_surrogate_in_a_json_body_is_422(client, w):
    before = written()
    response = client.post(
        f"/api/v1/plans/{w['plan'].id}/drives",
        data=json.dumps({"name": "\ud800", "starts_on": "2021-06-11", "ends_on": "2021-06-11"}),
        content_type="application/json",
        headers=w["api"],
    )
    assert response.status_code == 422 and "name" in api_error(response)["details"]["json"]
    assert written() == before


# --- uploads -------------------------------------------------------------------------


def test_a_nul_in_an_uploads_file_name_is_400(client, auth, w):
    auth.sign_in(w["organiser"])
    before = written()
    response = client.post(
        f"/ke-hoach/{w['plan'].id}/nhap-chi-tieu",
        data={"file": (io.BytesIO(xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Hải", 1])), "a\x00.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert written() == before
