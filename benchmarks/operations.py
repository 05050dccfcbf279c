"""The measured operations and their limits, on one database built for the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import insert, select, text

from benchmarks.harness import Row, measure
from campaign.extensions import db
from campaign.models import OrgUnit, Plan, Quota, Role
from campaign.services import synthetic, users
from campaign.services.summary import plan_summary

PASSWORD = "benchmark password"

#: One query doing what the summary does: every quota holder's subtree rolled up.
HAND_WRITTEN_SUMMARY = """
WITH RECURSIVE plan_tree(id) AS (
    SELECT :plan_id
    UNION ALL SELECT plan.id FROM plan JOIN plan_tree ON plan.parent_id = plan_tree.id
),
own AS (
    SELECT result.unit_id, COUNT(*) AS n, SUM(registered) AS registered, SUM(deferred) AS deferred,
           SUM(bags_250) AS b250, SUM(bags_350) AS b350, SUM(bags_450) AS b450
    FROM result JOIN drive ON drive.id = result.drive_id
    WHERE drive.plan_id IN (SELECT id FROM plan_tree) AND result.state IN ('submitted', 'approved')
    GROUP BY result.unit_id
),
below(holder, unit) AS (
    SELECT unit_id, unit_id FROM quota WHERE plan_id = :plan_id
    UNION ALL
    SELECT below.holder, org_unit.id FROM below JOIN org_unit ON org_unit.parent_id = below.unit
)
SELECT quota.unit_id, quota.amount, SUM(own.n), SUM(own.registered), SUM(own.deferred),
       SUM(own.b250), SUM(own.b350), SUM(own.b450)
FROM quota JOIN below ON below.holder = quota.unit_id LEFT JOIN own ON own.unit_id = below.unit
WHERE quota.plan_id = :plan_id
GROUP BY quota.unit_id, quota.amount
"""


@dataclass
class Province:
    province_plan: Plan
    district_plan: Plan
    holders: int


def build(app: Flask, sizes: synthetic.Sizes) -> Province:
    """The synthetic province, with the latest province plan giving every unit a quota."""
    with app.app_context():
        synthetic.generate(sizes)
        plan = db.session.scalars(
            select(Plan).where(Plan.parent_id.is_(None)).order_by(Plan.year.desc())
        ).first()
        given = set(db.session.scalars(select(Quota.unit_id).where(Quota.plan_id == plan.id)))
        rest = db.session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id.is_not(None))).all()
        rows = [{"plan_id": plan.id, "unit_id": u, "amount": 5} for u in rest if u not in given]
        db.session.execute(insert(Quota), rows)
        province = db.session.get(OrgUnit, plan.issuer_id)
        users.create_user(username="leader", password=PASSWORD, role=Role.LEADER, units=[province])
        db.session.commit()
        district_plan = db.session.scalars(select(Plan).where(Plan.parent_id == plan.id)).first()
        return Province(plan, district_plan, len(given) + len(rows))


def province_summary(app: Flask, province: Province, runs: int) -> Row:
    with app.app_context():
        plan = db.session.get(Plan, province.province_plan.id)

        def app_work() -> Any:
            db.session.expire_all()
            return plan_summary(plan)

        def limit_work() -> Any:
            return db.session.execute(text(HAND_WRITTEN_SUMMARY), {"plan_id": plan.id}).all()

        _check_same_figures(app_work(), limit_work())
        app_measure = measure(app_work, runs)
        limit_measure = measure(limit_work, runs)
    row = Row(
        f"province plan summary ({province.holders:,} holders)",
        app_measure,
        limit_measure,
        "≤ 2× hand-written SQL",
        False,
    )
    row.met = (row.ratio or 0) <= 2
    return row


def _check_same_figures(summary: Any, rows: list[Any]) -> None:
    """The limit must return what the app computes, or the comparison means nothing."""
    by_unit = {line.unit.id: line for line in summary.lines}
    for unit_id, _amount, n, _reg, _deferred, b250, b350, b450 in rows:
        donors = (b250 or 0) + (b350 or 0) + (b450 or 0)
        line = by_unit[unit_id]
        if (line.tally.reports, line.tally.donors) != ((n or 0), donors):
            raise AssertionError(f"summary and SQL disagree for unit {unit_id}")


def district_dashboard(app: Flask, province: Province, runs: int) -> Row:
    client = app.test_client()
    client.post("/dang-nhap", data={"username": "leader", "password": PASSWORD})
    url = f"/ke-hoach/{province.district_plan.id}"

    def work() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"{url} answered {response.status_code}")

    app_measure = measure(work, runs)
    return Row(
        "district dashboard page (50 units), server time",
        app_measure,
        None,
        "≤ 100 ms",
        app_measure.seconds <= 0.1,
    )


OPERATIONS: list[Callable[[Flask, Province, int], Row]] = [province_summary, district_dashboard]
