"""Every page, as every role sees it, has no WCAG 2.1 A or AA violation that axe-core finds.

The pages come from the app's URL map, so a new page is checked without a new line here:
each GET route that serves HTML is opened as each demo account (admin, organiser, leader,
reporter) with its parameters taken from the demo data set; the ones a role may not open
are left to the error-page checks. Forms are also checked after a submission with errors,
the main pages at a phone's width, and a few pages sorted, in English, or in states the
demo data lacks. axe-core comes bundled in a Python package, pinned in the test extras:
nothing is downloaded when the tests run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask, url_for
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.security import generate_password_hash

from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, PlanStatus, Result, User
from campaign.services import dashboard, demo, plans, results, tokens, units
from campaign.spreadsheets import XLSX_MIMETYPE
from tests.browser import DESKTOP, LiveServer
from tests.conftest import empty_tables, live_database, make_app
from tests.test_imports import xlsx

#: WCAG 2.0 and 2.1, levels A and AA: what the product promises.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
#: The demo account of each role (data/demo/plans.json).
ACCOUNTS = {
    "admin": "demo.admin",
    "organiser": "demo.bcd",
    "leader": "demo.lanhdao",
    "reporter": "demo.quangbinh",
}
#: Not pages: programs' endpoints, files to download, the installable app's script and manifest.
NOT_PAGES = ("static", "api.", "api-docs.", "offline.")
DOWNLOADS = (".xlsx", ".json")
#: Pages reached only through a form, checked in test_import_preview; and images.
REACHED_BY_FORM = {"imports.preview", "main.public_qr"}

Violations = list[str]


# --- the server, the browser, the data ------------------------------------------------


def _fast_hash(password: str) -> str:
    # Four accounts: scrypt would cost more than the pages themselves.
    return generate_password_hash(password, method="pbkdf2:sha256:1")


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Flask, dict[str, Any]]]:
    """The demo data set served with CSRF on; the demo accounts' passwords and the ids
    that fill the routes' parameters."""
    url = live_database(request, tmp_path_factory.mktemp("axe"))
    app = make_app(url, WTF_CSRF_ENABLED=True)
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setattr("campaign.models.users.generate_password_hash", _fast_hash)
        demo.load()
        passwords = {username: password for username, _, password in demo.reset_demo_accounts()}
        data = _demo_ids(passwords)
        data |= _states_the_demo_lacks()
        db.session.commit()
        db.session.remove()
    server = LiveServer(app).start()
    yield server, app, data
    server.stop()
    with app.app_context():
        empty_tables()
        db.engine.dispose()


def _demo_ids(passwords: dict[str, str]) -> dict[str, Any]:
    """The district's plan, its drive, the reporter's commune and its result, a unit whose
    report is a draft."""
    district = db.session.scalars(select(OrgUnit).filter_by(code="QX")).one()
    commune = db.session.scalars(select(OrgUnit).filter_by(code="QX-BINH")).one()
    plan = db.session.scalars(select(Plan).filter_by(issuer_id=district.id, year=2021)).one()
    drive = db.session.scalars(select(Drive).filter_by(plan_id=plan.id)).one()
    result = db.session.scalars(
        select(Result).filter_by(drive_id=drive.id, unit_id=commune.id)
    ).one()
    # Reports of communes: since the 2025 reform the district's agencies and schools hang
    # under the province, out of the district organiser's sight.
    of_communes = (
        select(Result)
        .join(OrgUnit, OrgUnit.id == Result.unit_id)
        .where(Result.drive_id == drive.id, OrgUnit.kind.in_(("commune", "town")))
    )
    submitted, withdrawn = db.session.scalars(
        of_communes.where(Result.state == "submitted").order_by(Result.id).limit(2)
    ).all()
    draft = results.withdraw(withdrawn)
    assert draft is not None and submitted is not None, "the demo data has these reports"
    reporter = db.session.scalars(select(User).filter_by(username=ACCOUNTS["reporter"])).one()
    return {
        "passwords": {role: passwords[name] for role, name in ACCOUNTS.items()},
        "plan": plan.id,
        "drive": drive.id,
        "unit": commune.id,
        "district": district.id,
        "result": result.id,
        "draft_unit": draft.unit_id,
        "submitted": submitted.id,
        "user": reporter.id,
    }


