"""The rules of DOMAIN.md, checked on the pure functions of ``campaign.rates``."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from fractions import Fraction as F

import pytest

from campaign import formatting
from campaign.rates import (
    Bags,
    CountingRule,
    Shares,
    Status,
    Tally,
    Target,
    Targets,
    Timeliness,
    UnitNode,
    UnitTree,
    blood_units,
    brought_up,
    completion_rate,
    default_report_due,
    display_percent,
    display_share,
    display_units,
    over_amount,
    over_rate,
    progress,
    reporting_totals,
    requoted,
    result_tally,
    rough_rate,
    status,
    subtree,
    summarize,
    timeliness,
    totals,
)

BAG, ML250 = CountingRule.BAG, CountingRule.ML250


def node(uid: int, parent: int | None = None, kind: str = "commune") -> UnitNode:
    return UnitNode(uid, parent, f"U{uid:03d}", f"Đơn vị {uid}", kind)


def reported(ml250=0, ml350=0, ml450=0, *, deferred=0, reports=1) -> Tally:
    """Counted results; everyone registered either donated or was deferred."""
    bags = Bags(ml250, ml350, ml450)
    return Tally(reports, bags.donations + deferred, deferred, bags)


def by_id(summary) -> dict:
    return {line.unit.id: line for line in summary.lines}


# --- How blood units are counted --------------------------------------------


@pytest.mark.parametrize(
    ("bags", "per_bag", "per_250ml"),
    [
        (Bags(), F(0), F(0)),
        (Bags(ml250=1), F(1), F(1)),
        (Bags(ml350=1), F(1), F(7, 5)),  # 1,4
        (Bags(ml450=1), F(1), F(9, 5)),  # 1,8
        (Bags(0, 1, 1), F(2), F(16, 5)),
        (Bags(10, 30, 5), F(45), F(61)),  # the worked example
    ],
)
def test_blood_units_under_both_rules(bags, per_bag, per_250ml):
    assert blood_units(bags, BAG) == per_bag
    assert blood_units(bags, ML250) == per_250ml


def test_tally_adds_every_field_and_counts_from_bags():
    a = Tally(reports=1, registered=12, deferred=2, bags=Bags(10, 0, 0))
    b = Tally(reports=2, registered=40, deferred=5, bags=Bags(0, 30, 5))
    total = a + b
    assert total == Tally(3, 52, 7, Bags(10, 0, 0) + Bags(0, 30, 0) + Bags(0, 0, 5))
    assert (total.bags.millilitres, total.donors) == (2_500 + 10_500 + 2_250, 45)
    assert (total.collected(BAG), total.collected(ML250)) == (45, 61)


@pytest.mark.parametrize(
    ("rule", "collected", "rate", "shown", "over_by", "over_by_rate"),
    [
        (BAG, F(45), F(9, 8), "112,5%", F(5), F(1, 8)),
        (ML250, F(61), F(61, 40), "152,5%", F(21), F(21, 40)),
    ],
)
def test_worked_example_quang_binh(rule, collected, rate, shown, over_by, over_by_rate):
    binh = node(2, parent=1)
    summary = summarize([node(1, kind="district"), binh], {2: 40}, {2: reported(10, 30, 5)}, rule)
    (line,) = summary.lines
    assert (line.collected, line.rate, line.status) == (collected, rate, Status.OVER)
    assert (line.over_amount, line.over_rate) == (over_by, over_by_rate)
    assert formatting.percent(line.rate) == shown
    assert formatting.units(line.collected) == str(collected)
    assert formatting.percent(line.over_rate) == ("12,5%" if rule is BAG else "52,5%")


@pytest.mark.parametrize(
    ("units", "shown", "text"),
    [
        (F(45), "45", "45"),
        (F(7, 5), "1.4", "1,4"),
        (F(9, 5), "1.8", "1,8"),
        (F(1, 4), "0.3", "0,3"),  # half up
        (F(0), "0", "0"),
        (F(75_757, 5), "15151.4", "15.151,4"),
    ],
)
def test_display_units(units, shown, text):
    assert str(display_units(units)) == shown
    assert formatting.units(units) == text


# --- Rate, status, over target ----------------------------------------------


@pytest.mark.parametrize(
    ("quota", "collected", "reports", "expected"),
    [
        (None, F(5), 1, Status.NO_QUOTA),
        (0, F(5), 1, Status.NO_QUOTA),
        (40, F(0), 0, Status.NOT_REPORTED),
        (40, F(0), 1, Status.BELOW),  # a counted result of zero donations
        (40, F(39), 3, Status.BELOW),
        (2_000, F(1_999), 1, Status.BELOW),
        (40, F(40), 1, Status.MET),
        (40, F(41), 1, Status.OVER),
        (5, F(24, 5), 1, Status.BELOW),  # 4,8 units under ml250
        (4, F(21, 5), 1, Status.OVER),  # 4,2 units
        (2_000, F(10_001, 5), 1, Status.OVER),  # 2.000,2 units
    ],
)
def test_status_from_exact_values(quota, collected, reports, expected):
    assert status(quota, collected, reports) is expected


def test_completed_means_met_or_over():
    assert {s for s in Status if s.completed} == {Status.MET, Status.OVER}


@pytest.mark.parametrize(
    ("collected", "quota", "rate", "amount", "rate_over"),
    [
        (F(45), 40, F(9, 8), F(5), F(1, 8)),
        (F(61), 40, F(61, 40), F(21), F(21, 40)),
        (F(40), 40, F(1), F(0), F(0)),
        (F(30), 40, F(3, 4), F(0), F(0)),
        (F(0), 40, F(0), F(0), F(0)),
        (F(7, 5), 1, F(7, 5), F(2, 5), F(2, 5)),
        (F(5), 0, None, F(0), F(0)),
        (F(5), None, None, F(0), F(0)),
    ],
)
def test_rate_and_over_target(collected, quota, rate, amount, rate_over):
    assert completion_rate(collected, quota) == rate
    assert over_amount(collected, quota) == amount
    assert over_rate(collected, quota) == rate_over


@pytest.mark.parametrize(
    ("rate", "shown", "text"),
    [
        (F(0), "0.0", "0,0%"),
        (F(1, 8), "12.5", "12,5%"),
        (F(2, 3), "66.7", "66,7%"),
        (F(1, 3), "33.3", "33,3%"),
        (F(1, 16), "6.3", "6,3%"),  # 6,25 half up
        (F(1, 2_000), "0.1", "0,1%"),  # 0,05 half up
        (F(19, 20), "95.0", "95,0%"),
        (F(1_999, 2_000), "99.9", "99,9%"),  # 99,95 would round to 100,0
        (F(19_999, 20_000), "99.9", "99,9%"),
        (F(199, 200), "99.5", "99,5%"),  # below, and clear of 100,0: shown as it is
        (F(1), "100.0", "100,0%"),
        (F(20_001, 20_000), "100.1", "100,1%"),  # 100,005 would round to 100,0
        (F(40_001, 40_000), "100.1", "100,1%"),
        (F(2_001, 2_000), "100.1", "100,1%"),  # 100,05 half up
        (F(201, 200), "100.5", "100,5%"),  # over, and already clear of 100,0: shown as it is
        (F(101, 100), "101.0", "101,0%"),
        (F(9, 8), "112.5", "112,5%"),
        (F(611, 500), "122.2", "122,2%"),
        (F(61, 40), "152.5", "152,5%"),
        (F(12_345, 100), "12345.0", "12.345,0%"),
    ],
)
def test_display_percent_one_decimal_never_contradicting_status(rate, shown, text):
    assert str(display_percent(rate)) == shown
    assert display_percent(rate) == Decimal(shown)
    assert formatting.percent(rate) == text


def test_display_percent_of_no_rate():
    assert display_percent(None) is None
    assert formatting.percent(None) == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (443, "443"),
        (15_151, "15.151"),
        (1_234_567, "1.234.567"),
        (Decimal("122.2"), "122,2"),
        (Decimal("1234.5"), "1.234,5"),
        (None, ""),
    ],
)
def test_formatting_number(value, text):
    assert formatting.number(value) == text


@pytest.mark.parametrize(
    ("day", "place", "text"),
    [
        (date(2021, 5, 13), "Quảng Xương", "Quảng Xương, ngày 13 tháng 5 năm 2021"),
        (date(2020, 12, 28), "", "ngày 28 tháng 12 năm 2020"),
        (date(2021, 1, 5), "", "ngày 05 tháng 01 năm 2021"),
        (date(2021, 2, 9), "", "ngày 09 tháng 02 năm 2021"),
        (date(2021, 3, 1), "", "ngày 01 tháng 3 năm 2021"),
        (date(2021, 10, 10), "", "ngày 10 tháng 10 năm 2021"),
    ],
)
def test_formatting_long_date(day, place, text):
    assert formatting.long_date(day, place) == text


# --- A plan's summary -------------------------------------------------------

# 1 district (issuer)
# ├── 2 Quảng Bình, quota 40
# │   ├── 3 school, no quota
# │   │   └── 4 the school's union, no quota
# │   └── 5 agency, quota 0
# ├── 6 Quảng Ngọc, quota 20, nothing reported
# ├── 7 Quảng Khê, no quota entry
# └── 8 Tiên Trang, quota 0
FLAT = [node(1, kind="district"), node(2, 1), node(3, 2, "school"), node(4, 3, "union"),
        node(5, 2, "agency"), node(6, 1), node(7, 1), node(8, 1)]  # fmt: skip
FLAT_QUOTAS = {2: 40, 5: 0, 6: 20, 8: 0}
FLAT_TALLIES = {2: reported(10, deferred=2), 4: reported(5, 10, deferred=3),
                5: reported(ml450=5, deferred=1),
                7: reported(4), 8: reported(3, deferred=1)}  # fmt: skip


@pytest.mark.parametrize(("rule", "collected"), [(BAG, F(30)), (ML250, F(38))])
def test_results_roll_up_from_every_unit_below(rule, collected):
    lines = by_id(summarize(FLAT, FLAT_QUOTAS, FLAT_TALLIES, rule))
    binh = lines[2]
    assert (binh.collected, binh.rate, binh.status) == (collected, collected / 40, Status.BELOW)
    assert (binh.tally.reports, binh.tally.donors) == (3, 30)


def test_quota_zero_and_no_quota():
    summary = summarize(FLAT, FLAT_QUOTAS, FLAT_TALLIES, BAG)
    lines = by_id(summary)
    assert list(lines) == [2, 5, 6, 8]  # parents before children, only quota entries
    for line in (lines[5], lines[8]):
        assert (line.status, line.rate, line.rate_percent) == (Status.NO_QUOTA, None, None)
        assert not line.is_holder
    assert lines[5].collected == 5  # and counted in Quảng Bình's 30 above
    assert lines[5].holder_parent_id == 2
    assert lines[2].allocated_below is None  # a quota of 0 allocates nothing
    assert (lines[6].status, lines[6].collected) == (Status.NOT_REPORTED, 0)


def test_results_outside_every_quota_holder_are_shown_apart():
    summary = summarize(FLAT, FLAT_QUOTAS, FLAT_TALLIES, BAG)
    assert [o.unit.id for o in summary.outside] == [7, 8]
    assert summary.collected_outside == 7
    assert summary.tally_outside == reported(4) + reported(3, deferred=1)
    t = summary.totals
    assert (t.quota, t.collected, t.tally.reports) == (60, 30, 3)
    assert (t.holders, t.completed, t.over, t.not_reported) == (2, 0, 0, 1)


@pytest.mark.parametrize(
    ("rule", "outside_7", "outside_8"),
    [(BAG, F(6), F(3)), (ML250, F(250 + 2 * 350 + 3 * 450, 250), F(350 + 2 * 450, 250))],
)
def test_results_outside_every_quota_holder_follow_the_plan_rule(rule, outside_7, outside_8):
    """350 and 450 ml bags outside every holder: one unit a bag, or 1,4 and 1,8 per 250 ml."""
    tallies = {**FLAT_TALLIES, 7: reported(1, 2, 3), 8: reported(ml350=1, ml450=2)}
    summary = summarize(FLAT, FLAT_QUOTAS, tallies, rule)
    assert summary.rule is rule
    assert [(o.unit.id, o.collected) for o in summary.outside] == [(7, outside_7), (8, outside_8)]
    assert summary.collected_outside == outside_7 + outside_8
    assert summary.tally_outside.bags == Bags(1, 3, 5)


def test_issuer_own_results_are_outside():
    summary = summarize([node(1), node(2, 1)], {2: 10}, {1: reported(6), 2: reported(4)}, BAG)
    assert [o.unit.id for o in summary.outside] == [1]
    assert summary.totals.collected == 4


def test_province_plan_counts_what_units_below_the_district_report():
    """The province plan's one quota is the district's; units below report in district drives."""
    province, district = node(1, kind="province"), node(2, 1, kind="district")
    communes = [node(3, 2), node(4, 2), node(5, 4, "union")]
    tallies = {3: reported(20, 5), 4: reported(0, 10, 5), 5: reported(8)}
    summary = summarize([province, district, *communes], {2: 50}, tallies, BAG)
    (line,) = summary.lines
    assert (line.collected, line.status, line.depth) == (48, Status.BELOW, 1)
    assert line.tally == tallies[3] + tallies[4] + tallies[5]
    assert summary.outside == []
    assert summary.totals.rate == F(48, 50)
    ml250 = summarize([province, district, *communes], {2: 50}, tallies, ML250)
    assert ml250.lines[0].collected == F(20 * 250 + 15 * 350 + 5 * 450 + 8 * 250, 250)
    assert ml250.lines[0].status is Status.OVER


# 1 district (issuer)
# ├── 2 commune A, quota 100
# │   ├── 3 school, no quota
# │   │   └── 4 union, quota 30
# │   ├── 5 agency, quota 50
# │   │   └── 6 agency's union, quota 10, nothing reported
# │   └── 7 village, quota 0
# └── 8 commune B, quota 20
NESTED = [node(1, kind="district"), node(2, 1), node(3, 2, "school"), node(4, 3, "union"),
          node(5, 2, "agency"), node(6, 5, "union"), node(7, 2, "village"), node(8, 1)]  # fmt: skip
NESTED_QUOTAS = {2: 100, 4: 30, 5: 50, 6: 10, 7: 0, 8: 20}
NESTED_TALLIES = {uid: reported(n) for uid, n in {2: 20, 4: 35, 5: 40, 7: 5, 8: 18}.items()}


@pytest.mark.parametrize(
    ("uid", "collected", "state", "holder_parent", "allocated", "depth"),
    [
        (2, F(100), Status.MET, None, 80, 1),  # 30 + 50, not the 10 under the agency
        (4, F(35), Status.OVER, 2, None, 3),
        (5, F(40), Status.BELOW, 2, 10, 2),
        (6, F(0), Status.NOT_REPORTED, 5, None, 3),
        (7, F(5), Status.NO_QUOTA, 2, None, 2),
        (8, F(18), Status.BELOW, None, None, 1),
    ],
)
def test_nested_quota_holders(uid, collected, state, holder_parent, allocated, depth):
    line = by_id(summarize(NESTED, NESTED_QUOTAS, NESTED_TALLIES, BAG))[uid]
    assert (line.collected, line.status, line.depth) == (collected, state, depth)
    assert (line.holder_parent_id, line.allocated_below) == (holder_parent, allocated)


def test_allocation_gap():
    lines = by_id(summarize(NESTED, NESTED_QUOTAS, NESTED_TALLIES, BAG))
    assert [lines[uid].allocation_gap for uid in (2, 5, 8)] == [20, 40, None]
    over_allocated = summarize(NESTED, {2: 20, 4: 15, 5: 10}, NESTED_TALLIES, BAG)
    assert by_id(over_allocated)[2].allocation_gap == -5


def test_plan_totals_count_top_holders_once_and_every_holder_for_statuses():
    summary = summarize(NESTED, NESTED_QUOTAS, NESTED_TALLIES, BAG)
    t = summary.totals
    assert (t.quota, t.collected, t.tally.reports) == (100 + 20, F(118), 5)
    assert (t.rate, t.rate_percent) == (F(118, 120), Decimal("98.3"))
    assert (t.holders, t.completed, t.over, t.not_reported) == (5, 2, 1, 1)
    assert (t.completed_share, t.completed_percent) == (F(2, 5), Decimal("40.0"))
    assert summary.outside == []


def test_completed_share_of_the_article():
    """38 of 40 quota holders completed: "95% các đơn vị hoàn thành chỉ tiêu"."""
    units = [node(0, kind="district"), *(node(i, 0) for i in range(1, 41))]
    tallies = {i: reported(10 if i <= 38 else 9) for i in range(1, 41)}
    t = summarize(units, {i: 10 for i in range(1, 41)}, tallies, BAG).totals
    assert (t.holders, t.completed, t.over, t.not_reported) == (40, 38, 0, 0)
    assert (t.completed_share, t.completed_percent) == (F(38, 40), Decimal("95.0"))


def test_totals_of_a_plan_without_holders():
    t = summarize([node(1), node(2, 1)], {2: 0}, {2: reported(3)}, BAG).totals
    assert (t.quota, t.collected, t.holders) == (0, 0, 0)
    assert t.rate is None and t.completed_share is None and t.completed_percent is None


@pytest.mark.parametrize(
    ("group", "quota", "collected", "holders", "not_reported"),
    [
        ({2, 4}, 100, F(100), 2, 0),  # a holder and its nested holder: the top one only
        ({5, 6}, 50, F(40), 2, 1),
        ({4, 5}, 80, F(75), 2, 0),  # siblings: both
        ({6}, 10, F(0), 1, 1),  # the nested one alone counts
        ({4, 8}, 50, F(53), 2, 0),
        ({2, 4, 5, 6, 7, 8}, 120, F(118), 5, 1),
    ],
)
def test_totals_of_a_group(group, quota, collected, holders, not_reported):
    lines = summarize(NESTED, NESTED_QUOTAS, NESTED_TALLIES, BAG).lines
    t = totals([line for line in lines if line.unit.id in group], BAG)
    assert (t.quota, t.collected) == (quota, collected)
    assert (t.holders, t.not_reported) == (holders, not_reported)


def test_totals_of_a_group_with_a_holder_two_holders_down():
    """A's figures already hold the agency union's, though the agency between them is left out."""
    tallies = {**NESTED_TALLIES, 6: reported(7)}
    lines = summarize(NESTED, NESTED_QUOTAS, tallies, BAG).lines
    t = totals([line for line in lines if line.unit.id in {2, 6}], BAG)
    assert (t.quota, t.collected, t.tally.reports) == (100, F(107), 5)


def test_registered_donors_deferred_roll_up_like_collected():
    tallies = {4: Tally(1, 40, 5, Bags(30, 5, 0)), 6: Tally(1, 12, 2, Bags(0, 0, 10)),
               2: Tally(1, 7, 0, Bags(7, 0, 0)), 8: Tally(1, 3, 3, Bags())}  # fmt: skip
    summary = summarize(NESTED, NESTED_QUOTAS, tallies, ML250)
    lines = by_id(summary)
    commune_a = lines[2].tally
    assert (commune_a.registered, commune_a.donors, commune_a.deferred) == (59, 52, 7)
    assert lines[2].collected == F(37 * 250 + 5 * 350 + 10 * 450, 250)
    assert (lines[5].tally, lines[5].collected) == (tallies[6], 18)
    plan = summary.totals.tally
    assert (plan.registered, plan.donors, plan.deferred) == (62, 52, 10)
    assert (lines[8].status, lines[8].collected) == (Status.BELOW, 0)  # all three deferred


# A part of a tree, handed in without the district above it (id 1 is not among the nodes):
# 2 commune A, quota 30
# ├── 3 school, no quota
# │   └── 4 union, quota 10
# 8 commune B, quota 0
# └── 9 village, nothing reported: the last unit in order
SUBTREE = [node(2, 1), node(3, 2, "school"), node(4, 3, "union"), node(8, 1), node(9, 8, "village")]
SUBTREE_QUOTAS = {2: 30, 4: 10, 8: 0}
SUBTREE_TALLIES = {2: reported(4), 3: reported(ml350=2), 4: reported(12), 8: reported(ml450=5)}


@pytest.mark.parametrize("rule", [BAG, ML250])
def test_units_whose_parent_is_not_handed_in_are_roots(rule):
    summary = summarize(SUBTREE, SUBTREE_QUOTAS, SUBTREE_TALLIES, rule)
    assert summary.rule is rule
    lines = by_id(summary)
    assert list(lines) == [2, 4, 8]
    assert [(lines[uid].depth, lines[uid].holders_above) for uid in lines] == [
        (0, ()),
        (2, (2,)),
        (0, ()),
    ]
    assert lines[2].tally == SUBTREE_TALLIES[2] + SUBTREE_TALLIES[3] + SUBTREE_TALLIES[4]
    assert lines[2].allocated_below == 10
    assert [o.unit.id for o in summary.outside] == [8]
    assert (summary.totals.quota, summary.totals.holders) == (30, 2)
    assert summary.totals.tally == lines[2].tally


def test_results_roll_up_past_a_second_root_and_a_last_unit_without_results():
    summary = summarize(SUBTREE, SUBTREE_QUOTAS, SUBTREE_TALLIES, BAG)
    lines = by_id(summary)
    assert [(uid, lines[uid].collected, lines[uid].status) for uid in lines] == [
        (2, F(18), Status.BELOW),  # 4 of its own, 2 of the school, 12 of the union
        (4, F(12), Status.OVER),
        (8, F(5), Status.NO_QUOTA),
    ]
    assert (summary.totals.collected, summary.collected_outside) == (F(18), F(5))


def test_results_roll_up_when_the_last_unit_in_order_has_none():
    units = [node(1, kind="district"), node(2, 1), node(3, 2, "union"), node(4, 1)]
    summary = summarize(units, {2: 10}, {3: reported(7)}, BAG)
    (line,) = summary.lines
    assert (line.collected, line.status, line.tally.reports) == (F(7), Status.BELOW, 1)
    assert summary.outside == []


# --- Errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("quotas", "tallies"),
    [({99: 10}, {}), ({}, {99: reported(1)}), ({2: 10}, {99: reported(1)})],
)
def test_unit_missing_from_the_tree(quotas, tallies):
    with pytest.raises(ValueError, match="99"):
        summarize([node(1), node(2, 1)], quotas, tallies, BAG)


@pytest.mark.parametrize(
    "units",
    [
        [node(1), node(2, 3), node(3, 2)],  # a loop beside the root
        [node(1, 2), node(2, 1)],  # nothing but a loop
        [node(1), node(2, 2)],  # its own parent
    ],
)
def test_cycle(units):
    with pytest.raises(ValueError, match="cycle"):
        summarize(units, {}, {}, BAG)


@pytest.mark.parametrize("seed", range(5))
def test_a_tree_summarised_many_times_gives_what_a_new_list_gives(seed):
    """A kept tree works out its shape once and is summarised under many plans' quotas:
    nothing of one summary's holders may stay in it for the next."""
    rng = random.Random(seed)
    units = [node(1, kind="province")]
    for uid in range(2, 80):
        units.append(node(uid, rng.choice(units).id, rng.choice(["district", "commune"])))
    units.append(node(500, 499))  # its parent not handed in: a root of its own
    rng.shuffle(units)
    tree = UnitTree(units)
    for _ in range(6):
        quotas = {u.id: rng.choice([0, 5, 10, 40]) for u in rng.sample(units, k=25)}
        tallies = {u.id: reported(rng.randrange(9)) for u in rng.sample(units, k=40)}
        rule = rng.choice([BAG, ML250])
        assert summarize(tree, quotas, tallies, rule) == summarize(
            list(units), quotas, tallies, rule
        )
    order, depth = tree.walk
    assert len(order) == len(units) and depth[1] == depth[500] == 0


