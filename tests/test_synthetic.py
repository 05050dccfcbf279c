"""The synthetic province: deterministic, consistent, and usable afterwards."""

from __future__ import annotations

from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import OrgUnit, Plan, Result
from campaign.services.summary import plan_summary
from tests import factories as f

TINY = ["generate-province", "--districts", "2", "--communes", "3", "--years", "2"]


def snapshot() -> tuple:
    results = db.session.execute(
        select(Result.unit_id, Result.bags_250, Result.bags_350, Result.state).order_by(Result.id)
    ).all()
    names = db.session.scalars(select(OrgUnit.name).order_by(OrgUnit.id)).all()
    return names, results


def test_tiny_province_is_deterministic_and_adds_up(runner, app):
    result = runner.invoke(args=TINY)
    assert result.exit_code == 0, result.output
    assert "kết quả" in result.output
    first = snapshot()
    province_plans = db.session.scalars(select(Plan).where(Plan.parent_id.is_(None))).all()
    assert len(province_plans) == 2
    # Each year's plan is read against the same issuer's plan of the year before.
    first_year, second_year = sorted(province_plans, key=lambda plan: plan.year)
    assert first_year.compare_with_id is None and second_year.compare_with_id == first_year.id
    for plan in db.session.scalars(select(Plan).where(Plan.year == second_year.year)):
        assert plan.compare_with.issuer_id == plan.issuer_id
        assert plan.compare_with.year == plan.year - 1
    summary = plan_summary(province_plans[-1])
    assert summary.totals.holders == 2  # the districts
    districts = db.session.scalars(select(Plan).where(Plan.parent_id == province_plans[-1].id))
    assert summary.totals.collected == sum(plan_summary(p).totals.collected for p in districts)
    assert db.session.scalar(select(func.count()).select_from(Result)) > 0

    # Ids were given explicitly: the database must still hand out fresh ones.
    f.unit("Đơn vị mới")
    f.commit()

    db.session.execute(Result.__table__.delete())
    db.session.execute(Plan.__table__.delete().where(Plan.parent_id.is_not(None)))
    db.session.execute(Plan.__table__.delete())
    db.session.execute(OrgUnit.__table__.delete())
    db.session.commit()
    assert runner.invoke(args=TINY).exit_code == 0
    second = snapshot()
    assert first[0] == second[0]
    assert [r[1:] for r in first[1]] == [r[1:] for r in second[1]]