def _states_the_demo_lacks() -> dict[str, Any]:
    """The province's plan closed, a report reopened with a reason and an API token of the
    organiser's: what some pages show that the demo data leaves out."""
    province = db.session.scalars(select(OrgUnit).filter_by(code="TH")).one()
    closed = db.session.scalars(select(Plan).filter_by(issuer_id=province.id, year=2021)).one()
    plans.set_status(closed, PlanStatus.CLOSED.value)
    # A commune's: the district's schools and unions left its tree with the 2025 reform.
    school = db.session.scalars(select(OrgUnit).filter_by(code="QX-TANPHONG")).one()
    reopened = db.session.scalars(
        select(Result)
        .join(Drive, Drive.id == Result.drive_id)
        .join(Plan, Plan.id == Drive.plan_id)
        .where(Result.unit_id == school.id, Plan.year == 2021)
    ).one()
    results.reopen(reopened, "Số túi 350 ml ghi thiếu 2 túi so với danh sách.")
    organiser = db.session.scalars(select(User).filter_by(username=ACCOUNTS["organiser"])).one()
    tokens.create_token(organiser, "Phần mềm của bệnh viện")
    district = db.session.scalars(select(OrgUnit).filter_by(code="QX")).one()
    published = db.session.scalars(select(Plan).filter_by(issuer_id=district.id, year=2021)).first()
    assert published is not None
    plans.set_public(published, True)
    # Hà Nội's Phường Thụy Khuê, split by the 2025 reform: the official list's page shows
    # a choice for it.
    hanoi = units.create_unit(code="HN", name="Thành phố Hà Nội", kind="province")
    tay_ho = units.create_unit(code="HN-TH", name="Quận Tây Hồ", kind="district", parent=hanoi)
    units.create_unit(code="HN-TK", name="Phường Thụy Khuê", kind="ward", parent=tay_ho)
    compared = db.session.scalars(select(Plan).filter_by(issuer_id=province.id, year=2026)).one()
    assert compared.compare_with is not None
    new_quang_binh = db.session.scalars(select(OrgUnit).filter_by(code="HC2025-16543")).one()
    return {
        "compared_plan": compared.id,
        "compared_issuer": compared.issuer_id,
        "compared_unit": new_quang_binh.id,
        "closed_plan": closed.id,
        "returned_unit": school.id,
        "slug": published.public_slug,
    }


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.fixture(scope="module")
def tabs(browser: Browser, served) -> Iterator[Callable[..., Page]]:
    """One page per role and view, signed in on first use and reused after."""
    server, _app, data = served
    opened: dict[tuple[str, str], Page] = {}

    def tab(role: str, view: str = "desktop") -> Page:
        """``view``: "desktop", "phone", or "english" (a desktop in the other language)."""
        if (role, view) not in opened:
            device = PHONE if view == "phone" else DESKTOP
            context = browser.new_context(**device, locale="vi-VN", base_url=server.url)
            page = context.new_page()
            if role != "anonymous":
                sign_in(page, ACCOUNTS[role], data["passwords"][role])
            if view == "english":
                with page.expect_navigation():
                    page.get_by_role("button", name="English").click()
            opened[role, view] = page
        return opened[role, view]

    yield tab
    for page in opened.values():
        page.context.close()


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/dang-nhap")
    page.get_by_label("Tên đăng nhập", exact=True).fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_label("Mật khẩu", exact=True).press("Enter")
    assert "/dang-nhap" not in page.url, page.locator("body").inner_text()


# --- axe ------------------------------------------------------------------------------


def check(axe: Axe, page: Page, where: str) -> Violations:
    """What axe finds on the page shown, one line per rule broken, with the elements."""
    results = axe.run(page, options=AXE_OPTIONS).response
    return [
        f"{v['id']} ({v['impact']}) on {where}: {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in results["violations"]
    ]


