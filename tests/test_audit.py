"""Every kind of change leaves an audit row with who, when, before and after."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from campaign import formatting
from campaign.extensions import db
from campaign.models import AuditEntry
from campaign.services import plans, results, users
from tests import factories as f


@pytest.fixture(autouse=True)
def fast_hash(monkeypatch):
    monkeypatch.setattr(
        "campaign.models.users.generate_password_hash",
        lambda p: generate_password_hash(p, method="pbkdf2:sha256:1"),
    )


def actions_for(entity: str, entity_id: int) -> list[str]:
    query = (
        select(AuditEntry.action)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.id)
    )
    return list(db.session.scalars(query))


def test_each_kind_of_change_is_recorded(app):
    district, (a,) = f.district_with_communes(["A"])
    organiser = f.user("organiser", [district])
    plan = f.plan(district)
    plans.set_quotas(plan, {a: 10}, user=organiser)
    plans.set_quotas(plan, {a: 12}, user=organiser)
    drive = f.drive(plan)
    result = results.save(drive, a, results.Counts(3, 0, 3, 0, 0), user=organiser, submit=True)
    results.withdraw(result, user=organiser)
    results.save(
        drive, a, results.Counts(4, 0, 4, 0, 0), expected_version=result.version, submit=True
    )
    results.approve(result, user=organiser)
    results.reopen(result, "Sai", user=organiser)
    results.save(
        drive, a, results.Counts(5, 0, 5, 0, 0), expected_version=result.version, submit=True
    )
    results.return_for_correction(result, "Thiếu", user=organiser)
    users.set_password(organiser, "một mật khẩu khác", by=organiser)
    users.update_user(organiser, role="leader", units=[district], full_name="", by=None)
    users.set_enabled(organiser, False)
    users.set_enabled(organiser, True)
    f.commit()

    assert actions_for("org_unit", a.id) == ["unit.create"]
    assert actions_for("plan", plan.id) == ["plan.create"]
    assert actions_for("drive", drive.id) == ["drive.create"]
    assert actions_for("result", result.id) == [
        "result.submit",
        "result.withdraw",
        "result.submit",
        "result.approve",
        "result.reopen",
        "result.submit",
        "result.return",
    ]
    assert actions_for("user_account", organiser.id) == [
        "user.create",
        "user.password",
        "user.update",
        "user.disable",
        "user.enable",
    ]
    quota_changes = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "quota.set").order_by(AuditEntry.id)
    ).all()
    assert quota_changes[-1].before["amount"] == 10 and quota_changes[-1].after["amount"] == 12
    approve = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "result.approve"))
    assert approve.user_id == organiser.id and approve.at is not None
    assert (approve.before["state"], approve.after["state"]) == ("submitted", "approved")
    assert "password_hash" not in (approve.after or {})


def test_history_page_shows_who_and_the_values_before_and_after(client, auth, app):
    district, (a,) = f.district_with_communes(["A"])
    organiser = f.user("organiser", [district])
    drive = f.drive(f.plan(district))
    result = f.result(drive, a, 5)
    results.approve(result, user=organiser)
    f.commit()
    auth.login(organiser)
    page = client.get(f"/lich-su/result/{result.id}").get_data(as_text=True)
    assert "Gửi báo cáo" in page and "Duyệt" in page
    assert organiser.username in page
    assert "<del>submitted</del> → <ins>approved</ins>" in page
    # Recorded in UTC, shown in Vietnam time.
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "result.approve")
    ).one()
    assert f"<td>{formatting.vietnam_time(entry.at)}</td>" in page and "UTC" not in page


def test_refused_access_is_recorded(client, auth, app):
    district, (a,) = f.district_with_communes(["A"])
    reporter = f.user("reporter", [a])
    f.commit()
    auth.login(reporter)
    assert client.get("/bao-cao/duyet").status_code == 403
    db.session.rollback()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "access.refused"))
    assert entry.user_id == reporter.id and entry.after["path"] == "/bao-cao/duyet"


def test_every_action_the_code_records_has_a_name_on_the_history_page():
    """The page shows labels.AUDIT_ACTION's name, else the raw action ("unit.merge")."""
    import re
    from pathlib import Path

    from campaign import labels

    source = "\n".join(p.read_text() for p in Path("campaign").rglob("*.py"))
    kinds = "access|auth|drive|plan|quota|reminder|result|token|unit|user"
    literals = set(re.findall(rf'"((?:{kinds})\.[a-z_]+)"', source))
    # Blueprint endpoints and column names share the shape; they are not actions.
    endpoints = {"auth.change_password", "drive.id", "plan.id"}
    assert literals - endpoints - set(labels.AUDIT_ACTION) == set()


def test_a_merger_reads_as_such_on_the_history_page(client, auth, app):
    from datetime import date

    from campaign.services import units

    district, (a, b) = f.district_with_communes(["A", "B"])
    organiser = f.user("organiser", [district])
    units.merge_units([a], b, date(2025, 7, 1), user=organiser)
    f.commit()
    auth.login(organiser)
    page = client.get(f"/lich-su/org_unit/{a.id}").get_data(as_text=True)
    assert "Sáp nhập" in page and "unit.merge" not in page