def _flat(t: Tally) -> tuple[int, ...]:
    return (t.reports, t.registered, t.deferred, *t.bags, t.repeat_donors, t.repeat_base)


@pytest.mark.parametrize("seed", range(40))
def test_a_summary_brought_up_to_date_is_the_summary_made_anew(seed):
    """A few units report more, less, for the first time or no longer: the summary brought
    up to date from their changes is the one made from the tallies after them, line by
    line, apart and in total; or None where a unit comes to be counted apart."""
    rng = random.Random(seed)
    units = [node(1, kind="province")]
    for uid in range(2, 60):
        units.append(node(uid, rng.choice(units).id, rng.choice(["district", "commune"])))
    tree = UnitTree(units)
    quotas = {u.id: rng.choice([0, 5, 10, 40]) for u in rng.sample(units, k=rng.randrange(1, 20))}
    rule = rng.choice([BAG, ML250])

    def tally() -> Tally:
        bags = Bags(rng.randrange(6), rng.randrange(6), rng.randrange(3))
        repeat = rng.choice([None, rng.randrange(bags.donations + 1)])
        return result_tally(bags.donations + rng.randrange(3), rng.randrange(3), bags, repeat)

    before = {u.id: tally() for u in rng.sample(units, k=30)}
    made = summarize(tree, quotas, before, rule)
    after = dict(before)
    for u in rng.sample(units, k=rng.randrange(1, 6)):
        if u.id in after and rng.random() < 0.3:
            del after[u.id]  # its results deleted
        else:
            after[u.id] = after[u.id] + tally() if u.id in after else tally()
    changes = {}
    for uid in before.keys() | after.keys():
        was, now = _flat(before.get(uid, Tally())), _flat(after.get(uid, Tally()))
        if was != now:
            changes[uid] = tuple(n - w for n, w in zip(now, was, strict=True))
    nodes = {u.id: u for u in units}
    positions = {line.unit.id: at for at, line in enumerate(made.lines)}
    brought = brought_up(made, nodes, positions, after, changes)
    anew = summarize(tree, quotas, after, rule)
    if brought is None:  # only where the list apart gains a unit
        assert {o.unit.id for o in anew.outside} - {o.unit.id for o in made.outside}
    else:
        assert brought == anew


