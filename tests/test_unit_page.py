"""A unit's page in a plan, and its progress: read with the plan's own reading where it
holds the whole tree, and bounded however large the unit's subtree is."""

from __future__ import annotations

from datetime import date

import pytest

import tests.factories as f
from campaign.formatting import vietnam_today
from campaign.models import OrgUnit, Plan
from campaign.rates import EMPTY, UnitTree
from campaign.services import dashboard, kept, plans, units
from campaign.services.summary import (
    forget_kept_figures,
    plan_progress,
    plan_summary,
    read_plan_and_months,
    read_plan_for_unit,
)

#: A day in the plan's year after its date (2021-05-10), as the moves and new units are.
AFTER = date(2021, 8, 1)


def _district(moved: bool = True) -> tuple[Plan, OrgUnit, list[OrgUnit]]:
    """A district plan whose quota holders are nearly every unit (read over the whole
    tree), with results in three months and a draft; unless not ``moved``, a unit moved
    after the plan's date, and a unit made after it that reports all the same (a plan is
    read as a skeleton only without either)."""
    district, communes = f.district_with_communes([f"Xã {n}" for n in range(6)])
    schools = [f.unit(f"CĐCS Trường {c.name}", "union", c) for c in communes[:4]]
    plan = f.plan(district)
    plans.set_quotas(plan, {u: 5 for u in (*communes, *schools[:3])})
    june, july, october = (
        f.drive(plan, "Đợt 1", date(2021, 6, 11)),
        f.drive(plan, "Đợt 2", date(2021, 7, 20)),
        f.drive(plan, "Đợt 3", date(2021, 10, 2)),
    )
    for n, school in enumerate(schools):
        f.result(june, school, 2 + n, 1)
        f.result(october, school, 1, 0, 1)
    for n, commune in enumerate(communes):
        f.result(july, commune, n, 2)
    f.result(june, communes[5], 9, state="draft")
    late = []
    if moved:
        units.move_unit(schools[3], communes[1], AFTER)  # counts under its commune of May
        late = [f.unit("CĐCS Doanh nghiệp mới", "union", communes[2], valid_from=AFTER)]
        f.result(october, late[0], 3)
    f.commit()
    return plan, district, [district, *communes, *schools, *late]


def _progress(plan: Plan, unit_id: int, reading) -> list:
    made, every_unit, months = reading
    return plan_progress(plan, made, every_unit, vietnam_today(), unit_id, months)


@pytest.mark.parametrize("whole", [True, False], ids=["whole tree", "skeleton"])
def test_a_units_progress_is_what_the_whole_tree_gives_every_unit(app, whole):
    plan, _district_unit, every = _district(moved=whole)
    if not whole:  # one quota: the plan reads a skeleton, and a unit's page the whole tree
        plans.set_quotas(plan, {u: None for u in every[2:]})
        f.commit()
        skeleton = read_plan_and_months(plan)[1]
        assert len(skeleton) < len(read_plan_and_months(plan, whole_tree=True)[1])
    for unit in every:
        forget_kept_figures()
        expected = _progress(plan, unit.id, read_plan_and_months(plan, whole_tree=True))
        forget_kept_figures()
        assert _progress(plan, unit.id, read_plan_for_unit(plan, unit.id)) == expected, unit.name
    # The school moved in August counts under its commune of May, as the summary counts it.
    for line in plan_summary(plan).lines:
        made = read_plan_for_unit(plan, line.unit.id)
        assert _progress(plan, line.unit.id, made)[1][-1].cumulative == line.collected


def test_the_unit_page_shares_the_dashboards_reading(app, client, auth, count_queries):
    plan, district, every = _district()
    user = f.user("leader", [district])
    f.commit()
    auth.sign_in(user)
    forget_kept_figures()
    read = read_plan_and_months(plan)
    assert read_plan_for_unit(plan, every[1].id)[0] is read[0]  # the same summary, kept
    assert client.get(f"/ke-hoach/{plan.id}").status_code == 200
    with count_queries:
        assert client.get(f"/ke-hoach/{plan.id}/don-vi/{every[1].id}").status_code == 200
    # The plan is not read again unit by unit: the subtree's months and results are.
    grouped_by_unit = [s for s in count_queries.statements if "GROUP BY result.unit_id" in s]
    assert grouped_by_unit == []


