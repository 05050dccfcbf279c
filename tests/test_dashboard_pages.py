"""A plan longer than a page (a national one): its dashboard lists the lines a page at a
time, and searches, filters and sorts over the whole plan on the server."""

from __future__ import annotations

import random
import re

import pytest

from campaign import formatting, rates
from campaign.extensions import db
from campaign.models import OrgUnit, Plan
from campaign.services import dashboard, plans
from campaign.services.summary import forget_kept_figures, plan_summary
from campaign.text import sort_key
from tests import factories as f
from tests.test_dashboard import rows

pytestmark = pytest.mark.usefixtures("fast_passwords")
SIZE = 10


@pytest.fixture
def long_plan(app, demo_plan):
    """The demo's district plan (34 lines) with pages of 10: four pages."""
    app.config["DASHBOARD_PAGE_SIZE"] = SIZE
    return demo_plan


def page_of(client, plan: Plan, **args) -> str:
    response = client.get(f"/ke-hoach/{plan.id}", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_lines_come_a_page_at_a_time_numbered_through(client, long_plan):
    lines = plan_summary(long_plan).lines
    assert len(lines) == 34
    seen = []
    for number in (1, 2, 3, 4):
        shown = rows(page_of(client, long_plan, trang=number))
        assert [r[0] for r in shown] == [
            str(n) for n in range(len(seen) + 1, len(seen) + 1 + len(shown))
        ]
        seen += [r[1] for r in shown]
    assert seen == [line.unit.name for line in lines]
    first = page_of(client, long_plan)
    assert "Trang 1/4" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "data-rank-" not in first  # the browser cannot sort one page as the whole plan
    assert "data-live-search" not in first
    assert "Bảng có 34 đơn vị, mỗi trang 10" in first
    # The tiles and the total stay the whole plan's.
    total = plan_summary(long_plan).totals
    assert formatting.units(total.collected) in first.split("Tổng cộng cả kế hoạch", 1)[1]


def test_sorting_and_filters_run_over_the_whole_plan(client, long_plan):
    lines = plan_summary(long_plan).lines
    best = sorted((ln for ln in lines if ln.rate is not None), key=lambda ln: ln.rate, reverse=True)
    top = rows(page_of(client, long_plan, sort="rate", dir="desc"))
    assert [r[1] for r in top] == [ln.unit.name for ln in best[:SIZE]]
    second = page_of(client, long_plan, sort="rate", dir="desc", trang=2)
    assert [r[1] for r in rows(second)] == [ln.unit.name for ln in best[SIZE : 2 * SIZE]]
    # The pager keeps the sort.
    assert re.search(r'href="[^"]*sort=rate[^"]*dir=desc[^"]*trang=3', second.replace("&amp;", "&"))
    # A unit on the last page is found from the first.
    last = lines[-1].unit.name
    found = rows(page_of(client, long_plan, q=last))
    assert [r[1] for r in found] == [last]
    behind = [ln for ln in lines if ln.is_holder and not ln.status.completed]
    filtered = page_of(client, long_plan, status="not_completed")
    assert f"Bảng có {len(behind)} đơn vị" in filtered or len(behind) <= SIZE


@pytest.mark.parametrize("asked", ["99", "0", "-1", "abc", "²", "1" * 40, "３"])
def test_a_page_out_of_range_or_not_a_number_shows_a_page(client, long_plan, asked):
    page = page_of(client, long_plan, trang=asked)
    shown = rows(page)
    assert shown and ("Trang 4/4" in page if asked == "99" else "Trang 1/4" in page)


def test_the_chart_of_a_long_plan_shows_the_holders_furthest_behind(client, long_plan, monkeypatch):
    monkeypatch.setattr(dashboard, "CHART_BARS", 5)
    holders = [ln for ln in plan_summary(long_plan).lines if ln.is_holder]
    behind = sorted(holders, key=lambda ln: (ln.rate or 0, sort_key(ln.unit.name)))[:5]
    page = page_of(client, long_plan)
    chart = page.split('aria-labelledby="chart-title"', 1)[1].split("</svg>", 1)[0]
    assert re.findall(r"<title>([^<:]+)</title>", chart) == [ln.unit.name for ln in behind]
    assert "Biểu đồ gồm 5 đơn vị có tỷ lệ thấp nhất." in page


def test_a_plan_within_a_page_is_not_paged(client, app, long_plan):
    app.config["DASHBOARD_PAGE_SIZE"] = 200
    page = page_of(client, long_plan, trang=2)
    assert len(rows(page)) == 34 and "Trang 1" not in page and "data-rank-name" in page


def test_more_groups_than_a_page_lists_show_those_of_the_page(client, long_plan, monkeypatch):
    """Subtotals of a plan with more groups than a page lists (a national plan by parent:
    47.000 groups, a 13 MB page): each page shows its own units' groups, each added up
    over every line of the group whatever its page, and says how many there are in all."""
    monkeypatch.setattr(dashboard, "GROUPS_LISTED", 1)
    # Unions under three communes of the plan hold quotas too: four parents in all.
    communes = [line.unit for line in plan_summary(long_plan).lines[:3]]
    unions = {
        f.unit(f"CĐCS {n} {node.name}", "union", db.session.get_one(OrgUnit, node.id)): 3
        for node in communes
        for n in (1, 2)
    }
    plans.set_quotas(long_plan, unions)
    f.commit()
    forget_kept_figures()
    made = plan_summary(long_plan)
    by_parent: dict[str, list[rates.Line]] = {}
    for line in made.lines:
        by_parent.setdefault(str(line.unit.parent_id), []).append(line)
    holding = {key for key, lines in by_parent.items() if any(ln.is_holder for ln in lines)}
    assert len(holding) > 2
    seen, notes = set(), []
    for number in (1, 2, 3, 4):
        board = dashboard.dashboard(long_plan, dashboard.Filters(group="parent", page=number),
                                    page_size=SIZE)  # fmt: skip
        parents = {str(line.unit.parent_id) for line in board.lines} & holding
        assert {group.key for group in board.groups} == parents
        names = [sort_key(group.name) for group in board.groups]
        assert names == sorted(names)
        for group in board.groups:
            assert group.totals == rates.totals(by_parent[group.key], made.rule)
        assert board.groups_count == len(holding)
        assert board.groups_of_the_page == (len(parents) < len(holding))
        seen |= parents
        page = page_of(client, long_plan, group="parent", trang=number)
        table = page.split('class="table groups"', 1)[1].split("</tbody>", 1)[0]
        assert table.count("<tr>") == len(parents) + 1  # and the header's
        note = f"thuộc {len(parents)} trong số {len(holding)} nhóm"
        assert (note in page) == board.groups_of_the_page
        notes.append(board.groups_of_the_page)
    assert seen == holding and notes == [False, True, True, True]
    # By kind, within the limit: every group, as before, and no note.
    monkeypatch.setattr(dashboard, "GROUPS_LISTED", 200)
    board = dashboard.dashboard(long_plan, dashboard.Filters(page=2), page_size=SIZE)
    kinds = {line.unit.kind for line in made.lines if line.is_holder}
    assert {group.key for group in board.groups} == kinds and not board.groups_of_the_page


def _close_rates(seed: int) -> rates.PlanSummary:
    """Rates close together (quotas in the billions, one unit between them), rates a float
    cannot tell apart (a third, and a third and a unit of 3·10¹⁷), ties, holders not
    reported and lines without a quota."""
    rng = random.Random(seed)
    units = [rates.UnitNode(0, None, "T", "Tỉnh", "province")]
    quotas, tallies = {}, {}
    for uid in range(1, 300):
        units.append(rates.UnitNode(uid, 0, f"U{uid}", rng.choice("ABC") + str(uid % 7), "x"))
        quota = rng.choice([0, 3, 7, 10**9 + rng.randrange(3), 10**9 + 1, 3 * 10**17])
        quotas[uid] = quota
        if rng.random() < 0.9:
            donors = rng.choice([0, 1, 2, quota // 3, quota // 3 + 1, quota])
            tallies[uid] = rates.Tally(1, donors, 0, rates.Bags(donors))
    return rates.summarize(units, quotas, tallies, rates.CountingRule.BAG)


@pytest.mark.parametrize("seed", range(5))
def test_the_holders_furthest_behind_are_those_of_the_exact_order(seed):
    """The chart's choice is the first of the exact order."""
    holders = [line for line in _close_rates(seed).lines if line.is_holder]
    for count in (1, 40, 299, 400):
        expected = sorted(holders, key=dashboard.behind)[:count]
        assert dashboard.furthest_behind(holders, count) == expected


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("desc", [False, True])
def test_lines_sorted_by_rate_come_in_the_exact_order(seed, desc):
    """Sorted by floats first, then runs of equal floats by the exact rate: the order of
    the exact rates, ties in the order they came (a stable sort), either way round."""
    lines = list(_close_rates(seed).lines)
    random.Random(seed).shuffle(lines)
    expected = sorted(lines, key=dashboard.SORTS["rate"], reverse=desc)
    assert dashboard.in_order(lines, "rate", desc) == expected
