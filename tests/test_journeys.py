"""The users' journeys in a real browser: the system Chromium, driven by Playwright, against
the app served on localhost with CSRF on, on a fresh database.

Each journey saves screenshots of its key pages under ``test-output/screenshots/``, fails on
any JavaScript console error (a Content-Security-Policy violation is one), and fills the
sign-in and result forms with the keyboard alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

import openpyxl
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Playwright, expect
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, Result, User
from campaign.services import plans
from tests import factories as f
from tests.browser import (
    DESKTOP,
    SCREENSHOTS,
    LiveServer,
    Watched,
    focused_label,
    number_text,
    sign_in,
    type_into,
)
from tests.conftest import empty_tables, serve_for_real

#: Quảng Xương district's commune-level units in 2021 (DOMAIN.md).
COMMUNES = (
    "Quảng Bình, Quảng Chính, Quảng Định, Quảng Đức, Quảng Giao, Quảng Hải, Quảng Hòa, "
    "Quảng Hợp, Quảng Khê, Quảng Lộc, Quảng Long, Quảng Lưu, Quảng Ngọc, Quảng Nham, "
    "Quảng Ninh, Quảng Nhân, Quảng Phúc, Quảng Thạch, Quảng Thái, Quảng Trạch, Quảng Trung, "
    "Quảng Trường, Quảng Văn, Quảng Yên, Tiên Trang"
).split(", ")
SITE = "Trung tâm Hội nghị huyện"
REASON = "Số túi 350 ml ghi thiếu 2 túi so với danh sách hiến máu."


# --- the server, the browser, the data ------------------------------------------------


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, LiveServer]]:
    """The app with CSRF on, served for real; a new SQLite file for this module, or the
    suite's PostgreSQL database."""
    yield from serve_for_real(request, tmp_path_factory.mktemp("journeys"))


@pytest.fixture
def live(served: tuple[Flask, LiveServer], fast_passwords: None) -> Iterator[str]:
    """The server's address; the test's own app context sets data up and reads it back.
    Tables are emptied after each journey."""
    app, server = served
    with app.app_context():
        yield server.url
        db.session.rollback()
        empty_tables()
        db.session.remove()


def new_page(browser: Browser, base_url: str, name: str, **device: object) -> Watched:
    context = browser.new_context(**(device or DESKTOP), locale="vi-VN", base_url=base_url)
    return Watched(context, name)


def phone(playwright: Playwright) -> dict:
    return dict(playwright.devices["Pixel 5"])


def stored(statement):
    """Reads what the server committed: the test's own transaction is ended first and after,
    so it never holds a snapshot or a lock while the server writes."""
    db.session.rollback()
    try:
        return db.session.scalars(statement).all()
    finally:
        db.session.rollback()


def district(names: list[str]) -> tuple[OrgUnit, dict[str, OrgUnit]]:
    unit, communes = f.district_with_communes(names)
    return unit, {c.name: c for c in communes}


def plan_276(issuer: OrgUnit, quotas: dict[OrgUnit, int]) -> tuple[Plan, Drive]:
    """The district's plan of 2021 with its quotas and its drive of 11–12/6/2021."""
    plan = f.plan(
        issuer,
        number="276/KH-BCĐTH",
        issued_on=date(2020, 12, 28),
        title="Vận động hiến máu tình nguyện năm 2021",
    )
    plans.set_quotas(plan, quotas)
    drive = plans.add_drive(
        plan, name="Đợt 1", starts_on=date(2021, 6, 11), ends_on=date(2021, 6, 12), site=SITE
    )
    return plan, drive


def assert_fits_the_screen(page: Page) -> None:
    """Nothing wider than the phone: no sideways scrolling to reach a field."""
    width = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"the page is {width}px wider than the screen"


def static_page(html: str) -> Callable[..., list[bytes]]:
    """A WSGI app answering ``html`` to every request: another site, for framing."""

    def serve(environ: dict, start_response: Callable) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html.encode()]

    return serve


def flash(page: Page):
    """The messages shown after an action."""
    return page.locator("main > p.flash")


def tile(page: Page, label: str):
    return page.locator(".tiles > div").filter(has_text=label).locator("dd")


def fill_result(page: Page, figures: tuple[int, ...], *, replace: bool = False) -> None:
    """The result form with the keyboard alone: type, Tab to the next field, leave the
    optional repeat donors empty, Tab past "Lưu nháp" to "Gửi báo cáo" and press Enter."""
    labels = (
        "Số người đăng ký",
        "Số người không đủ điều kiện hiến",
        "Số túi 250 ml",
        "Số túi 350 ml",
        "Số túi 450 ml",
    )
    type_into(page, page.get_by_label(labels[0], exact=True), str(figures[0]), replace=replace)
    for label, value in zip(labels[1:], figures[1:], strict=True):
        page.keyboard.press("Tab")
        assert focused_label(page) == label
        if replace:
            page.keyboard.press("Control+A")
        page.keyboard.type(str(value))
    page.keyboard.press("Tab")
    assert focused_label(page) == "Trong đó, số người hiến nhắc lại (nếu có đếm)"
    page.keyboard.press("Tab")
    assert focused_label(page) == "Lưu nháp"
    page.keyboard.press("Tab")
    assert focused_label(page) == "Gửi báo cáo"
    with page.expect_navigation():
        page.keyboard.press("Enter")