@pytest.mark.parametrize("seed", range(80))
def test_a_summary_requoted_is_the_summary_made_anew(seed):
    """Some quota amounts and headcounts change: the summary made again from the changed
    lines is the one made from the new quotas, line by line and in total; or None where
    an entry comes or goes, or a unit starts or stops holding a quota."""
    rng = random.Random(seed)
    units = [node(1, kind="province")]
    for uid in range(2, 60):
        units.append(node(uid, rng.choice(units).id, rng.choice(["district", "commune"])))
    tree = UnitTree(units)
    entries = rng.sample(units, k=rng.randrange(1, 25))
    quotas = {u.id: rng.choice([0, 5, 10, 40]) for u in entries}
    headcounts = {uid: rng.randrange(1, 99) for uid in quotas if rng.random() < 0.5}
    tallies = {
        u.id: reported(rng.randrange(6), rng.randrange(6), rng.randrange(3))
        for u in rng.sample(units, k=30)
    }
    rule = rng.choice([BAG, ML250])
    made = summarize(tree, quotas, tallies, rule, headcounts)
    positions = {line.unit.id: at for at, line in enumerate(made.lines)}
    after, counted = dict(quotas), dict(headcounts)
    for uid in rng.sample(sorted(quotas), k=rng.randrange(1, len(quotas) + 1)):
        what = rng.random()
        if what < 0.6 and after[uid]:  # another amount: the same holders
            after[uid] = rng.choice([1, 5, 12, 40, 41])
        elif what < 0.8:
            counted[uid] = rng.randrange(1, 99)
        elif what < 0.9:
            after[uid] = rng.choice([0, 7])  # maybe no longer a holder, maybe now one
        else:
            del after[uid]  # an entry gone
    if rng.random() < 0.1:
        after[rng.choice(units).id] = 3  # maybe an entry more
    requoted_ = requoted(made, positions, after, counted)
    anew = summarize(tree, after, tallies, rule, counted)
    holding = {uid for uid, q in quotas.items() if q > 0}
    if requoted_ is None:
        assert after.keys() != quotas.keys() or {u for u, q in after.items() if q > 0} != holding
    else:
        assert requoted_ == anew


