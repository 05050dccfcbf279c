"""A refused request writes nothing of its own; only the refusal's audit entry is kept."""

from __future__ import annotations

import inspect

import click
import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from campaign.auth.access import keep_only_refusals, require
from campaign.extensions import db
from campaign.models import AuditEntry, OrgUnit, Plan, Quota, Result, Role
from campaign.services import (
    audit,
    demo,
    exports,
    imports,
    official_import,
    pending_imports,
    plans,
    reform,
    reminders,
    reporting,
    results,
    tokens,
    units,
    users,
)
from campaign.services.errors import ServiceError
from campaign.services.transaction import is_atomic
from tests import factories as f


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_refused_access_commits_nothing_until_the_request_ends(app):
    user = f.user(Role.ADMIN)
    f.commit()
    with app.test_request_context("/ke-hoach/1", method="POST"):
        f.unit("Xã flushed before the refusal")
        with pytest.raises(Forbidden):
            require(False, user)
        # Nothing is committed in the middle of the view, not even the refusal.
        db.session.rollback()
        assert "access.refused" not in _actions()
        assert keep_only_refusals()
    db.session.rollback()
    assert _actions().count("access.refused") == 1
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 0


@pytest.mark.own_app
def test_refused_page_keeps_only_the_refusal(app, client, auth):
    @app.post("/thu-tu-choi")
    def write_then_refuse() -> str:
        f.unit("Xã written by a refused request")
        require(False)
        return "unreachable"

    user = f.user(Role.ADMIN)
    f.commit()
    auth.sign_in(user)
    assert client.post("/thu-tu-choi").status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 0
    assert [a for a in _actions() if a != "auth.login"][-1:] == ["access.refused"]
    assert "unit.create" not in _actions()


def test_a_refused_command_keeps_nothing_it_flushed(runner, monkeypatch):
    """Whichever way a command stops, what its services flushed is dropped."""

    def flush_then_refuse() -> None:
        f.unit("Xã flushed before the refusal")
        audit.record("unit.create", entity="org_unit")
        db.session.flush()
        raise click.ClickException("Từ chối.")

    monkeypatch.setattr(demo, "load", flush_then_refuse)
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == 0
    assert _actions() == []


# --- a refused service action leaves nothing, whichever door it came through -----------


REFUSAL = "Từ chối sau khi đã ghi."


@pytest.fixture
def refuse_after_flushing(monkeypatch):
    """The plan service refuses after it has flushed the new plan and its audit entry:
    the worst case for a caller that would commit what was flushed."""
    record = audit.record

    def record_then_refuse(action: str, *args, **kwargs):
        entry = record(action, *args, **kwargs)
        if action == "plan.create":
            db.session.flush()
            raise ServiceError(REFUSAL, field="number")
        return entry

    monkeypatch.setattr(audit, "record", record_then_refuse)


def _nothing_written() -> None:
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0
    assert "plan.create" not in _actions()


def test_a_page_that_shows_a_refusal_commits_nothing(client, auth, refuse_after_flushing):
    district, _ = f.district_with_communes([])
    organiser = f.user(Role.ORGANISER, [district])
    f.commit()
    auth.sign_in(organiser)
    form = {
        "issuer_id": district.id,
        "number": "16/KH-BCĐ",
        "issued_on": "2022-03-01",
        "title": "Hiến máu năm 2022",
        "year": 2022,
        "counting_rule": "bag",
        "parent_id": 0,
        "compare_with_id": "auto",
    }
    page = client.post("/ke-hoach/moi", data=form)
    assert page.status_code == 200 and REFUSAL in page.get_data(as_text=True)
    _nothing_written()