# --- journey 1 ------------------------------------------------------------------------


def test_organiser_creates_the_plan_sets_quotas_and_schedules_the_drive(browser, live):
    issuer, communes = district(COMMUNES)
    f.user("organiser", [issuer], username="bcd")
    f.commit()
    ids = {name: unit.id for name, unit in communes.items()}
    db.session.rollback()
    tab = new_page(browser, live, "1-organiser")
    page = tab.page

    sign_in(tab, "bcd", f.PASSWORD)
    tab.shot("plans")
    page.get_by_role("link", name="Tạo kế hoạch").click()
    page.get_by_label("Số, ký hiệu").fill("276/KH-BCĐTH")
    page.get_by_label("Ngày ban hành").fill("2020-12-28")
    page.get_by_label("Đơn vị ban hành").select_option(label="Huyện Quảng Xương")
    page.get_by_label("Năm thực hiện").fill("2021")
    page.get_by_label("Cách tính đơn vị máu").select_option(label="Theo túi máu")
    page.get_by_label("Trích yếu").fill("Vận động hiến máu tình nguyện năm 2021")
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(flash(page)).to_have_text("Đã tạo kế hoạch 276/KH-BCĐTH.")
    (plan,) = stored(select(Plan))
    assert (plan.number, plan.issued_on, plan.year) == ("276/KH-BCĐTH", date(2020, 12, 28), 2021)

    cite = page.locator("form").filter(has=page.get_by_role("heading", name="Thêm văn bản"))
    cite.get_by_label("Số, ký hiệu").fill("78/BCĐTH")
    cite.get_by_label("Ngày ban hành").fill("2021-04-29")
    cite.get_by_label("Cơ quan ban hành").fill("Ban Chỉ đạo vận động HMTN tỉnh Thanh Hóa")
    cite.get_by_label("Trích yếu").fill("Về việc tổ chức hiến máu tình nguyện đợt 1 năm 2021")
    cite.get_by_role("button", name="Thêm văn bản").click()
    expect(flash(page)).to_have_text("Đã thêm văn bản.")
    expect(page.locator("tr", has_text="78/BCĐTH")).to_contain_text("29/04/2021")
    page.get_by_label("Trạng thái").select_option(label="Đang thực hiện")
    page.get_by_role("button", name="Đổi trạng thái").click()
    expect(flash(page)).to_contain_text("Đang thực hiện")
    tab.shot("plan-edited")

    page.get_by_role("link", name="← Về trang kế hoạch").click()
    expect(
        page.get_by_text(
            "Công văn số 78/BCĐTH ngày 29/04/2021 của Ban Chỉ đạo vận động HMTN tỉnh Thanh Hóa"
        )
    ).to_be_visible()
    # No quota yet: the page says so and links to where quotas are set.
    no_quota = page.get_by_role("status").filter(has_text="chưa giao chỉ tiêu cho đơn vị nào")
    no_quota.get_by_role("link", name="Giao chỉ tiêu").click()
    amounts = {name: 20 + n for n, name in enumerate(COMMUNES)}
    amounts["Quảng Bình"] = 40
    for name, amount in amounts.items():
        page.get_by_label(name, exact=True).fill(str(amount))
    page.get_by_label("Quảng Chính", exact=True).fill("-3")
    page.get_by_role("button", name="Lưu chỉ tiêu").click()

    expect(page.get_by_role("alert")).to_have_text(
        "Chưa lưu: có 1 dòng nhập sai, xem thông báo ở từng dòng."
    )
    wrong = page.locator("tr.row-error")
    expect(wrong).to_have_count(1)
    expect(wrong).to_contain_text("Quảng Chính")
    expect(wrong).to_contain_text("Không được là số âm.")
    expect(page.get_by_label("Quảng Chính", exact=True)).to_have_value("-3")
    expect(page.get_by_label("Quảng Bình", exact=True)).to_have_value("40")
    tab.shot("quotas-refused")
    assert plans.quotas_of(stored(select(Plan))[0]) == {}, "a grid with an error saves nothing"

    page.get_by_label("Quảng Chính", exact=True).fill(str(amounts["Quảng Chính"]))
    expect(page.locator("#running-total")).to_have_text(f"{sum(amounts.values())}")
    page.get_by_role("button", name="Lưu chỉ tiêu").click()
    expect(flash(page)).to_have_text("Đã lưu chỉ tiêu.")
    expect(page.locator("tr.row-error")).to_have_count(0)
    tab.shot("quotas-saved")
    (plan,) = stored(select(Plan))
    assert plans.quotas_of(plan) == {ids[name]: amount for name, amount in amounts.items()}

    page.get_by_role("link", name="← Về trang kế hoạch").click()
    page.get_by_role("link", name="Thêm đợt hiến máu").click()
    page.get_by_label("Tên đợt").fill("Đợt 1 năm 2021")
    page.get_by_label("Từ ngày").fill("2021-06-11")
    page.get_by_label("Đến ngày").fill("2021-06-12")
    page.get_by_label("Địa điểm").fill(SITE)
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(flash(page)).to_have_text("Đã lưu đợt hiến máu.")
    expect(page.get_by_text(f"Đợt 1 năm 2021: 11/06/2021 – 12/06/2021, {SITE}")).to_be_visible()
    expect(tile(page, "Tổng chỉ tiêu")).to_have_text(str(sum(amounts.values())))
    tab.shot("dashboard")
    (drive,) = stored(select(Drive))
    assert (drive.starts_on, drive.ends_on, drive.site) == (
        date(2021, 6, 11),
        date(2021, 6, 12),
        SITE,
    )

    # A second drive saved by mistake is deleted before any unit reports on it.
    page.get_by_role("link", name="Thêm đợt hiến máu").click()
    page.get_by_label("Tên đợt").fill("Đợt nhầm")
    page.get_by_label("Từ ngày").fill("2021-07-01")
    page.get_by_label("Đến ngày").fill("2021-07-01")
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(flash(page)).to_have_text("Đã lưu đợt hiến máu.")
    page.locator("li", has_text="Đợt nhầm").get_by_role("link", name="Sửa").click()
    page.get_by_role("button", name="Xóa đợt hiến máu").click()
    expect(flash(page)).to_have_text("Đã xóa đợt hiến máu Đợt nhầm.")
    expect(page.locator("li", has_text="Đợt nhầm")).to_have_count(0)
    assert [d.name for d in stored(select(Drive))] == ["Đợt 1 năm 2021"]
    assert tab.errors == []