def assert_none(violations: Violations) -> None:
    assert not violations, f"{len(violations)} accessibility violations:\n" + "\n".join(violations)


# --- the pages, from the URL map ------------------------------------------------------


def page_rules(app: Flask) -> list[Rule]:
    """The routes a browser opens as pages: GET, HTML, not a download."""
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or ())
            and not rule.endpoint.startswith(NOT_PAGES)
            and not rule.rule.endswith(DOWNLOADS)
            and rule.endpoint not in REACHED_BY_FORM
        ),
        key=lambda rule: rule.rule,
    )


def arguments(rule: Rule, data: dict[str, Any]) -> dict[str, Any]:
    """The rule's parameters from the demo data: the district's plan and drive, the
    reporter's commune and its result, the reporter's account; an import's target is the
    thing it imports into."""
    targets = {"imports.units": "district", "imports.quotas": "plan", "imports.results": "drive"}
    known = {
        "plan_id": data["plan"],
        "drive_id": data["drive"],
        "unit_id": data["unit"],
        "result_id": data["result"],
        "user_id": data["user"],
        "entity": "result",
        "entity_id": data["result"],
        "slug": data["slug"],
    }
    values = {}
    for name in rule.arguments:
        if name == "target_id" and rule.endpoint in targets:
            values[name] = data[targets[rule.endpoint]]
        else:
            assert name in known, f"{rule.endpoint}: give its parameter {name} a demo value"
            values[name] = known[name]
    return values


@pytest.fixture(scope="module")
def pages(served) -> dict[str, str]:
    """endpoint -> URL of every page, its parameters filled from the demo data."""
    _server, app, data = served
    with app.test_request_context():
        return {
            rule.endpoint: url_for(rule.endpoint, **arguments(rule, data))
            for rule in page_rules(app)
        }


# --- the tests ------------------------------------------------------------------------


#: The main part of the page as HTML, without what changes from one session to the next.
MAIN_CONTENT = """() => {
    const main = document.querySelector("main").cloneNode(true);
    main.querySelectorAll("input[name=csrf_token]").forEach(i => i.removeAttribute("value"));
    return main.outerHTML;
}"""


def test_every_page_as_every_role(tabs, axe, pages):
    """Each role's first page is checked whole, header included; after that a page whose
    main part is the same as one already checked (for another role, or after a redirect) is
    not checked again: the time goes to what differs."""
    violations: Violations = []
    opened: dict[str, list[str]] = {endpoint: [] for endpoint in pages}
    checked: set[str] = set()
    for role in ACCOUNTS:
        page = tabs(role)
        first = True
        for endpoint, url in pages.items():
            response = page.goto(url)
            assert response is not None
            if response.status in (403, 404):
                continue  # not this role's page; the error page is checked on its own
            assert response.status == 200, f"{url} as {role}: {response.status}"
            opened[endpoint].append(role)
            main = page.evaluate(MAIN_CONTENT)
            if first or main not in checked:
                checked.add(main)
                first = False
                violations += check(axe, page, f"{url} as {role}")
    unchecked = [endpoint for endpoint, roles in opened.items() if not roles]
    assert not unchecked, f"no demo account could open these pages: give them demo data {unchecked}"
    assert_none(violations)


ERRORS = [
    ("anonymous", "/dang-nhap", 200),
    ("anonymous", "/khong-co-trang-nay", 404),
    ("reporter", "/khong-co-trang-nay", 404),
    ("reporter", "/quan-tri/tai-khoan", 403),
    ("organiser", "/dang-xuat", 405),
]


def test_sign_in_and_error_pages(tabs, axe):
    violations: Violations = []
    for role, url, status in ERRORS:
        page = tabs(role)
        response = page.goto(url)
        assert response is not None and response.status == status, url
        violations += check(axe, page, f"{url} as {role}")
    assert_none(violations)