def test_the_months_of_every_unit_that_reported_are_the_plans(app):
    plan, district, _every = _district()
    whole = _progress(plan, None, read_plan_and_months(plan))[1]
    issuer = _progress(plan, district.id, read_plan_for_unit(plan, district.id))[1]
    # The same months (the pace is the issuer's own quota: it holds none).
    assert [(p.month, p.cumulative) for p in issuer] == [(p.month, p.cumulative) for p in whole]
    assert whole[-1].cumulative == plan_summary(plan).totals.collected


def test_a_unit_with_many_results_shows_each_drives_totals(app, client, auth, monkeypatch):
    plan, district, every = _district()
    user = f.user("leader", [district])
    f.commit()
    auth.sign_in(user)
    monkeypatch.setattr(dashboard, "RESULTS_LISTED", 4)
    summary = plan_summary(plan)
    page = client.get(f"/ke-hoach/{plan.id}/don-vi/{district.id}").get_data(as_text=True)
    assert "báo cáo: bảng cộng các báo cáo được tính theo từng đợt" in page
    totals = page.split('id="drives-title"', 1)[1].split("</table>", 1)[0]
    assert "Xã 0" not in totals  # no row of a unit's report
    assert totals.count("<tr>") == 1 + 3  # the header and the three drives
    board = dashboard.unit_page(plan, district.id, summary, UnitTree.of(_tree(plan)))
    assert [d.drive.name for d in board.drives] == ["Đợt 1", "Đợt 2", "Đợt 3"]
    assert board.reports == 16  # the draft too
    counted = sum((d.tally for d in board.drives), start=EMPTY)
    assert counted.reports == 15 and counted == summary.totals.tally
    assert sum(d.collected for d in board.drives) == summary.totals.collected
    # A commune with four reports or fewer lists each of them.
    commune = client.get(f"/ke-hoach/{plan.id}/don-vi/{every[3].id}").get_data(as_text=True)
    assert "CĐCS Trường Xã 2" in commune.split("Kết quả từng đợt", 1)[1]
    assert "bảng cộng các báo cáo" not in commune


@pytest.mark.parametrize("listed", [100, 0], ids=["listed", "totals"])
def test_each_drive_on_a_units_page_links_to_its_reports(app, client, auth, monkeypatch, listed):
    """Listed or added up, each drive names its page (reports on time, late, owed) to a
    reader who follows its plan, and that page opens; to one who does not, only its name.
    On the province plan's page of a school, the district plan's drives: its leader
    follows the province plan (a quota in it) but not the district's (none there)."""
    plan, district, every = _district()
    school = every[10]  # the school without a quota in the district's plan
    province = f.unit("Tỉnh", "province")
    district.parent = province
    top = f.plan(province)
    plan.parent = top
    plans.set_quotas(top, {district: 10, school: 1})
    readers = f.user("leader", [province]), f.user("leader", [school]), f.user("leader", [district])
    f.commit()
    monkeypatch.setattr(dashboard, "RESULTS_LISTED", listed)
    links = [f"/bao-cao/dot/{d.id}" for d in plan.drives]
    for reader, unit, follows in zip(
        readers, (school, school, district), (True, False, True), strict=True
    ):
        auth.sign_in(reader)
        page = client.get(f"/ke-hoach/{top.id}/don-vi/{unit.id}")
        assert page.status_code == 200
        html = page.get_data(as_text=True).split("Kết quả từng đợt", 1)[1]
        assert "Đợt 1" in html and "Đợt 3" in html  # the school reported in June and October
        shown = [link for link in links if link in html]
        wanted = [links[0], links[2]] if unit is school else links  # the drives it reported in
        assert shown == (wanted if follows else [])
        assert all(client.get(link).status_code == (200 if follows else 403) for link in links)


@pytest.mark.parametrize("listed", [100, 0], ids=["listed", "totals"])
def test_a_units_drives_add_up_to_its_line(app, monkeypatch, listed):
    """Listed or added up by drive, a unit's results are those its line counts: its
    subtree as the plan reads it (the school moved in August is still its May commune's)."""
    plan, _district_unit, every = _district()
    monkeypatch.setattr(dashboard, "RESULTS_LISTED", listed)
    summary = plan_summary(plan)
    tree = UnitTree.of(_tree(plan))
    for line in summary.lines:
        board = dashboard.unit_page(plan, line.unit.id, summary, tree)
        assert bool(board.drives[0].rows) == (listed > 0)
        assert sum((d.tally for d in board.drives), start=EMPTY) == line.tally, line.unit.name