def test_the_quota_grid_totals_in_the_browser_as_the_server_does(browser, live):
    """A union's quota inside its commune's is counted once by the page's script, as by the
    server's allocation check, while typing and after saving."""
    issuer, communes = district(["Quảng Bình", "Quảng Ngọc", "Tiên Trang"])
    binh, ngoc = communes["Quảng Bình"], communes["Quảng Ngọc"]
    union = f.unit("CĐCS Trường THCS Quảng Bình", "union", binh)
    province_plan = f.plan(issuer.parent, number="276/KH-BCĐTH", issued_on=date(2020, 12, 28))
    plans.set_quotas(province_plan, {issuer: 100})
    plan = f.plan(issuer, number="15/KH-BCĐ", parent=province_plan)
    plans.set_quotas(plan, {binh: 40, union: 10, ngoc: 30})
    f.user("organiser", [issuer], username="bcd")
    f.commit()
    grid = f"/ke-hoach/{plan.id}/chi-tieu"
    db.session.rollback()
    tab = new_page(browser, live, "1-quota-totals")
    page = tab.page
    sign_in(tab, "bcd", f.PASSWORD)

    def served_total() -> str:
        """The total as the server rendered it, before any script ran."""
        html = page.request.get(grid).text()
        return html.split('id="running-total"', 1)[1].split("</output>", 1)[0].rsplit(">")[-1]

    def stored_figure():
        return page.locator("p.help").filter(has_text="Đã phân bổ theo số đã lưu")

    page.goto(grid)
    expect(page.locator("#running-total")).to_have_text("70")
    assert page.locator("#running-total").inner_text() == served_total()
    expect(page.locator("#running-gap")).to_have_text("30")
    expect(stored_figure()).to_contain_text(": 70.")

    page.get_by_label(union.name, exact=True).fill("25")
    page.get_by_label("Tiên Trang", exact=True).fill("5")
    expect(page.locator("#running-total")).to_have_text("75")  # the union is inside Bình's 40
    expect(page.locator("#running-gap")).to_have_text("25")
    page.get_by_label("Quảng Bình", exact=True).fill("")
    expect(page.locator("#running-total")).to_have_text("60")  # now the union counts
    page.get_by_label("Quảng Bình", exact=True).fill("40")
    expect(stored_figure()).to_contain_text(": 70.")  # typed, not saved
    tab.shot("quotas-typed")

    page.get_by_role("button", name="Lưu chỉ tiêu").click()
    expect(flash(page)).to_have_text("Đã lưu chỉ tiêu.")
    expect(page.locator("#running-total")).to_have_text("75")
    assert served_total() == "75"
    expect(stored_figure()).to_contain_text(": 75.")
    assert tab.errors == []


def test_dates_are_typed_and_shown_day_first_in_a_browser_set_to_english(browser, live):
    """DOMAIN.md: dd/mm/yyyy whatever the browser's language; a date picker would read
    "01/10/2022" as 10 January in an English browser."""
    issuer, communes = district(["Quảng Bình"])
    plan, drive = plan_276(issuer, {communes["Quảng Bình"]: 40})
    f.user("organiser", [issuer], username="bcd")
    f.commit()
    plan_id, drive_id = plan.id, drive.id
    db.session.rollback()
    context = browser.new_context(**DESKTOP, locale="en-US", base_url=live)
    tab = Watched(context, "1-english-dates")
    page = tab.page
    sign_in(tab, "bcd", f.PASSWORD)
    page.goto(f"/ke-hoach/{plan_id}/dot/{drive_id}/sua")
    starts = page.get_by_label("Từ ngày")
    expect(starts).to_have_value("11/06/2021")
    starts.fill("01/10/2022")
    page.get_by_label("Đến ngày").fill("02/10/2022")
    page.get_by_role("button", name="Lưu").first.click()
    expect(flash(page)).to_have_text("Đã lưu đợt hiến máu.")
    (saved,) = stored(select(Drive).where(Drive.id == drive_id))
    assert (saved.starts_on, saved.ends_on) == (date(2022, 10, 1), date(2022, 10, 2))
    assert tab.errors == []