#: (role, URL, the submit button's name, what each text field gets): the form sent with the
#: browser's own checks off, so that the server answers with its errors.
SUBMISSIONS = [
    ("anonymous", "/dang-nhap", "Đăng nhập", ""),
    ("organiser", "/ke-hoach/moi", "Lưu", ""),
    ("organiser", "/don-vi/moi", "Lưu", ""),
    ("organiser", "/don-vi/gop", "Sáp nhập", ""),
    ("organiser", "/ke-hoach/{plan}/dot/moi", "Lưu", ""),
    ("organiser", "/ke-hoach/{plan}/chi-tieu", "Lưu chỉ tiêu", "-1"),
    ("organiser", "/ke-hoach/{plan}/dot/{drive}/ket-qua", "Lưu kết quả", "-1"),
    ("organiser", "/bao-cao/don-vi/{draft_unit}/dot/{drive}", "Gửi báo cáo", ""),
    ("organiser", "/bao-cao/ket-qua/{submitted}", "Trả lại", ""),
    ("organiser", "/ke-hoach/{plan}/nhap-chi-tieu", "Tải lên và xem trước", ""),
    ("admin", "/quan-tri/tai-khoan/moi", "Lưu", ""),
    ("reporter", "/doi-mat-khau", "Đổi mật khẩu", ""),
]


def test_forms_sent_with_errors(served, tabs, axe):
    _server, _app, data = served
    violations: Violations = []
    for role, url, button, value in SUBMISSIONS:
        page = tabs(role)
        url = url.format(**data)
        page.goto(url)
        submit = page.locator("main").get_by_role("button", name=button, exact=True)
        form = submit.evaluate_handle("b => { b.form.noValidate = true; return b.form; }")
        fields = "input:is([type=text], [type=number], :not([type])), textarea"
        fields = f":is({fields}):not([readonly], [disabled])"
        for field in form.query_selector_all(fields):
            field.fill(value)
        with page.expect_navigation():
            submit.click()
        assert page.locator("main :is(.error, .flash-error)").count(), (
            f"{url} as {role}: no error shown"
        )
        violations += check(axe, page, f"{url} sent with errors as {role}")
    assert_none(violations)


