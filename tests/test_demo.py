"""The demo data holds both worlds: Quảng Xương district's plans of 2021 and 2025 on the old
tree, the reform of 1 July 2025 recorded by the official list's import, and a 2026 province
plan of the new communes read against 2025."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from campaign.extensions import db
from campaign.models import OrgUnit, Plan
from campaign.services import demo
from campaign.services.summary import comparison, figures, plan_summary, read_plan
from tests.conftest import empty_tables


def _plan(number: str) -> Plan:
    return db.session.scalars(select(Plan).where(Plan.number == number)).one()


def _unit(code: str) -> OrgUnit:
    return db.session.scalars(select(OrgUnit).where(OrgUnit.code == code)).one()


def _old_figures() -> dict[str, dict]:
    old = ("276/KH-BCĐTH", "15/KH-BCĐ", "09/KH-BCĐ", "03/KH-BCĐ")
    return {number: figures(plan_summary(_plan(number))) for number in old}


def test_the_reform_leaves_the_old_plans_figures_as_they_were(app):
    demo.load(reform=False)
    before = _old_figures()
    db.session.commit()
    empty_tables()
    counts = demo.load()
    assert counts["plans"] == 5 and counts["units"] > 166
    assert _old_figures() == before


def test_the_2026_plan_reads_each_new_commune_against_the_old_ones_it_was_formed_from(app):
    demo.load()
    plan, earlier = _plan("06/KH-BCĐ"), _plan("09/KH-BCĐ")
    assert (plan.year, plan.compare_with, earlier.year) == (2026, earlier, 2025)
    assert "mẫu" in plan.note
    district = _unit("QX")
    assert district.valid_to == date(2025, 6, 30)
    quang_binh = db.session.scalars(
        select(OrgUnit).where(OrgUnit.official_code == "16543", OrgUnit.kind == "commune")
        .where(OrgUnit.valid_from == date(2025, 7, 1))
    ).one()  # fmt: skip
    formed_from = ("QX-BINH", "QX-LUU", "QX-LOC", "QX-THAI")
    for code in formed_from:
        old = _unit(code)
        assert (old.merged_into, old.valid_to) == (quang_binh, date(2025, 6, 30))

    made = plan_summary(plan)
    compared = comparison(plan, made)
    district_2025 = {
        line.unit.code: line.collected for line in plan_summary(_plan("03/KH-BCĐ")).lines
    }
    assert compared.of(quang_binh.id) == sum(district_2025[code] for code in formed_from)
    # A commune of another former district has nothing to compare with in the demo.
    elsewhere = db.session.scalars(
        select(OrgUnit).where(OrgUnit.name == "Phường Hạc Thành", OrgUnit.valid_from.is_not(None))
    ).one()
    assert compared.of(elsewhere.id) is None
    # The 2021 plan's tree has none of the 2025 units.
    _summary, nodes = read_plan(_plan("276/KH-BCĐTH"))
    assert quang_binh.id not in {node.id for node in nodes} and district.id in {n.id for n in nodes}