# --- journey 2 ------------------------------------------------------------------------


def test_reporter_submits_results_from_a_phone_and_sees_only_their_unit(browser, playwright, live):
    issuer, communes = district(COMMUNES[:6])
    quang_binh = communes["Quảng Bình"]
    plan, drive = plan_276(issuer, {unit: 40 for unit in communes.values()})
    f.user("reporter", [quang_binh], username="qbinh")
    f.commit()
    other_units = [u.name for u in stored(select(OrgUnit)) if u.id != quang_binh.id]
    own, other, drive_id = quang_binh.id, communes["Quảng Chính"].id, drive.id
    db.session.rollback()
    tab = new_page(browser, live, "2-reporter", **phone(playwright))
    page = tab.page
    seen: list[str] = []

    sign_in(tab, "qbinh", f.PASSWORD)
    expect(page.get_by_role("heading", name="Đơn vị của tôi")).to_be_visible()
    seen.append(page.content())
    assert_fits_the_screen(page)
    tab.shot("my-units")
    page.get_by_role("link", name=re.compile("Đợt 1")).click()
    expect(page.get_by_role("heading", name="Báo cáo kết quả")).to_be_visible()
    expect(page.locator(".lead")).to_contain_text("Quảng Bình · Đợt 1 (11/06/2021–12/06/2021)")
    seen.append(page.content())
    assert_fits_the_screen(page)
    tab.shot("result-form")

    fill_result(page, (50, 5, 10, 30, 5))
    expect(flash(page)).to_have_text("Đã gửi báo cáo.")
    expect(page.locator(".badge")).to_have_text("Đã gửi")
    donors = page.locator(".figures > div").filter(has_text="Hiến thành công").locator("dd")
    expect(donors).to_have_text("45")
    seen.append(page.content())
    assert_fits_the_screen(page)
    tab.shot("submitted")
    page.get_by_role("link", name="← Quảng Bình").click()
    expect(page.get_by_role("heading", name="Quảng Bình")).to_be_visible()
    seen.append(page.content())

    (result,) = stored(select(Result))
    assert (result.unit_id, result.state) == (own, "submitted")
    assert (result.registered, result.deferred) == (50, 5)
    assert (result.bags_250, result.bags_350, result.bags_450) == (10, 30, 5)
    for html in seen:
        for name in other_units:
            assert name not in html, f"a reporter of Quảng Bình sees {name}"
    # Another unit's pages are refused, even typed in by hand.
    assert page.request.get(f"/bao-cao/don-vi/{other}").status == 403
    assert page.request.get(f"/bao-cao/don-vi/{other}/dot/{drive_id}").status == 403
    assert tab.errors == []


# --- journey 3 ------------------------------------------------------------------------


def test_organiser_approves_one_report_and_returns_another_until_corrected(
    browser, playwright, live
):
    issuer, communes = district(COMMUNES[:4])
    quang_binh, quang_chinh = communes["Quảng Bình"], communes["Quảng Chính"]
    plan, drive = plan_276(issuer, {unit: 40 for unit in communes.values()})
    f.result(drive, quang_binh, 10, 30, 5, registered=50, deferred=5)
    f.result(drive, quang_chinh, 10, 25, 0, registered=40, deferred=5)
    f.user("organiser", [issuer], username="bcd")
    f.user("reporter", [quang_chinh], username="qchinh")
    f.commit()
    db.session.rollback()
    organiser = new_page(browser, live, "3-organiser")
    reporter = new_page(browser, live, "3-reporter", **phone(playwright))
    page = organiser.page

    sign_in(organiser, "bcd", f.PASSWORD)
    page.get_by_role("link", name="Duyệt báo cáo").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    organiser.shot("queue")
    page.get_by_role("link", name="Quảng Bình").click()
    page.get_by_role("button", name="Duyệt", exact=True).click()
    expect(flash(page)).to_have_text("Đã duyệt báo cáo.")
    expect(page.locator(".lead .badge")).to_have_text("Đã duyệt")
    page.get_by_role("link", name="← Báo cáo chờ duyệt").click()
    page.get_by_role("link", name="Quảng Chính").click()
    type_into(page, page.get_by_label("Lý do"), REASON)
    page.get_by_role("button", name="Trả lại").click()
    expect(flash(page)).to_have_text("Đã trả lại báo cáo kèm lý do.")
    organiser.shot("returned")

    phone_page = reporter.page
    sign_in(reporter, "qchinh", f.PASSWORD)
    expect(phone_page.locator(".choices")).to_contain_text(f"Bị trả lại: {REASON}")
    reporter.shot("my-units-returned")
    phone_page.get_by_role("link", name=re.compile("Đợt 1")).click()
    expect(phone_page.locator(".notice")).to_have_text(f"Báo cáo bị trả lại. Lý do: {REASON}")
    expect(phone_page.get_by_label("Số túi 350 ml", exact=True)).to_have_value("25")
    reporter.shot("result-returned")
    fill_result(phone_page, (42, 5, 10, 27, 0), replace=True)
    expect(flash(phone_page)).to_have_text("Đã gửi báo cáo.")
    expect(phone_page.locator("p > .badge")).to_have_text("Đã gửi")
    reporter.shot("resubmitted")

    page.get_by_role("link", name="Duyệt báo cáo").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("Quảng Chính")
    page.get_by_role("link", name="Quảng Chính").click()
    page.get_by_role("button", name="Duyệt", exact=True).click()
    expect(flash(page)).to_have_text("Đã duyệt báo cáo.")
    organiser.shot("approved")
    page.get_by_role("link", name="← Báo cáo chờ duyệt").click()
    expect(page.get_by_text("Không có báo cáo nào chờ duyệt.")).to_be_visible()

    stored_results = {r.unit.name: r for r in stored(select(Result))}
    assert {name: r.state for name, r in stored_results.items()} == {
        "Quảng Bình": "approved",
        "Quảng Chính": "approved",
    }
    corrected = stored_results["Quảng Chính"]
    assert (corrected.registered, corrected.bags_350) == (42, 27)
    assert organiser.errors == reporter.errors == []


