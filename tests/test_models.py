"""What the database itself refuses, whatever the code above it does."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from campaign.extensions import db
from campaign.models import OrgUnit, Quota, Result
from tests import factories as f


@pytest.fixture
def setting(app):
    district, (a,) = f.district_with_communes(["A"])
    plan = f.plan(district)
    drive = f.drive(plan)
    f.commit()
    return plan, drive, a


def expect_refused(obj) -> None:
    db.session.add(obj)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_one_quota_per_plan_and_unit(setting):
    plan, _, unit = setting
    db.session.add(Quota(plan_id=plan.id, unit_id=unit.id, amount=1))
    db.session.flush()
    expect_refused(Quota(plan_id=plan.id, unit_id=unit.id, amount=2))


def test_one_result_per_drive_and_unit(setting):
    _, drive, unit = setting
    db.session.add(Result(drive_id=drive.id, unit_id=unit.id))
    db.session.flush()
    expect_refused(Result(drive_id=drive.id, unit_id=unit.id))


@pytest.mark.parametrize("column", ["registered", "deferred", "bags_250", "bags_350", "bags_450"])
def test_no_negative_counts(setting, column):
    _, drive, unit = setting
    expect_refused(Result(drive_id=drive.id, unit_id=unit.id, **{column: -1}))


def test_no_negative_quota(setting):
    plan, _, unit = setting
    expect_refused(Quota(plan_id=plan.id, unit_id=unit.id, amount=-1))


def test_foreign_keys_are_enforced(setting):
    plan, _, _ = setting
    expect_refused(Quota(plan_id=plan.id, unit_id=999_999, amount=1))


def test_unknown_kind_and_reversed_validity_are_refused(app):
    expect_refused(OrgUnit(code="X1", name="X", kind="planet"))
    expect_refused(
        OrgUnit(
            code="X2",
            name="X",
            kind="commune",
            valid_from=date(2025, 7, 1),
            valid_to=date(2025, 6, 30),
        )
    )


def test_unit_codes_are_unique(app):
    db.session.add(OrgUnit(code="DUP", name="A", kind="commune"))
    db.session.flush()
    expect_refused(OrgUnit(code="DUP", name="B", kind="commune"))


def test_unit_codes_are_unique_whatever_their_case(app):
    db.session.add(OrgUnit(code="QX-BINH", name="A", kind="commune"))
    db.session.flush()
    expect_refused(OrgUnit(code="qx-binh", name="B", kind="commune"))


def test_unknown_result_state_is_refused(setting):
    _, drive, unit = setting
    expect_refused(Result(drive_id=drive.id, unit_id=unit.id, state="lost"))


def test_sqlite_runs_with_foreign_keys_wal_and_busy_timeout(app, engine_name):
    if engine_name != "sqlite":
        pytest.skip("SQLite settings")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