def _tree(plan: Plan):
    return read_plan_and_months(plan, whole_tree=True)[1]


def test_the_lines_below_a_unit_come_a_page_at_a_time(app, client, auth, monkeypatch):
    plan, district, _every = _district()
    user = f.user("leader", [district])
    f.commit()
    auth.sign_in(user)
    app.config["DASHBOARD_PAGE_SIZE"] = 4
    monkeypatch.setattr(dashboard, "CHILDREN_LISTED", 5)
    url = f"/ke-hoach/{plan.id}/don-vi/{district.id}"
    below = [ln.unit.name for ln in plan_summary(plan).lines if ln.unit.id != district.id]
    shown = []
    for number in (1, 2, 3):
        page = client.get(f"{url}?trang={number}").get_data(as_text=True)
        assert f"Trang {number}/3" in page
        table = page.split('id="below-title"', 1)[1].split("</table>", 1)[0]
        shown += [name for name in below if f">{name}</a>" in table]
    assert shown == below  # each line once, in the plan's order, over three pages
    assert "Trang 3/3" in client.get(f"{url}?trang=99").get_data(as_text=True)
    children = client.get(url).get_data(as_text=True).split("Các đơn vị trực thuộc", 1)[1]
    listed = children.split("</ul>", 1)[0]
    assert listed.count("<li>") == 5 and "CĐCS" not in listed  # the communes, by name
    assert "và 1 đơn vị khác." in children


def test_the_api_gives_a_units_progress_from_the_same_reading(app, client, auth):
    plan, district, every = _district()
    user = f.user("leader", [district])
    f.commit()
    auth.sign_in(user)
    unit = every[2]
    api = client.get(f"/api/v1/plans/{plan.id}/progress?unit={unit.code}").get_json()
    points = _progress(plan, unit.id, read_plan_and_months(plan, whole_tree=True))[1]
    assert [m["cumulative"] for m in api["months"]] == [float(p.cumulative) for p in points]
    assert points[-1].cumulative > 0


def test_a_skeleton_plans_unit_pages_make_its_whole_tree_once(app, client, auth, count_queries):
    """A plan read as a skeleton (few quota holders): the tree its unit pages need is made
    once for its figures, from the kept tree of its issuer and the units that reported."""
    plan, district, every = _district(moved=False)
    plans.set_quotas(plan, {u: None for u in every[2:]})
    user = f.user("leader", [district])
    f.commit()
    auth.sign_in(user)
    forget_kept_figures()
    assert client.get(f"/ke-hoach/{plan.id}").status_code == 200
    opened = []
    for unit in every[:3]:
        with count_queries:
            assert client.get(f"/ke-hoach/{plan.id}/don-vi/{unit.id}").status_code == 200
        opened.append(sum("SELECT DISTINCT result.unit_id" in s for s in count_queries.statements))
        count_queries.statements.clear()
    assert opened == [1, 0, 0]
    f.result(f.drive(plan, "Đợt 4", date(2021, 11, 5)), every[4], 2)  # a result: made again
    f.commit()
    with count_queries:
        assert client.get(f"/ke-hoach/{plan.id}/don-vi/{every[4].id}").status_code == 200
    assert sum("SELECT DISTINCT result.unit_id" in s for s in count_queries.statements) == 1


def test_unit_pages_leave_the_dashboards_kept_pages_kept(
    app, client, auth, count_queries, monkeypatch
):
    """A leader opening one unit after another: each unit's comparison is looked up, not
    kept with the plan's figures, where it would push the dashboard's pages out."""
    plan, district, every = _district()
    plans.set_comparison(plan, f.plan(district, year=2020, issued_on=date(2020, 3, 2)))
    user = f.user("leader", [district])
    f.commit()
    auth.sign_in(user)
    forget_kept_figures()
    monkeypatch.setattr(kept, "DERIVED", 4)  # what is kept with the figures, at most
    assert client.get(f"/ke-hoach/{plan.id}").status_code == 200
    for unit in every:
        assert client.get(f"/ke-hoach/{plan.id}/don-vi/{unit.id}").status_code == 200
    with count_queries:
        assert client.get(f"/ke-hoach/{plan.id}").status_code == 200
    # Made again, the page would compare its lines again, reading the mergers first.
    assert not [s for s in count_queries.statements if "merged_into_id IS NOT NULL" in s]