# --- journey 4 ------------------------------------------------------------------------


def dashboard_rows(page: Page) -> dict[str, list[str]]:
    """The visible rows of the units table: the unit's name and every cell as shown.

    Read once the page has loaded: before its stylesheet applies, the status shown under a
    name on phones is visible too (a page just navigated to, on a busy machine)."""
    page.wait_for_load_state("load")
    rows = {}
    for row in page.locator("#units-table tbody tr:visible").all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        rows[cells[1]] = cells
    return rows


def test_leader_filters_searches_and_exports_the_same_figures(browser, live, tmp_path):
    issuer, communes = district(COMMUNES[:6])
    quotas = dict(zip(communes.values(), (40, 30, 50, 25, 20, 35), strict=True))
    plan, drive = plan_276(issuer, quotas)
    f.result(drive, communes["Quảng Bình"], 10, 30, 5, registered=50, deferred=5)  # 112,5%
    f.result(drive, communes["Quảng Chính"], 0, 30, 0, state="approved")  # met
    f.result(drive, communes["Quảng Định"], 20, 10, 0, deferred=4)  # 60,0%
    f.result(drive, communes["Quảng Giao"], 0, 20, 0, state="draft")  # counts nowhere
    f.result(drive, communes["Quảng Hải"], 12, 24, 0, state="approved")  # over
    f.user("leader", [issuer], username="lanhdao")
    f.commit()
    db.session.rollback()
    tab = new_page(browser, live, "4-leader")
    page = tab.page

    sign_in(tab, "lanhdao", f.PASSWORD)
    page.get_by_role("link", name="276/KH-BCĐTH").click()
    expect(page.get_by_role("link", name="Giao chỉ tiêu")).to_have_count(0)  # read-only
    progress = page.get_by_role("img", name="Tiến độ trong năm 2021")
    expect(progress).to_be_visible()
    expect(progress.locator("polyline.chart-collected")).to_have_count(1)
    page.get_by_text("Số liệu từng tháng").click()
    months = page.get_by_role("region", name="Tiến độ trong năm 2021").locator("tbody tr")
    expect(months).to_have_count(12)
    collected = tile(page, "Đã thu").inner_text()
    assert months.nth(11).locator("td").nth(2).inner_text() == collected == "141"
    tab.shot("dashboard")
    page.get_by_label("Kết quả", exact=True).select_option(label="Chưa hoàn thành chỉ tiêu")
    page.get_by_role("button", name="Lọc").click()
    expect(page).to_have_url(re.compile(r"status=not_completed"))
    behind = dashboard_rows(page)
    assert {name: cells[10] for name, cells in behind.items()} == {
        "Quảng Định": "Chưa đạt",
        "Quảng Đức": "Chưa báo cáo",
        "Quảng Giao": "Chưa báo cáo",
    }
    tab.shot("not-completed")

    with page.expect_navigation():  # loaded, its script listening, before anyone types
        page.get_by_role("link", name="Bỏ lọc").click()
    search = page.get_by_label("Tìm đơn vị")
    type_into(page, search, "quang binh")
    expect(page.locator("#units-table tbody tr:visible")).to_have_count(1)  # live, no reload
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the same search as a link to keep
    expect(page).to_have_url(re.compile(r"q=quang\+binh"))
    (found,) = dashboard_rows(page).values()
    assert found[1:4] + found[7:11] == ["Quảng Bình", "Xã", "40", "45", "112,5%", "5", "Vượt"]
    tab.shot("search")

    with page.expect_navigation():
        page.get_by_role("link", name="Bỏ lọc").click()
    shown = dashboard_rows(page)
    footer = [c.strip() for c in page.locator("#units-table tfoot th:visible").all_inner_texts()]
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải báo cáo Excel").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".xlsx"

    sheet = openpyxl.load_workbook(path)["Tổng hợp"]
    table = [row for row in sheet.iter_rows(values_only=True, max_col=11)]
    exported = {row[1]: row for row in table if row[1] in shown}
    assert exported.keys() == shown.keys()
    for name, cells in shown.items():
        row = exported[name]
        assert [number_text(c) for c in cells[3:9]] == [
            *row[3:8],
            pytest.approx(row[8] * 100) if row[8] is not None else None,
        ], name
        assert row[10] == cells[10]
    (total,) = (row for row in table if row[1] == "TỔNG CỘNG")
    assert [number_text(c) for c in footer[1:7]] == [
        *total[3:8],
        pytest.approx(total[8] * 100),
    ]
    assert tab.errors == []


