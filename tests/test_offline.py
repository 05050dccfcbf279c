"""Reporting with no signal, in the system Chromium: the report form kept by the service
worker, a report sent offline kept on the phone and sent when the connection returns, a
report changed meanwhile never overwritten, and signing out clearing what was kept.

Playwright's ``set_offline`` cuts the page's and the service worker's requests alike (in
Chromium, as Playwright drives it here): no ``route`` is needed to cut the connection.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Playwright, Route, expect
from sqlalchemy import select

from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Result, User
from campaign.services import results
from tests import factories as f
from tests.browser import LiveServer, Watched, sign_in
from tests.conftest import empty_tables, serve_for_real
from tests.test_journeys import COMMUNES, district, flash, new_page, phone, plan_276, stored

WAITING = "Chưa có kết nối: báo cáo được giữ trên máy này và sẽ tự gửi khi có mạng trở lại."
CONFLICT = "Báo cáo này vừa được người khác thay đổi."
#: Well under the minute another page's send is waited for (offline.js, SENDING_FOR): a
#: report that waits that long was left marked by a page that went.
SENT_WITHIN = 15_000
SENDING = "Đã có mạng: đang gửi báo cáo giữ trên máy…"
LABELS = (
    "Số người đăng ký",
    "Số người không đủ điều kiện hiến",
    "Số túi 250 ml",
    "Số túi 350 ml",
    "Số túi 450 ml",
)
#: Everything the app keeps in the browser: the worker's caches and the reports waiting.
KEPT = """async () => {
    const urls = [];
    for (const name of await caches.keys()) {
        for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
    }
    return {urls: urls, waiting: localStorage.getItem("campaign.outbox")};
}"""

READY = """async (url) => !!navigator.serviceWorker.controller
    && !!(await caches.match(url, {ignoreVary: true}))"""


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, LiveServer]]:
    """The app with CSRF on (the kept report carries its token), served for real."""
    yield from serve_for_real(request, tmp_path_factory.mktemp("offline"))


@pytest.fixture
def live(served: tuple[Flask, LiveServer], fast_passwords: None) -> Iterator[str]:
    app, server = served
    with app.app_context():
        yield server.url
        db.session.rollback()
        empty_tables()
        db.session.remove()


class Commune(NamedTuple):
    unit: int
    plan: int
    drive: int
    #: The commune's report form for the drive.
    url: str


def quang_binh() -> Commune:
    """Quảng Bình's reporter ("qbinh") and the district's organiser ("bcd"), the plan
    with its drive of 11–12/6/2021."""
    issuer, communes = district(COMMUNES[:3])
    unit = communes["Quảng Bình"]
    plan, drive = plan_276(issuer, {u: 40 for u in communes.values()})
    f.user("reporter", [unit], username="qbinh")
    f.user("organiser", [issuer], username="bcd")
    f.commit()
    ids = Commune(unit.id, plan.id, drive.id, f"/bao-cao/don-vi/{unit.id}/dot/{drive.id}")
    db.session.rollback()
    return ids


def open_form(tab: Watched, url: str) -> None:
    """The form opened online, kept by the worker, which now answers for the page."""
    page = tab.page
    page.goto(url)
    # wait_for_function does not wait for a promise: ask until the worker is ready.
    for _ in range(100):
        if page.evaluate(READY, page.url):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the service worker did not keep the form")


def fill(page: Page, figures: tuple[int, ...]) -> None:
    for label, value in zip(LABELS, figures, strict=True):
        page.get_by_label(label, exact=True).fill(str(value))


def send_with_no_signal(page: Page) -> None:
    """The connection cut, the report typed and sent: the phone keeps it."""
    page.context.set_offline(True)
    fill(page, (50, 5, 10, 30, 5))
    page.get_by_role("button", name="Gửi báo cáo").click()
    expect(page.locator("#outbox")).to_contain_text(WAITING)


def kept(page: Page) -> dict:
    return page.evaluate(KEPT)


# --- sent with no signal ----------------------------------------------------------------


def test_a_report_sent_with_no_signal_waits_on_the_phone_then_arrives(
    browser: Browser, playwright: Playwright, live: str
):
    commune = quang_binh()
    unit, url = commune.unit, commune.url
    tab = new_page(browser, live, "offline-1-reporter", **phone(playwright))
    page = tab.page
    sign_in(tab, "qbinh", f.PASSWORD)
    open_form(tab, url)

    send_with_no_signal(page)
    tab.shot("waiting")
    assert stored(select(Result)) == []
    assert json.loads(kept(page)["waiting"])[0]["url"] == live + url

    page.context.set_offline(False)
    expect(flash(page)).to_have_text("Đã gửi báo cáo.", timeout=SENT_WITHIN)
    expect(page.locator("p > .badge")).to_have_text("Đã gửi")
    expect(page.locator("#outbox")).to_have_text(
        "Đã gửi báo cáo giữ trên máy; trả lời của máy chủ ở dưới."
    )
    tab.shot("sent")
    (result,) = stored(select(Result))
    assert (result.unit_id, result.state) == (unit, "submitted")
    assert (result.registered, result.deferred) == (50, 5)
    assert (result.bags_250, result.bags_350, result.bags_450) == (10, 30, 5)
    assert kept(page)["waiting"] is None
    assert tab.errors == []


def test_the_form_opens_again_with_no_signal_and_sends_on_the_next_page_load(
    browser: Browser, playwright: Playwright, live: str
):
    """The phone's browser dropped the page: the worker shows the form again, the report
    waits, and is sent when a page of the app opens with a connection."""
    commune = quang_binh()
    unit, url = commune.unit, commune.url
    tab = new_page(browser, live, "offline-2-reporter", **phone(playwright))
    page = tab.page
    sign_in(tab, "qbinh", f.PASSWORD)
    open_form(tab, url)

    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="Báo cáo kết quả")).to_be_visible()
    fill(page, (20, 2, 18, 0, 0))
    page.get_by_role("button", name="Lưu nháp").click()
    expect(page.locator("#outbox")).to_contain_text(WAITING)
    page.reload()
    expect(page.locator("#outbox")).to_contain_text(WAITING)
    assert stored(select(Result)) == []

    assert tab.errors == []
    context = page.context
    page.close()  # the app's page is gone, its "online" event with it
    context.set_offline(False)
    tab = Watched(context, "offline-2-reporter-next")
    page = tab.page
    page.goto(live + "/bao-cao/")
    expect(flash(page)).to_have_text("Đã lưu nháp.", timeout=SENT_WITHIN)
    expect(page).to_have_url(live + url)
    (result,) = stored(select(Result))
    assert (result.unit_id, result.state, result.bags_250) == (unit, "draft", 18)
    assert kept(page)["waiting"] is None
    assert tab.errors == []


def test_a_page_left_while_it_sends_gives_the_report_back_to_the_next_page(
    browser: Browser, playwright: Playwright, live: str
):
    """The connection came back, the page began to send (it asks for the form's fresh
    token first) and the reporter left it then: the next page sends at once, not after
    the minute another page's send is waited for."""
    commune = quang_binh()
    unit, url = commune.unit, commune.url
    tab = new_page(browser, live, "offline-left", **phone(playwright))
    page = tab.page
    sign_in(tab, "qbinh", f.PASSWORD)
    open_form(tab, url)
    send_with_no_signal(page)

    held: list[Route] = []  # the form's fresh token never comes to this page
    page.route(f"**{url}", lambda route: held.append(route))
    page.context.set_offline(False)
    expect(page.locator("#outbox")).to_have_text(SENDING)
    assert json.loads(kept(page)["waiting"])[0]["sending"] > 0
    # The page says "sending" before its request leaves, and the route reaches this test
    # a moment after the browser holds it: wait for it (a page that never asks still fails).
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert [route.request.method for route in held] == ["GET"]
    page.close()

    tab = Watched(page.context, "offline-left-next")
    page = tab.page
    page.goto(live + "/bao-cao/")
    expect(flash(page)).to_have_text("Đã gửi báo cáo.", timeout=SENT_WITHIN)
    (result,) = stored(select(Result))
    assert (result.unit_id, result.state, result.registered) == (unit, "submitted", 50)
    assert kept(page)["waiting"] is None
    assert tab.errors == []