def test_import_preview(served, tabs, axe):
    """A quota workbook with a change and a unit that does not exist, previewed."""
    _server, _app, data = served
    page = tabs("organiser")
    page.goto(f"/ke-hoach/{data['plan']}/nhap-chi-tieu")
    workbook = xlsx(
        ["Mã đơn vị", "Tên đơn vị", "Chỉ tiêu"], ["QX-BINH", None, 99], [None, "Xã Không Có", 5]
    )
    page.get_by_label("Tệp Excel (.xlsx)").set_input_files(
        files=[{"name": "chi-tieu.xlsx", "mimeType": XLSX_MIMETYPE, "buffer": workbook}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Tải lên và xem trước").click()
    assert "/nhap-excel/" in page.url, page.locator("main").inner_text()
    violations = check(axe, page, "an import preview as organiser")
    with page.expect_navigation():
        page.get_by_role("button", name="Hủy tệp này").click()
    assert_none(violations)


PHONE_PAGES = [
    ("anonymous", "/dang-nhap"),
    ("organiser", "/"),
    ("organiser", "/ke-hoach/{plan}"),
    ("organiser", "/ke-hoach/{plan}/don-vi/{unit}"),
    ("organiser", "/bao-cao/duyet"),
    ("reporter", "/bao-cao/"),
    ("reporter", "/bao-cao/don-vi/{unit}/dot/{drive}"),
    ("leader", "/ke-hoach/{plan}"),
    ("organiser", "/ke-hoach/{plan}/chi-tieu"),
]


def test_main_pages_on_a_phone(served, tabs, axe):
    """No violation, and no page wider than the phone: a table wider than the screen
    scrolls in its own box, never the page."""
    _server, _app, data = served
    violations: Violations = []
    too_wide = {}
    for role, url in PHONE_PAGES:
        page = tabs(role, "phone")
        url = url.format(**data)
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        violations += check(axe, page, f"{url} on a phone as {role}")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE["viewport"]["width"]:
            too_wide[url] = width
    assert_none(violations)
    assert too_wide == {}


def sort_by_rate(page: Page) -> None:
    page.locator("thead a[data-sort=rate]").click()
    assert page.locator("thead th[aria-sort=ascending]").inner_text().strip() == "Tỷ lệ"


def open_the_menu(page: Page) -> None:
    page.get_by_role("button", name="Menu").click()
    assert page.get_by_role("link", name="Kế hoạch", exact=True).is_visible()


#: (role, view, URL, what is done on the page before axe looks): sorted by the server and
#: by the script, in English, and the states _states_the_demo_lacks sets up.
STATES: list[tuple[str, str, str, Callable[[Page], None] | None]] = [
    ("organiser", "desktop", "/ke-hoach/{plan}?sort=rate&dir=desc", None),
    ("organiser", "desktop", "/ke-hoach/{plan}", sort_by_rate),
    ("organiser", "english", "/", None),
    ("leader", "phone", "/ke-hoach/{plan}", open_the_menu),
    ("leader", "desktop", "/ke-hoach/{plan}?status=not_completed", None),
    ("organiser", "english", "/ke-hoach/{plan}", None),
    ("reporter", "english", "/bao-cao/don-vi/{unit}/dot/{drive}", None),
    ("organiser", "desktop", "/bao-cao/don-vi/{returned_unit}/dot/{drive}", None),
    ("admin", "desktop", "/ke-hoach/{closed_plan}", None),
    # The 2026 province plan of the new communes, read against 2025 (two more columns).
    ("admin", "desktop", "/ke-hoach/{compared_plan}", None),
    ("admin", "desktop", "/ke-hoach/{compared_plan}/don-vi/{compared_unit}", None),
    ("admin", "desktop", "/ke-hoach/{closed_plan}/sua", None),
    ("admin", "desktop", "/ke-hoach/{closed_plan}/chi-tieu", None),
    ("admin", "desktop", "/don-vi/danh-muc-2025?tinh=38", None),
    ("admin", "desktop", "/don-vi/danh-muc-2025?tinh=01", None),
]


def test_pages_in_other_states(served, tabs, axe):
    _server, _app, data = served
    violations: Violations = []
    for role, view, url, action in STATES:
        page = tabs(role, view)
        url = url.format(**data)
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        if action:
            action(page)
        where = f"{url} as {role} ({view}{', ' + action.__name__ if action else ''})"
        violations += check(axe, page, where)
    assert_none(violations)


def _paged(axe: Axe, page: Page, url: str, where: str) -> Violations:
    """Opens a page of a long table: it answers, shows its pager, and what axe finds."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert page.get_by_role("navigation", name="Các trang của bảng").is_visible()
    return check(axe, page, where)


def test_a_long_plan_listed_page_by_page(served, tabs, axe):
    """The 2026 province plan (166 communes) with pages of 50: the pager, the note and the
    chart of the holders furthest behind, on a desktop and on a phone; and the published
    page of a plan, a page at a time."""
    _server, app, data = served
    app.config["DASHBOARD_PAGE_SIZE"] = 50
    try:
        violations: Violations = []
        for view in ("desktop", "phone"):
            page = tabs("admin", view)
            url = f"/ke-hoach/{data['compared_plan']}?trang=2"
            violations += _paged(axe, page, url, f"{url} as admin ({view})")
            # The province's own page: the lines below it a page at a time, and its
            # results added up drive by drive (a subtree with more than a few listed).
            url = f"/ke-hoach/{data['compared_plan']}/don-vi/{data['compared_issuer']}?trang=2"
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(dashboard, "RESULTS_LISTED", 0)
                violations += _paged(axe, page, url, f"{url} as admin ({view})")
            assert page.get_by_role("table", name="Báo cáo được tính, cộng theo từng đợt").count()
        # The published district plan, pages of 5: its pager and its search.
        app.config["DASHBOARD_PAGE_SIZE"] = 5
        for view in ("desktop", "phone"):
            page = tabs("anonymous", view)
            url = f"/cong-khai/{data['slug']}?trang=2"
            violations += _paged(axe, page, url, f"{url} ({view})")
            assert page.get_by_role("searchbox", name="Tìm đơn vị").is_visible()
        assert_none(violations)
    finally:
        app.config["DASHBOARD_PAGE_SIZE"] = 200