#: Names as long as real ones, written in full on the dashboard's chart.
LONG_NAMES = [
    "Cơ quan Ủy ban nhân dân huyện Quảng Xương",
    "Trường Trung học phổ thông Nguyễn Xuân Nguyên, huyện Quảng Xương",
    "Quảng Bình",
]


def long_named_plan() -> Plan:
    issuer, units = district(LONG_NAMES)
    plan, drive = plan_276(issuer, dict(zip(units.values(), (40, 30, 50), strict=True)))
    f.result(drive, units[LONG_NAMES[0]], 0, 20, 0)
    f.result(drive, units[LONG_NAMES[2]], 0, 60, 0)
    f.user("leader", [issuer], username="lanhdao")
    f.commit()
    db.session.rollback()
    return plan


def test_the_chart_shows_long_unit_names_whole(browser, live):
    plan = long_named_plan()
    tab = new_page(browser, live, "4-chart")
    sign_in(tab, "lanhdao", f.PASSWORD)
    tab.page.goto(f"/ke-hoach/{plan.id}")
    chart = tab.page.get_by_role("img", name="Tỷ lệ hoàn thành theo đơn vị")
    chart.scroll_into_view_if_needed()
    left = chart.bounding_box()["x"]
    labels = chart.locator("text.chart-label")
    boxes = {label.text_content(): label.bounding_box() for label in labels.all()}
    assert {text: box["x"] for text, box in boxes.items() if box["x"] < left} == {}
    for name in LONG_NAMES:
        assert any(name in text for text in boxes), name
    tab.shot("chart")
    assert tab.errors == []


def test_sorting_in_the_browser_numbers_the_rows_again(browser, live):
    plan = long_named_plan()
    tab = new_page(browser, live, "4-sort")
    sign_in(tab, "lanhdao", f.PASSWORD)
    tab.page.goto(f"/ke-hoach/{plan.id}")
    before = tab.page.url
    tab.page.locator("#units-table thead").get_by_role("link", name="Tỷ lệ").click()
    assert tab.page.url == before  # sorted by the script, not by a new page
    rows = list(dashboard_rows(tab.page).values())
    assert [row[1] for row in rows] == [LONG_NAMES[1], LONG_NAMES[0], LONG_NAMES[2]]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    assert tab.errors == []


# --- journey 5 ------------------------------------------------------------------------


def test_a_new_account_sets_its_own_password_before_anything_else(
    browser, playwright, live, monkeypatch
):
    """The administrator creates a reporter's account and hands over a one-time password;
    on the phone, the reporter can do nothing until they set their own."""
    _issuer, communes = district(COMMUNES[:2])
    f.user("admin", username="quantri")
    f.commit()
    # Passwords are hashed for real from here on (cheaply): this journey is about them.
    monkeypatch.setattr(
        "campaign.models.users.generate_password_hash",
        lambda p: generate_password_hash(p, method="pbkdf2:sha256:1"),
    )
    code = communes["Quảng Bình"].code
    db.session.rollback()
    admin = new_page(browser, live, "5-admin")
    page = admin.page

    sign_in(admin, "quantri", f.PASSWORD)
    page.goto("/quan-tri/tai-khoan")
    page.get_by_role("link", name="Tạo tài khoản").click()
    page.get_by_label("Tên đăng nhập").fill("cdcs.qbinh")
    page.get_by_label("Họ và tên").fill("Lê Thị Hoa")
    page.get_by_label("Vai trò").select_option(label="Cán bộ báo cáo")
    page.get_by_label("Mã đơn vị phạm vi").fill(code)
    page.get_by_role("button", name="Lưu", exact=True).click()
    one_time = page.locator("p.once").inner_text().strip()
    admin.shot("one-time-password")
    assert admin.errors == []

    tab = new_page(browser, live, "5-new-account", **phone(playwright))
    page = tab.page
    sign_in(tab, "cdcs.qbinh", one_time)
    expect(page.get_by_role("heading", name="Đổi mật khẩu")).to_be_visible()
    expect(page.get_by_text("chỉ dùng một lần")).to_be_visible()
    expect(page.get_by_role("link", name="Đơn vị của tôi")).to_have_count(0)
    page.goto("/bao-cao/")  # typed in by hand: sent back
    expect(page.get_by_role("heading", name="Đổi mật khẩu")).to_be_visible()
    assert_fits_the_screen(page)
    tab.shot("must-change")

    own = "hoa hiến máu mỗi năm"
    type_into(page, page.get_by_label("Mật khẩu hiện tại", exact=True), one_time)
    for label in ("Mật khẩu mới", "Nhập lại mật khẩu mới"):
        page.keyboard.press("Tab")
        assert focused_label(page) == label
        page.keyboard.type(own)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(flash(page)).to_have_text("Đã đổi mật khẩu. Các phiên đăng nhập khác đã kết thúc.")
    expect(page.get_by_role("heading", name="Đơn vị của tôi")).to_be_visible()
    expect(page.get_by_text("Quảng Bình")).to_be_visible()
    tab.shot("own-password")
    (account,) = stored(select(User).where(User.username == "cdcs.qbinh"))
    assert account.must_change_password is False and account.check_password(own)
    assert tab.errors == []


# --- journey 6 ------------------------------------------------------------------------