@pytest.mark.parametrize(
    ("quota", "collected", "shown"),
    [(20000, 20001, Decimal("0.1")), (40, 45, Decimal("12.5")), (40, 40, None), (40, 39, None)],
)
def test_over_rate_shown_only_when_over_and_never_as_zero(quota, collected, shown):
    unit = UnitNode(1, None, "A", "A", "commune")
    line = summarize([unit], {1: quota}, {1: Tally(1, collected, 0, Bags(collected))}, BAG).lines[0]
    assert line.over_rate_percent == shown


# --- Targets beyond blood units ----------------------------------------------------


def test_large_bag_share_is_350_and_450_ml_bags_over_donations_whatever_the_rule():
    tally = reported(10, 30, 5)
    assert tally.large_bag_share == F(35, 45)
    assert display_share(tally.large_bag_share) == Decimal("77.8")
    assert reported().large_bag_share is None  # no donation: nothing to judge


def test_repeat_share_counts_only_the_results_that_recorded_repeat_donors():
    counted = result_tally(12, 2, Bags(10, 0, 0), repeat_donors=4)
    not_counted = result_tally(30, 0, Bags(30, 0, 0), repeat_donors=None)
    assert (counted + not_counted).repeat_share == F(4, 10)  # not 4 / 40
    assert not_counted.repeat_share is None
    assert result_tally(3, 3, Bags(), repeat_donors=0).repeat_share is None  # nobody donated