def test_the_api_refusing_commits_nothing(client, refuse_after_flushing):
    district, _ = f.district_with_communes([])
    _, token = tokens.create_token(f.user(Role.ORGANISER, [district]))
    f.commit()
    body = {
        "issuer_code": district.code,
        "number": "16/KH-BCĐ",
        "issued_on": "2022-03-01",
        "title": "Hiến máu năm 2022",
        "year": 2022,
    }
    response = client.post("/api/v1/plans", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422 and response.get_json()["error"]["message"] == REFUSAL
    _nothing_written()


def test_a_refused_command_ends_on_one_line_and_writes_nothing(app, runner, tmp_path):
    district, (commune,) = f.district_with_communes(["Quảng Bình"])
    plan = f.plan(district)
    plans.set_status(plan, "closed")
    f.commit()
    before = _actions()
    workbook = tmp_path / "chi-tieu.xlsx"
    workbook.write_bytes(exports.quota_template_export(plan))
    result = runner.invoke(args=["import-quotas", str(plan.id), str(workbook)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error:")
    db.session.rollback()
    assert _actions() == before
    assert db.session.scalar(select(func.count()).select_from(Quota)) == 0


def test_each_row_of_the_result_grid_is_saved_or_refused_on_its_own(client, auth, monkeypatch):
    district, (binh, ngoc) = f.district_with_communes(["Quảng Bình", "Quảng Ngọc"])
    plan = f.plan(district)
    drive = f.drive(plan)
    organiser = f.user(Role.ORGANISER, [district])
    f.commit()
    auth.sign_in(organiser)
    record_many = audit.record_many

    def refuse_ngoc(action, entity, changes, **kwargs):
        changes = list(changes)
        if any(after.get("unit_id") == ngoc.id for _id, _before, after in changes):
            raise ServiceError("Dòng này bị từ chối sau khi đã ghi.")
        return record_many(action, entity, changes, **kwargs)

    monkeypatch.setattr(audit, "record_many", refuse_ngoc)
    rows = {f"r-{u.id}-{name}": "5" for u in (binh, ngoc) for name in ("registered", "bags_250")}
    page = client.post(f"/ke-hoach/{plan.id}/dot/{drive.id}/ket-qua", data=rows)
    assert "Dòng này bị từ chối sau khi đã ghi." in page.get_data(as_text=True)
    db.session.rollback()
    # Quảng Ngọc's row was inserted before its refusal: its savepoint took it back.
    assert db.session.scalars(select(Result.unit_id)).all() == [binh.id]


def test_every_service_that_writes_is_atomic():
    """A new service function that writes must be atomic too: name it here if it only reads."""
    readers = {
        plans: {
            "check_open",
            "find_plan",
            "previous_year_plan",
            "grid_units",
            "quotas_of",
            "quotas_and_headcounts",
            "copied_quotas",
            "allocation",
        },
        results: {
            "find",
            "of_drive",
            "quota_holders",
            "expected_units",
            "not_reported",
            "stored_by_unit",
        },
        units: {
            "code_is",
            "by_code",
            "in_ids",
            "tree_rows",
            "check_official_code",
            "official_code_taken",
            "check_email",
        },
        official_import: {"find_province", "app_code", "province_unit", "preview"},
        reform: {"bare", "find", "check_scope", "new_unit"},
        users: {
            "common_passwords",
            "check_password_rules",
            "check_role",
            "one_time_password",
            "by_username",
            "authenticate",
        },
        tokens: {"digest", "tokens_of", "all_tokens", "by_id", "authenticate"},
        pending_imports: {"clean_filename", "find"},
        reporting: {
            "submitted_at",
            "sent_at",
            "vietnam_day",
            "drive_reporting",
            "drive_totals",
            "drives_totals",
        },
        reminders: {"no_mail_server", "reminded_today", "due", "short_message"},
        imports: {
            "file_problem",
            "file_message",
            "preview_quotas",
            "preview_results",
            "preview_units",
        },
    }
    not_atomic = [
        f"{module.__name__}.{name}"
        for module, read_only in readers.items()
        for name, function in vars(module).items()
        if inspect.isfunction(function)
        and function.__module__ == module.__name__
        and not name.startswith("_")
        and name not in read_only
        and not is_atomic(function)
    ]
    assert not_atomic == []