def test_organiser_publishes_the_progress_and_a_phone_opens_it_from_the_poster(browser, live):
    issuer, communes = district(COMMUNES[:4])
    quang_binh, quang_chinh = communes["Quảng Bình"], communes["Quảng Chính"]
    plan, drive = plan_276(issuer, {quang_binh: 40, quang_chinh: 30})
    quang_binh.contact_name, quang_binh.contact_phone = "Lê Văn Liênhệ", "0912 345 678"
    f.result(drive, quang_binh, 10, 30, 5, state="approved")
    f.result(drive, quang_chinh, 20, state="submitted")  # not checked yet: not published
    f.user("organiser", [issuer], username="bcd")
    f.commit()
    plan_id = plan.id
    db.session.rollback()
    organiser = new_page(browser, live, "6-organiser")
    page = organiser.page

    sign_in(organiser, "bcd", f.PASSWORD)
    page.goto(f"/ke-hoach/{plan_id}")
    page.get_by_role("button", name="Công khai", exact=True).click()
    expect(flash(page)).to_have_text("Đã công khai tiến độ kế hoạch.")
    address = page.locator("#public-address").inner_text()
    assert re.fullmatch(rf"{live}/cong-khai/[A-Za-z0-9_-]{{16}}", address), address
    qr = page.get_by_role("img", name="Mã QR của địa chỉ công khai")
    expect(qr).to_be_visible()
    # The image is visible as soon as its box is laid out; its picture may still be on
    # its way, so wait for it (a broken image never completes with a width).
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=qr.element_handle(), timeout=10_000
    )
    expect(page.locator("#embed-code")).to_have_value(re.compile(re.escape(address + "?nhung=1")))
    organiser.shot("published")

    # A phone that scans the poster: no account, no cookie, 390 x 844.
    phone_tab = new_page(
        browser,
        live,
        "6-public",
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    screen = phone_tab.page
    screen.goto(address)
    expect(screen.get_by_role("heading", level=1)).to_have_text(
        "Kế hoạch số 276/KH-BCĐTH ngày 28/12/2020"
    )
    expect(tile(screen, "Đã thu")).to_have_text("45")
    expect(tile(screen, "Tổng chỉ tiêu")).to_have_text("70")
    binh = screen.locator("tbody tr").filter(has_text="Quảng Bình")
    expect(binh).to_contain_text("112,5%")
    expect(screen.locator("tbody tr").filter(has_text="Quảng Chính")).to_contain_text("0,0%")
    expect(screen.locator("#updated")).to_contain_text("Số liệu cập nhật đến:")
    text = phone_tab.text()
    assert "Liênhệ" not in text and "0912" not in text and "bcd" not in text
    assert screen.context.cookies() == []
    assert_fits_the_screen(screen)
    phone_tab.shot("public-phone")

    # Another site (another origin: a second server) frames the embed; the page allows it.
    frame_html = f'<!doctype html><h1>Công đoàn huyện</h1><iframe src="{address}?nhung=1"></iframe>'
    other_site = LiveServer(static_page(frame_html)).start()
    site = new_page(browser, other_site.url, "6-embed")
    try:
        site.page.goto("/")
        framed = site.page.frame_locator("iframe")
        expect(framed.get_by_role("heading", level=1)).to_contain_text("276/KH-BCĐTH")
        expect(framed.locator("header")).to_have_count(0)
        site.shot("embedded")
    finally:
        other_site.stop()
    page.get_by_role("button", name="Thôi công khai").click()
    expect(flash(page)).to_have_text("Đã thôi công khai; địa chỉ cũ không còn mở được.")
    assert screen.request.get(address).status == 404
    assert organiser.errors == phone_tab.errors == site.errors == []


# --- journey 7: the dashboard on paper and on a phone ------------------------------------

#: A4 portrait less the print stylesheet's margins (210 mm - 2 x 10 mm) in CSS pixels.
A4_WIDTH = round((210 - 20) / 25.4 * 96)


def forty_unit_plan() -> Plan:
    """A district plan with 40 quota holders, some with names as long as real ones, and
    every status among them; compared with the plan of the year before, so the table has
    every column it can have but the targets'."""
    names = [*COMMUNES, *(f"Trường THCS {c}" for c in COMMUNES[:13]), *LONG_NAMES[:2]]
    issuer, units = district(names)
    f.plan(issuer, number="250/KH-BCĐTH", issued_on=date(2019, 12, 20), year=2020)
    plan, drive = plan_276(issuer, {unit: 30 + n % 7 for n, unit in enumerate(units.values())})
    for n, unit in enumerate(list(units.values())[:34]):
        f.result(drive, unit, n % 5, 25 + n % 11, n % 3, state="approved" if n % 2 else "submitted")
    f.user("leader", [issuer], username="lanhdao")
    f.commit()
    db.session.rollback()
    return plan


def overflowing(page: Page, width: int) -> list[str]:
    """The tables, tiles and figures whose right edge passes ``width``."""
    return page.evaluate(
        """width => [...document.querySelectorAll('main table, main .tiles > div, main figure')]
            .filter(e => e.getBoundingClientRect().right > width + 0.5)
            .map(e => `${e.tagName}.${e.className} ${e.getBoundingClientRect().right}`)""",
        width,
    )


def test_the_dashboard_prints_whole_on_a4(browser, live):
    """Every column, "Kết quả" included, and every tile fit an A4 page; names wrap as
    words, not a word per line, while the figures stay on one line."""
    plan = forty_unit_plan()
    tab = new_page(browser, live, "7-print", viewport={"width": A4_WIDTH, "height": 1100})
    page = tab.page
    sign_in(tab, "lanhdao", f.PASSWORD)
    page.goto(f"/ke-hoach/{plan.id}")
    page.evaluate("() => { window.print = () => { window.printed = true; }; }")
    page.get_by_role("button", name="In báo cáo").click()
    assert page.evaluate("() => window.printed") is True
    page.emulate_media(media="print")
    expect(page.locator("#units-table tbody tr")).to_have_count(40)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= A4_WIDTH
    assert overflowing(page, A4_WIDTH) == []
    status = page.locator("#units-table thead th").last
    expect(status).to_have_text("Kết quả")
    assert status.bounding_box()["x"] + status.bounding_box()["width"] <= A4_WIDTH
    for box in (t.bounding_box() for t in page.locator(".tiles > div").all()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= A4_WIDTH
    # The longest name takes at most three lines; a figure never wraps.
    row = page.locator("#units-table tbody tr", has_text=LONG_NAMES[1])
    name = row.locator("td").nth(1).locator("a")
    line_height = name.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert name.bounding_box()["height"] <= 3.5 * line_height + 8
    for cell in page.locator("#units-table tbody tr").first.locator("td.num").all():
        assert cell.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    expect(page.get_by_role("button", name="In báo cáo")).to_be_hidden()
    expect(page.get_by_role("link", name="Tải báo cáo Excel")).to_be_hidden()
    tab.shot("a4")
    page.pdf(path=str(SCREENSHOTS / "7-print-a4.pdf"), format="A4", print_background=True)
    assert tab.errors == []


PHONE_390 = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


def test_the_leaders_dashboard_on_a_phone(browser, live):
    """At 390 x 844 the top bar folds into a menu button, the page never scrolls sideways,
    the filters sit two a row, and every unit's name, rate and status are on the screen."""
    plan = forty_unit_plan()
    tab = new_page(browser, live, "7-phone", **PHONE_390)
    page = tab.page
    sign_in(tab, "lanhdao", f.PASSWORD)
    page.goto(f"/ke-hoach/{plan.id}")

    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Kế hoạch", exact=True)).to_be_hidden()
    assert page.locator("header").bounding_box()["height"] <= 844 / 10
    page.screenshot(path=str(SCREENSHOTS / "7-phone-top.png"))
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Kế hoạch", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    assert_fits_the_screen(page)
    tab.shot("menu")
    menu.click()
    expect(page.get_by_role("link", name="Kế hoạch", exact=True)).to_be_hidden()

    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # The search and filters take a third of the screen at most (stacked, nearly half).
    assert page.get_by_role("search").bounding_box()["height"] <= 844 / 3
    rows = page.locator("#units-table tbody tr")
    expect(rows).to_have_count(40)
    for row in rows.all():
        name = row.locator("td a").first
        rate = row.locator("td.rate")
        status = row.locator(".badge:visible").first
        for part in (name, rate, status):
            expect(part).to_be_visible()
            box = part.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, part
        assert re.fullmatch(r"\d+,\d%", rate.inner_text().strip())
    expect(rows.filter(has_text=LONG_NAMES[1]).locator(".badge:visible")).to_have_text(
        "Chưa báo cáo"
    )
    tab.shot("dashboard")
    rows.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "7-phone-screen.png"))  # what the phone shows
    assert tab.errors == []