def test_participation_is_donations_over_the_headcount_and_unknown_without_one():
    units = [node(1, kind="district"), node(2, 1), node(3, 1)]
    tallies = {2: reported(45), 3: reported(12)}
    summary = summarize(units, {2: 100, 3: 20}, tallies, BAG, headcounts={2: 200})
    lines = by_id(summary)
    assert lines[2].headcount == 200 and lines[2].shares.participation == F(45, 200)
    assert lines[3].headcount is None and lines[3].shares.participation is None
    # Overall: only the holders with a headcount, donations and people each counted once.
    assert summary.totals.shares.participation == F(45, 200)


def test_participation_of_a_nested_holder_counts_its_people_once():
    """Commune A (headcount 400) holds the union below it (headcount 60): the total is A's."""
    summary = summarize(NESTED, NESTED_QUOTAS, NESTED_TALLIES, BAG, headcounts={2: 400, 4: 60})
    lines = by_id(summary)
    assert lines[4].shares.participation == F(35, 60)
    assert lines[2].shares.participation == F(20 + 35 + 40 + 5, 400)
    assert (summary.totals.headcount, summary.totals.headcount_donations) == (400, 100)


def test_targets_roll_up_like_every_other_figure():
    tallies = {4: result_tally(40, 0, Bags(10, 30, 0), 8), 5: result_tally(20, 0, Bags(20), None)}
    lines = by_id(summarize(NESTED, NESTED_QUOTAS, tallies, ML250))
    assert lines[2].shares.large_bag == F(30, 60)
    assert lines[2].shares.repeat == F(8, 40)  # union 4 counted its repeat donors, agency 5 not