def test_a_report_kept_past_the_session_is_sent_after_signing_in_again(
    browser: Browser, playwright: Playwright, live: str
):
    """Hours without signal: the session (and its CSRF token) ended meanwhile. The report
    waits for the reporter to sign in again, then goes with the new session's token."""
    commune = quang_binh()
    tab = new_page(browser, live, "offline-session", **phone(playwright))
    page = tab.page
    sign_in(tab, "qbinh", f.PASSWORD)
    open_form(tab, commune.url)
    send_with_no_signal(page)

    page.context.clear_cookies()
    page.context.set_offline(False)
    expect(page.locator("#outbox")).to_have_text(
        "Báo cáo vẫn được giữ trên máy: hãy đăng nhập lại để gửi.", timeout=SENT_WITHIN
    )
    assert stored(select(Result)) == []
    sign_in(tab, "qbinh", f.PASSWORD)
    expect(flash(page)).to_have_text("Đã gửi báo cáo.", timeout=SENT_WITHIN)
    (result,) = stored(select(Result))
    assert (result.state, result.bags_350) == ("submitted", 30)
    assert kept(page)["waiting"] is None
    assert tab.errors == []


def test_a_report_changed_meanwhile_is_not_overwritten(
    browser: Browser, playwright: Playwright, live: str
):
    commune = quang_binh()
    url = commune.url
    tab = new_page(browser, live, "offline-3-reporter", **phone(playwright))
    page = tab.page
    sign_in(tab, "qbinh", f.PASSWORD)
    open_form(tab, url)

    send_with_no_signal(page)
    # Meanwhile the organiser types the commune's figures in from the paper list.
    organiser = db.session.scalars(select(User).filter_by(username="bcd")).one()
    drive, unit = db.session.get(Drive, commune.drive), db.session.get(OrgUnit, commune.unit)
    assert drive is not None and unit is not None
    results.save(drive, unit, results.Counts(60, 6, 20, 30, 4), user=organiser, submit=True)
    db.session.commit()
    organiser_id = organiser.id

    page.context.set_offline(False)
    expect(page.get_by_role("alert")).to_contain_text(CONFLICT, timeout=SENT_WITHIN)
    expect(page.locator(".notice .figures")).to_contain_text("54")  # the organiser's donors
    tab.shot("conflict")
    (result,) = stored(select(Result))
    assert (result.registered, result.bags_250, result.bags_450) == (60, 20, 4)
    assert result.updated_by_id == organiser_id
    assert kept(page)["waiting"] is None
    # The server's answer to the kept report, and nothing else, is the page's only error.
    assert [e for e in tab.errors if "409" not in e] == []
    assert f"409 {live}{url}" in tab.errors