def test_the_reporters_form_adds_up_the_bags_as_they_are_typed(browser, live):
    issuer, communes = district(COMMUNES[:2])
    quang_binh = communes["Quảng Bình"]
    plan, first = plan_276(issuer, {quang_binh: 40})
    second = plans.add_drive(
        plan, name="Đợt 2", starts_on=date(2021, 9, 10), ends_on=date(2021, 9, 10), site=SITE
    )
    f.result(first, quang_binh, 0, 12, 0)
    f.user("reporter", [quang_binh], username="qbinh")
    f.commit()
    url = f"/bao-cao/don-vi/{quang_binh.id}/dot/{second.id}"
    db.session.rollback()
    tab = new_page(browser, live, "7-reporter", **PHONE_390)
    page = tab.page
    sign_in(tab, "qbinh", f.PASSWORD)
    page.goto(url)
    outlook = page.locator("#outlook")
    expect(outlook).to_contain_text("Chỉ tiêu40")
    expect(page.locator("#expected-rate")).to_have_text("30,0%")
    page.get_by_label("Số túi 250 ml", exact=True).fill("10")
    page.get_by_label("Số túi 350 ml", exact=True).fill("17")
    expect(page.locator("#typed-bags")).to_have_text("27")
    expect(page.locator("#expected-rate")).to_have_text("97,5%")
    page.get_by_label("Số túi 450 ml", exact=True).fill("1")
    expect(page.locator("#expected-rate")).to_have_text("100,0%")
    page.get_by_label("Số túi 450 ml", exact=True).fill("")  # emptied: counts none
    expect(page.locator("#typed-bags")).to_have_text("27")
    assert_fits_the_screen(page)
    tab.shot("outlook")
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Đơn vị của tôi")).to_be_visible()
    expect(page.get_by_role("link", name="Mã API")).to_have_count(0)
    assert tab.errors == []