@pytest.mark.parametrize(
    ("share", "target", "shown", "missed"),
    [
        (F(6996, 10000), 70, Decimal("69.9"), True),  # 69,96 % never reads as 70 %
        (F(7, 10), 70, Decimal("70.0"), False),
        (F(7001, 10000), 70, Decimal("70.0"), False),
        (F(6996, 10000), None, Decimal("70.0"), False),  # no target: plain rounding
        (F(9996, 10000), 100, Decimal("99.9"), True),
        (None, 70, None, False),  # unknown: nothing to judge
    ],
)
def test_a_share_below_its_target_never_shows_as_reaching_it(share, target, shown, missed):
    targets = Targets(large_bag=target)
    shares = Shares(share, None, None)
    assert display_share(share, target) == shown
    assert shares.percents(targets)[Target.LARGE_BAG] == shown
    assert (shares.missed(targets) == [Target.LARGE_BAG]) is missed


def test_missed_targets_do_not_change_the_quota_status():
    lines = by_id(summarize(NESTED, NESTED_QUOTAS, {2: reported(100)}, BAG, headcounts={2: 1000}))
    targets = Targets(large_bag=70, repeat=40, participation=30)
    assert lines[2].status is Status.MET
    assert lines[2].shares.missed(targets) == [Target.LARGE_BAG, Target.PARTICIPATION]
    assert targets.set() == [Target.LARGE_BAG, Target.REPEAT, Target.PARTICIPATION]
    assert Targets(repeat=40).set() == [Target.REPEAT]