# --- what the app serves and keeps ---------------------------------------------------


def test_the_app_files_are_served_with_their_types(browser: Browser, live: str):
    tab = new_page(browser, live, "offline-files")
    request = tab.page.request
    worker = request.get("/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    manifest = request.get("/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    app = manifest.json()
    assert (app["name"], app["start_url"], app["scope"]) == (
        "Báo cáo hiến máu tình nguyện",
        "/bao-cao/",
        "/bao-cao/",
    )
    types = {icon["type"] for icon in app["icons"]}
    assert types == {"image/svg+xml", "image/png"}
    for icon in app["icons"]:
        response = request.get(icon["src"])
        assert response.ok and response.headers["content-type"].startswith(icon["type"])
    csp = worker.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp


def test_the_worker_keeps_the_form_and_static_files_only(browser: Browser, live: str):
    """An organiser opens a commune's form, then the pages with figures: the review queue,
    the drive's reports, the plan's dashboard."""
    commune = quang_binh()
    tab = new_page(browser, live, "offline-keeps")
    page = tab.page
    sign_in(tab, "bcd", f.PASSWORD)
    open_form(tab, commune.url)
    form = live + commune.url
    drive, plan = f"/bao-cao/dot/{commune.drive}", f"/ke-hoach/{commune.plan}"
    for other in ("/bao-cao/", "/bao-cao/duyet", drive, plan, drive):
        page.goto(other)
        expect(page.locator("h1")).to_be_visible()
    urls = kept(page)["urls"]
    assert form in urls
    assert [u for u in urls if u != form and not u.startswith(live + "/static/")] == []
    assert tab.errors == []


def waiting_report(tab: Watched, url: str) -> None:
    """The form kept by the worker and a report kept while offline; online again, with
    the report still waiting (as if sending it had failed)."""
    page = tab.page
    open_form(tab, url)
    send_with_no_signal(page)
    page.context.set_offline(False)
    kept_before = kept(page)
    assert kept_before["urls"] and kept_before["waiting"]


@pytest.mark.parametrize("header", ["sent", "ignored"])
def test_signing_out_clears_what_was_kept(
    browser: Browser, playwright: Playwright, live: str, header: str
):
    """By the Clear-Site-Data header, and by the page's script where a browser ignores it."""
    url = quang_binh().url
    tab = new_page(browser, live, f"offline-sign-out-{header}", **phone(playwright))
    page = tab.page
    sign_in(tab, "qbinh", f.PASSWORD)

    def without_header(route: Route) -> None:
        response = route.fetch(max_redirects=0)
        headers = {k: v for k, v in response.headers.items() if k != "clear-site-data"}
        route.fulfill(response=response, headers=headers)

    if header == "ignored":
        page.route("**/dang-xuat", without_header)

    # No connection to send the report: it waits, and signing out asks first.
    def no_connection_for_posts(route: Route) -> None:
        if route.request.method == "POST":
            route.abort()
        else:
            route.fallback()

    page.route(f"**{url}", no_connection_for_posts)
    waiting_report(tab, url)
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Menu").click()  # a phone's top bar is folded
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng xuất").click()
    expect(flash(page)).to_have_text("Bạn đã đăng xuất.")
    assert asked == ["Báo cáo đang chờ gửi sẽ bị xóa khỏi máy này. Vẫn đăng xuất?"]
    assert kept(page) == {"urls": [], "waiting": None}
    assert stored(select(Result)) == []


def test_the_worker_keeps_every_static_file_the_form_asks_for(client, auth):
    """Else the form opened with no signal misses a script or a style."""
    from campaign.offline.routes import KEPT_FILES

    unit = f.unit("Xã Quảng Bình", "commune")
    user = f.user("reporter", [unit])
    drive = f.drive(f.plan(unit.parent or unit))
    f.commit()
    auth.sign_in(user)
    page = client.get(f"/bao-cao/don-vi/{unit.id}/dot/{drive.id}").get_data(as_text=True)
    asked = set(re.findall(r'(?:src|href)="/static/([^"?]+)', page))
    assert asked and asked <= set(KEPT_FILES)


def test_signing_out_sends_clear_site_data(client, auth):
    user = f.user("reporter", [f.unit("Xã Quảng Bình", "commune")])
    f.commit()
    auth.sign_in(user)
    response = auth.logout()
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
