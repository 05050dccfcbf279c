"""The plan dashboard: rates' figures on the demo data, filters, search, sorting,
subtotals, the chart, a unit's page, the English switch and a fixed query count."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from fractions import Fraction

import openpyxl
import pytest

from campaign import formatting, labels, rates
from campaign.extensions import db
from campaign.formatting import vietnam_today
from campaign.models import OrgUnit, Plan
from campaign.rates import Status, totals
from campaign.services import exports, plans
from campaign.services.summary import (
    forget_kept_figures,
    plan_progress,
    plan_summary,
    read_plan_and_months,
)
from tests import factories as f

pytestmark = pytest.mark.usefixtures("fast_passwords")


def rows(page: str) -> list[list[str]]:
    """The units table's cells as a wide screen shows them: without the status repeated
    under each name for a phone."""
    body = page.split('id="units-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    body = re.sub(r'<div class="narrow-only">.*?</div>', "", body, flags=re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def tile(page: str, label: str) -> str:
    match = re.search(rf"<dt>(?:<a [^>]*>)?{re.escape(label)}(?:</a>)?</dt><dd>(.*?)</dd>", page)
    assert match, label
    return match[1]


def test_dashboard_numbers_are_rates_numbers_on_the_demo_data(client, demo_plan):
    summary = plan_summary(demo_plan)
    t = summary.totals
    page = client.get(f"/ke-hoach/{demo_plan.id}").get_data(as_text=True)
    assert tile(page, "Tổng chỉ tiêu") == formatting.number(t.quota)
    assert tile(page, "Đã thu") == formatting.units(t.collected)
    assert tile(page, "Tỷ lệ chung") == formatting.percent(t.rate)
    assert tile(page, "Hoàn thành chỉ tiêu") == (
        f"{t.completed}/{t.holders} ({formatting.percent(t.completed_share)})"
    )
    assert tile(page, "Vượt chỉ tiêu") == str(t.over)
    assert tile(page, "Chưa báo cáo") == str(t.not_reported)
    # The tile leads to the units to chase, of the latest drive that has begun.
    chased = max(demo_plan.drives, key=lambda d: d.starts_on)
    assert f'<dt><a href="/bao-cao/dot/{chased.id}#chua-bao-cao">Chưa báo cáo</a></dt>' in page
    shown = rows(page)
    assert len(shown) == len(summary.lines) == 34
    for row, line in zip(shown, summary.lines, strict=True):
        assert row[1] == line.unit.name
        assert row[3] == formatting.number(line.quota)
        assert row[7] == formatting.units(line.collected)
        assert row[8] == formatting.percent(line.rate)
        assert row[10] == labels.STATUS[line.status.value]
    # Subtotals by unit kind are rates.totals over each kind's lines.
    for kind in {line.unit.kind for line in summary.lines}:
        sub = totals([ln for ln in summary.lines if ln.unit.kind == kind], summary.rule)
        cells = (
            f"<td>{labels.UNIT_KIND[kind]}</td>\n"
            f'        <td class="num">{formatting.number(sub.quota)}</td>\n'
            f'        <td class="num">{formatting.units(sub.collected)}</td>\n'
            f'        <td class="num">{formatting.percent(sub.rate)}</td>'
        )
        assert cells in page, kind


def test_filters_search_and_sorting_work_as_links(client, demo_plan):
    summary = plan_summary(demo_plan)
    url = f"/ke-hoach/{demo_plan.id}"
    over = rows(client.get(url, query_string={"status": "over"}).get_data(as_text=True))
    assert len(over) == summary.totals.over
    assert {r[10] for r in over} == {"Vượt"}
    schools = rows(client.get(url, query_string={"kind": "school"}).get_data(as_text=True))
    assert schools and {r[2] for r in schools} == {"Trường học"}
    found = rows(client.get(url, query_string={"q": "quang binh"}).get_data(as_text=True))
    assert [r[1] for r in found] == ["Quảng Bình"]
    by_rate = rows(
        client.get(url, query_string={"sort": "rate", "dir": "desc"}).get_data(as_text=True)
    )
    best = max((ln for ln in summary.lines if ln.rate is not None), key=lambda ln: ln.rate)
    assert by_rate[0][1] == best.unit.name
    # Nonsense in the query string is ignored, never an error.
    assert (
        client.get(url, query_string={"status": "x", "sort": "y", "group": "z"}).status_code == 200
    )


def test_not_completed_filter_keeps_quota_holders_below_or_not_reported(client, demo_plan):
    t = plan_summary(demo_plan).totals
    page = client.get(f"/ke-hoach/{demo_plan.id}", query_string={"status": "not_completed"})
    shown = rows(page.get_data(as_text=True))
    assert len(shown) == t.holders - t.completed > 0
    assert {r[10] for r in shown} == {"Chưa đạt", "Chưa báo cáo"}
    assert '<option value="not_completed" selected>Chưa hoàn thành chỉ tiêu</option>' in (
        page.get_data(as_text=True)
    )


def test_with_not_completed_on_the_subtotals_and_chart_follow_and_the_page_says_so(
    client, demo_plan
):
    summary = plan_summary(demo_plan)
    t = summary.totals
    behind = [ln for ln in summary.lines if ln.is_holder and not ln.status.completed]
    page = client.get(
        f"/ke-hoach/{demo_plan.id}", query_string={"status": "not_completed"}
    ).get_data(as_text=True)
    chart = page.split('aria-labelledby="chart-title"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<rect") == len(behind) == t.holders - t.completed
    groups = page.split('class="table groups"', 1)[1].split("</tbody>", 1)[0]
    subtotals = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in re.findall(r"<tr>(.*?)</tr>", groups.split("<tbody>", 1)[1], re.S)
    ]
    expected = totals(behind, summary.rule)
    assert sum(int(row[1].replace(".", "")) for row in subtotals) == expected.quota
    assert {row[4].split("/")[0] for row in subtotals} == {"0"}  # none of them completed
    assert "(các đơn vị khớp bộ lọc)" in page
    assert "báo cáo Excel vẫn tính cả kế hoạch" in page
    # The tiles stay the plan's.
    assert tile(page, "Tổng chỉ tiêu") == formatting.number(t.quota)
    unfiltered = client.get(f"/ke-hoach/{demo_plan.id}").get_data(as_text=True)
    assert "Đang lọc" not in unfiltered and "khớp bộ lọc)" not in unfiltered


def test_subtotals_by_parent_and_the_chart(client, demo_plan):
    page = client.get(f"/ke-hoach/{demo_plan.id}?group=parent").get_data(as_text=True)
    assert "Cộng theo đơn vị cấp trên" in page
    assert "Huyện Quảng Xương" in page.split('class="table groups"', 1)[1]
    chart = page.split('aria-labelledby="chart-title"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<rect") == plan_summary(demo_plan).totals.holders
    assert 'style="' not in page  # the CSP blocks inline styles


def test_unit_page_shows_subtree_and_results_drive_by_drive(client, app, auth):
    district, (binh, ngoc) = f.district_with_communes(["Quảng Bình", "Quảng Ngọc"])
    union = f.unit("CĐCS Trường Tiểu học Quảng Bình", "union", binh)
    plan = f.plan(district)
    plans.set_quotas(plan, {binh: 40, ngoc: 20})
    f.result(f.drive(plan, "Đợt 1"), binh, 10, 30, 5)
    second = f.drive(plan, "Đợt 2")
    f.result(second, union, 4)
    f.result(second, binh, 9, state="draft")
    user = f.user("leader", [district])
    f.commit()
    auth.sign_in(user)
    page = client.get(f"/ke-hoach/{plan.id}/don-vi/{binh.id}").get_data(as_text=True)
    line = next(ln for ln in plan_summary(plan).lines if ln.unit.id == binh.id)
    assert line.collected == 49
    assert tile(page, "Đã thu") == "49" and tile(page, "Tỷ lệ") == formatting.percent(line.rate)
    assert "CĐCS Trường Tiểu học Quảng Bình" in page
    assert page.index("Đợt 1") < page.index("Đợt 2")
    assert "không tính" in page  # the draft is listed but not counted
    assert client.get(f"/ke-hoach/{plan.id}/don-vi/999999").status_code == 404
    other, (far,) = f.district_with_communes(["Hoằng Hóa"])
    f.commit()
    assert client.get(f"/ke-hoach/{plan.id}/don-vi/{far.id}").status_code == 403


def test_english_switch_on_the_dashboard(client, demo_plan):
    client.post("/ngon-ngu", data={"lang": "en"})
    page = client.get(f"/ke-hoach/{demo_plan.id}").get_data(as_text=True)
    assert "Total quota" in page and "Completion by unit" in page
    assert "Tổng chỉ tiêu" not in page
    # Numbers keep the Vietnamese form the reports use.
    assert formatting.percent(plan_summary(demo_plan).totals.rate) in page


def test_a_foreign_plan_is_refused(client, auth, app):
    district, _ = f.district_with_communes(["A"])
    plan = f.plan(district)
    other, _ = f.district_with_communes(["B"])
    user = f.user("leader", [other])
    f.commit()
    auth.sign_in(user)
    assert client.get(f"/ke-hoach/{plan.id}").status_code == 403


def _district_plan(size: int) -> tuple[Plan, OrgUnit]:
    district, communes = f.district_with_communes([f"Xã {i}" for i in range(size)])
    for c in communes[::3]:
        f.unit(f"CĐCS {c.name}", "union", c)
    plan = f.plan(district)
    plans.set_quotas(plan, {c: 10 for c in communes})
    for d in range(2):
        drive = f.drive(plan, f"Đợt {d}")
        for c in communes[::2]:
            f.result(drive, c, 3, 2, 1)
    f.commit()
    return plan, communes[0]


@pytest.mark.parametrize("page", ["dashboard", "unit"])
def test_query_count_does_not_grow_with_units(client, auth, app, count_queries, page):
    user = f.user("admin")  # one user: password hashing is slow on purpose
    f.commit()
    auth.sign_in(user)
    counts = []
    for size in (3, 30):
        plan, first = _district_plan(size)
        url = f"/ke-hoach/{plan.id}"
        if page == "unit":
            url += f"/don-vi/{first.id}"
        forget_kept_figures()  # whatever an earlier test of this process kept
        with count_queries:
            assert client.get(url).status_code == 200
        counts.append(count_queries.count)
        count_queries.statements.clear()
    assert counts[0] == counts[1], counts


def test_progress_bar_steps_never_run_ahead_of_the_figure():
    assert formatting.bar_step(Fraction(1999, 2000)) == 95
    assert formatting.bar_step(Fraction(9, 8)) == 100
    assert formatting.bar_step(Fraction(1, 21)) == 0
    assert formatting.bar_step(None) == 0
    assert str(formatting.bar_length(Fraction(9, 8), 300)) == "337.5"
    assert str(formatting.bar_length(Fraction(5), 300)) == "450.0"


def test_status_of_every_line_reads_as_text(client, demo_plan):
    page = client.get(f"/ke-hoach/{demo_plan.id}").get_data(as_text=True)
    for status in (Status.OVER, Status.BELOW):
        assert f'badge-{status.value}">{labels.STATUS[status.value]}<' in page


def test_the_plan_targets_show_as_columns_badges_and_a_filter(client, demo_plan):
    demo_plan.min_large_bag_percent, demo_plan.min_participation_percent = 70, 30
    holders = [line for line in plan_summary(demo_plan).lines if line.is_holder]
    first = db.session.get(OrgUnit, holders[0].unit.id)
    plans.set_quotas(demo_plan, {first: holders[0].quota}, headcounts={first: 10_000})
    f.commit()
    summary = plan_summary(demo_plan)
    targets = demo_plan.targets
    page = client.get(f"/ke-hoach/{demo_plan.id}").get_data(as_text=True)
    large = formatting.share(summary.totals.shares.large_bag, 70)
    assert tile(page, "Túi 350-450 ml (chỉ tiêu từ 70%)") == large
    assert "Hiến nhắc lại" not in page  # a target the plan does not set has no column
    by_name = {r[1]: r for r in rows(page)}
    missing = [line for line in summary.lines if line.is_holder and line.shares.missed(targets)]
    assert missing, "the demo plan has units below 70 % of large bags"
    for line in summary.lines:
        shown = by_name[line.unit.name]
        assert shown[10] == formatting.share(line.shares.large_bag, 70)
        assert shown[11] == formatting.share(line.shares.participation, 30)
        for target in line.shares.missed(targets) if line.is_holder else []:
            assert str(labels.TARGET_MISSED[target]) in shown[12]
    assert by_name[first.name][11] == formatting.share(Fraction(holders[0].tally.donors, 10_000))
    assert "Chưa đạt tỷ lệ tham gia" in by_name[first.name][12]
    assert by_name[first.name][12].startswith(str(labels.STATUS[holders[0].status.value]))
    filtered = rows(
        client.get(f"/ke-hoach/{demo_plan.id}?missed=participation").get_data(as_text=True)
    )
    assert [r[1] for r in filtered] == [first.name]
    # A target the plan does not set filters nothing.
    assert (
        len(rows(client.get(f"/ke-hoach/{demo_plan.id}?missed=repeat").get_data(as_text=True)))
        == 34
    )


def test_the_workbook_has_a_column_per_target_the_note_and_the_missed_ones(demo_plan):
    demo_plan.min_large_bag_percent = 70
    f.commit()
    summary = plan_summary(demo_plan)
    sheet = openpyxl.load_workbook(io.BytesIO(exports.summary_export(demo_plan)))["Tổng hợp"]
    header = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "STT")
    assert header[10:] == ("Tỷ lệ túi 350-450 ml", "Kết quả")
    by_name = {r[1]: r for r in sheet.iter_rows(values_only=True) if isinstance(r[0], int)}
    for line in summary.lines:
        row = by_name[line.unit.name]
        shown = rates.display_share(line.shares.large_bag, 70)
        assert row[10] == (None if shown is None else pytest.approx(float(shown) / 100))
        missed = line.is_holder and line.shares.missed(demo_plan.targets)
        assert ("chưa đạt tỷ lệ túi 350 ml" in row[11]) == bool(missed)
    text = [c for r in sheet.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert any(t.startswith("Chỉ tiêu khác của kế hoạch: tỷ lệ túi 350 ml") for t in text)


def test_the_months_agree_on_the_dashboard_the_unit_page_the_workbook_and_the_api(
    client, demo_plan
):
    summary, units, monthly = read_plan_and_months(demo_plan)
    quota, months = plan_progress(demo_plan, summary, units, vietnam_today(), None, monthly)
    assert len(months) == 12  # a plan of 2021: every month has passed
    assert months[-1].cumulative == summary.totals.collected
    page = client.get(f"/ke-hoach/{demo_plan.id}").get_data(as_text=True)
    table = page.split("Số liệu từng tháng", 1)[1].split("</table>", 1)[0]
    shown = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ][1:]  # the heading row
    assert shown == [
        [
            f"{p.month}/2021",
            formatting.units(p.collected),
            formatting.units(p.cumulative),
            formatting.units(p.pace),
        ]
        for p in months
    ]
    svg = page.split('aria-labelledby="progress-title"', 1)[1].split("</svg>", 1)[0]
    collected = re.search(r'points="([^"]*)" class="chart-collected"', svg)
    assert collected and len(collected[1].split()) == 12
    sheet = openpyxl.load_workbook(io.BytesIO(exports.summary_export(demo_plan)))["Theo tháng"]
    rows = [r for r in sheet.iter_rows(values_only=True) if r[0] and "/2021" in str(r[0])]
    assert [(r[0], r[2]) for r in rows] == [
        (f"{p.month:02d}/2021", float(rates.display_units(p.cumulative))) for p in months
    ]
    assert rows[-1][4] == pytest.approx(float(summary.totals.rate_percent) / 100)
    api = client.get(f"/api/v1/plans/{demo_plan.id}/progress").get_json()
    assert api["quota"] == quota and [m["cumulative"] for m in api["months"]] == [
        float(rates.display_units(p.cumulative)) for p in months
    ]
    unit = next(line for line in summary.lines if line.is_holder and line.tally.donors)
    unit_page = client.get(f"/ke-hoach/{demo_plan.id}/don-vi/{unit.unit.id}").get_data(as_text=True)
    assert "Tiến độ trong năm 2021" in unit_page
    # A unit's progress reads each unit's months, as its page does; they add up to the same.
    made, every_unit, by_unit = read_plan_and_months(demo_plan, whole_tree=True)
    _quota, own = plan_progress(demo_plan, made, every_unit, vietnam_today(), unit.unit.id, by_unit)
    assert own[-1].cumulative == unit.collected
    assert plan_progress(demo_plan, made, every_unit, vietnam_today(), None, by_unit)[1] == months


def test_a_plan_without_quotas_says_so_instead_of_empty_figures(client, auth):
    issuer, _ = f.district_with_communes(["Quảng Bình", "Quảng Ngọc"])
    plan = f.plan(issuer, number="05/KH-BCĐ")
    organiser, leader = f.user("organiser", [issuer]), f.user("leader", [issuer])
    f.commit()
    quotas_link = f'href="/ke-hoach/{plan.id}/chi-tieu"'
    for user, sees_link in ((organiser, True), (leader, False)):
        auth.sign_in(user)
        page = client.get(f"/ke-hoach/{plan.id}").get_data(as_text=True)
        assert "chưa giao chỉ tiêu cho đơn vị nào" in page
        assert (quotas_link in page.split('role="status"', 1)[1]) is sees_link
        assert "0/0 (" not in page and 'class="tiles"' not in page
        assert "Không có đơn vị nào khớp bộ lọc" not in page


def test_times_are_shown_in_vietnam_time():
    assert formatting.vietnam_time(datetime(2021, 6, 11, 18, 30)) == "12/06/2021 01:30"
    assert formatting.vietnam_time(datetime(2021, 1, 5, 2, 7, tzinfo=UTC)) == "05/01/2021 09:07"
    assert formatting.vietnam_time(None) == ""