# --- Progress through the year -----------------------------------------------------


def test_progress_cumulates_what_the_summary_counts_month_by_month():
    """NESTED: commune A (100) holds the union 4 (30); commune B (20); the district reports
    for itself, outside every quota holder, so it never counts."""
    monthly = {
        3: {4: Bags(10), 1: Bags(50)},
        6: {2: Bags(ml350=5), 8: Bags(8)},
        11: {5: Bags(ml450=5)},
    }
    quota = 120
    points = progress(NESTED, NESTED_QUOTAS, monthly, ML250, quota, months=12)
    assert [p.month for p in points] == list(range(1, 13))
    assert points[1] == (2, F(0), F(0), F(20))  # February: nothing yet, pace 120 × 2 / 12
    assert (points[2].collected, points[2].cumulative) == (F(10), F(10))
    assert (points[5].collected, points[5].cumulative) == (F(7) + 8, F(25))
    assert points[11].cumulative == F(25) + F(9)  # 5 bags of 450 ml are 9 units
    tallies = {uid: Tally(1, 0, 0, b) for month in monthly.values() for uid, b in month.items()}
    assert (
        points[-1].cumulative == summarize(NESTED, NESTED_QUOTAS, tallies, ML250).totals.collected
    )


def test_progress_of_one_unit_is_its_subtree_and_stops_at_the_current_month():
    monthly = {3: {4: Bags(10), 8: Bags(8)}, 6: {2: Bags(4)}, 9: {2: Bags(6)}}
    points = progress(NESTED, NESTED_QUOTAS, monthly, BAG, 100, months=7, within=2)
    assert len(points) == 7
    assert [p.cumulative for p in points] == [0, 0, 10, 10, 10, 14, 14]
    assert points[6].pace == F(700, 12)
    assert progress(NESTED, NESTED_QUOTAS, monthly, BAG, 100, months=0) == []


# --- reports on time ----------------------------------------------------------------


DUE = date(2021, 6, 15)


@pytest.mark.parametrize(
    ("submitted_on", "today", "state", "days_late"),
    [
        (date(2021, 6, 12), date(2021, 6, 30), Timeliness.ON_TIME, None),
        (DUE, date(2021, 6, 30), Timeliness.ON_TIME, None),  # the deadline day is on time
        (date(2021, 6, 16), date(2021, 6, 30), Timeliness.LATE, 1),
        (date(2021, 7, 1), date(2021, 7, 2), Timeliness.LATE, 16),
        (None, date(2021, 6, 16), Timeliness.OVERDUE, 1),
        (None, date(2021, 6, 25), Timeliness.OVERDUE, 10),
        (None, DUE, Timeliness.NOT_DUE, None),
        (None, date(2021, 6, 1), Timeliness.NOT_DUE, None),
    ],
)
def test_a_report_is_on_time_late_overdue_or_not_due(submitted_on, today, state, days_late):
    assert timeliness(DUE, submitted_on, today) == (state, days_late)


def test_the_default_deadline_is_three_days_after_the_drive_and_never_overflows():
    assert default_report_due(date(2021, 6, 12)) == date(2021, 6, 15)
    assert default_report_due(date(2021, 12, 30)) == date(2022, 1, 2)
    assert default_report_due(date(9999, 12, 30)) == date(9999, 12, 31)


def test_reporting_totals_count_each_expected_unit_once():
    states = [Timeliness.ON_TIME] * 3 + [Timeliness.LATE] + [Timeliness.OVERDUE] * 2
    made = reporting_totals([*states, Timeliness.NOT_DUE])

    assert (made.expected, made.received, made.on_time, made.late, made.overdue) == (
        7, 4, 3, 1, 2
    )  # fmt: skip
    assert made.rate == F(4, 7)
    assert made.on_time_rate == F(3, 7)
    assert reporting_totals([]).rate is None


def test_a_rough_rate_never_puts_two_rates_the_other_way_round():
    """Rates a float cannot tell apart come out equal, never reversed; no quota is 0."""
    q = 10**9 + 7
    collected = [F(0), F(7, 5), F(q - 1), F(5 * q - 1, 5), F(q), F(5 * q + 1, 5), F(q + 1)]
    rough = [rough_rate(c, q) for c in collected]
    assert rough == sorted(rough)
    assert rough[-3] == 1.0  # 1 exactly; 1 ± 1/(5q) rounds to 1 too
    assert rough_rate(F(7, 5), 2) == 0.7
    assert rough_rate(F(5), None) == rough_rate(F(5), 0) == 0.0


def test_a_subtree_is_the_unit_and_everything_under_it_whichever_was_asked_before():
    """A unit's page asks for its subtree several times, and the last one asked is kept
    with the tree: asking for another unit, or for one of another tree, is never answered
    with it."""
    units = [node(1), node(2, 1), node(3, 1), node(4, 2), node(5, 4), node(6, 3)]
    tree, other = UnitTree(units), UnitTree([*units, node(7, 2)])
    assert subtree(tree, 2) == {2, 4, 5}
    assert subtree(tree, 2) == {2, 4, 5}
    assert subtree(other, 2) == {2, 4, 5, 7}
    assert subtree(tree, 1) == {1, 2, 3, 4, 5, 6}
    assert subtree(tree, 6) == {6}
    assert subtree(tree, 2) == {2, 4, 5}
    assert subtree(other, 2) == {2, 4, 5, 7}
