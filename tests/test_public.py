"""Publishing a plan's progress: who may, what the page shows and hides, and how it is served
(framing, caching, no session, a limit per address)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import select, update

from campaign.extensions import db, limiter
from campaign.models import AuditEntry, Plan, Result
from campaign.services import plans, public, tokens
from tests import factories as f
from tests.conftest import QueryCounter, RequestClient, make_app

CONTACT_NAME = "Lê Thị Liênhệ"
CONTACT_PHONE = "0912 345 678"
E_MAIL = "canbo.lienhe@quangxuong.example.vn"
ACCOUNT = "duyet.baocao.qx"
REASON = "Thiếu chữ ký của trưởng đoàn"
OUTSIDE = "Công ty Ngoài Kế Hoạch"
#: A draft's bags: shown nowhere while it is a draft.
DRAFT_BAGS = 654_321


class World:
    """A district plan with quotas for two communes, one commune with no quota, results in
    every state, contact details on every unit, and one account of each kind."""

    def __init__(self) -> None:
        self.district, communes = f.district_with_communes(
            ["Quảng Bình", "Quảng Chính", "Quảng Định", "Quảng Đức"]
        )
        self.binh, self.chinh, self.dinh, self.duc = communes
        for unit in communes:
            unit.contact_name, unit.contact_phone = CONTACT_NAME, CONTACT_PHONE
        # An e-mail where a person's contact details are typed, as a careless form fills them.
        self.dinh.contact_name = E_MAIL
        self.outside = f.unit(OUTSIDE, "enterprise", self.district)
        self.other = f.unit("Huyện Khác", "district", self.district.parent)
        self.plan = f.plan(self.district, number="276/KH-BCĐTH")
        plans.set_quotas(self.plan, {self.binh: 40, self.chinh: 20, self.duc: 10})
        drive = f.drive(self.plan)
        # Approved: 10 x 250 + 30 x 350 + 5 x 450 = 45 units (per bag) for Quảng Bình.
        f.result(drive, self.binh, 10, 30, 5, state="approved")
        f.result(drive, self.chinh, 7, state="submitted")  # not checked yet: not counted
        f.result(drive, self.duc, 3, state="returned")
        f.result(drive, self.dinh, DRAFT_BAGS, state="draft")
        f.result(drive, self.outside, 4, state="approved")  # outside every quota holder
        db.session.execute(update(Result).where(Result.state == "returned").values(
            return_reason=REASON
        ))  # fmt: skip
        self.organiser = f.user("organiser", [self.district], username=ACCOUNT)
        self.organiser.full_name = "Trần Văn Tổchức"
        self.stranger = f.user("organiser", [self.other])
        self.leader = f.user("leader", [self.district])
        self.reporter = f.user("reporter", [self.binh])
        self.admin = f.user("admin")
        self.tokens = {
            who: tokens.create_token(getattr(self, who), who)[1]
            for who in ("organiser", "stranger", "leader", "reporter", "admin")
        }
        f.commit()

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def slug(self) -> str | None:
        db.session.rollback()
        return db.session.scalar(select(Plan.public_slug).where(Plan.id == self.plan.id))


@pytest.fixture
def world(app, fast_passwords) -> World:
    limiter.reset()
    return World()


def publish(world: World, on: bool = True) -> str:
    plans.set_public(db.session.get(Plan, world.plan.id), on)
    db.session.commit()
    return world.slug() or ""


# --- publishing: the page and the API ------------------------------------------------


def test_the_organiser_publishes_and_unpublishes_on_the_plan_page(client, auth, world):
    auth.sign_in(world.organiser)
    page = client.get(f"/ke-hoach/{world.plan.id}").get_data(as_text=True)
    assert "Kế hoạch chưa công khai" in page and 'name="public" value="1"' in page

    response = client.post(f"/ke-hoach/{world.plan.id}/cong-khai", data={"public": "1"})
    assert response.status_code == 302
    slug = world.slug()
    assert slug and len(slug) == 16  # 12 random bytes, not the id
    page = client.get(f"/ke-hoach/{world.plan.id}").get_data(as_text=True)
    assert f"http://localhost/cong-khai/{slug}" in page
    assert f"/cong-khai/{slug}?nhung=1" in page  # the embed snippet
    assert client.get(f"/ke-hoach/{world.plan.id}/cong-khai/ma-qr.svg").status_code == 200
    anyone = RequestClient(client.application)
    assert anyone.get(f"/cong-khai/{slug}").status_code == 200

    client.post(f"/ke-hoach/{world.plan.id}/cong-khai", data={"public": "0"})
    assert world.slug() is None
    assert anyone.get(f"/cong-khai/{slug}").status_code == 404  # at once, cache or not
    assert client.get(f"/ke-hoach/{world.plan.id}/cong-khai/ma-qr.png").status_code == 404

    client.post(f"/ke-hoach/{world.plan.id}/cong-khai", data={"public": "1"})
    again = world.slug()
    assert again and again != slug  # a poster taken down stays down
    assert anyone.get(f"/cong-khai/{slug}").status_code == 404
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity == "plan", AuditEntry.entity_id == world.plan.id)
        .order_by(AuditEntry.id)
    ).all()
    assert actions[-3:] == ["plan.publish", "plan.unpublish", "plan.publish"]
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.user_id == world.organiser.id


@pytest.mark.parametrize("who", ["stranger", "leader", "reporter"])
def test_only_the_issuers_organisers_publish_on_the_page(client, auth, world, who):
    auth.sign_in(getattr(world, who))
    response = client.post(f"/ke-hoach/{world.plan.id}/cong-khai", data={"public": "1"})
    assert response.status_code == 403
    assert world.slug() is None
    slug = publish(world)
    response = client.post(f"/ke-hoach/{world.plan.id}/cong-khai", data={"public": "0"})
    assert response.status_code == 403
    assert world.slug() == slug


def test_the_page_shows_the_switch_to_managers_only(client, auth, world):
    auth.sign_in(world.leader)
    page = client.get(f"/ke-hoach/{world.plan.id}").get_data(as_text=True)
    assert 'name="public"' not in page
    slug = publish(world)
    page = client.get(f"/ke-hoach/{world.plan.id}").get_data(as_text=True)
    assert f"/cong-khai/{slug}" in page and 'name="public"' not in page


def test_the_api_publishes_and_unpublishes(client, world):
    url = f"/api/v1/plans/{world.plan.id}"
    shown = client.get(url, headers=world.headers("leader")).get_json()
    assert shown["public"] is False and shown["public_url"] is None

    response = client.patch(url, json={"public": True}, headers=world.headers("organiser"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    slug = world.slug()
    assert body["public"] is True and body["public_url"] == f"http://localhost/cong-khai/{slug}"
    listed = client.get("/api/v1/plans", headers=world.headers("leader")).get_json()["items"]
    assert listed[0]["public_url"] == body["public_url"]
    assert client.get(body["public_url"] + ".json").status_code == 200

    response = client.patch(url, json={"public": False}, headers=world.headers("organiser"))
    assert response.get_json()["public_url"] is None and world.slug() is None
    assert client.get(body["public_url"] + ".json").status_code == 404
    assert client.get(body["public_url"]).status_code == 404
    response = client.patch(url, json={"public": True}, headers=world.headers("admin"))
    assert response.status_code == 200 and world.slug() not in (None, slug)


@pytest.mark.parametrize("who", ["stranger", "leader", "reporter"])
def test_only_the_issuers_organisers_publish_through_the_api(client, world, who):
    url = f"/api/v1/plans/{world.plan.id}"
    response = client.patch(url, json={"public": True}, headers=world.headers(who))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert world.slug() is None


@pytest.mark.parametrize(
    "body",
    [{}, {"public": 1}, {"public": "true"}, {"public": None}, {"public": True, "title": "Mới"}],
)
def test_the_api_takes_only_a_boolean_public(client, world, body):
    url = f"/api/v1/plans/{world.plan.id}"
    response = client.patch(url, json=body, headers=world.headers("organiser"))
    assert response.status_code == 422
    assert world.slug() is None


# --- what the public page shows ------------------------------------------------------


def test_the_page_and_its_json_give_the_approved_only_summary(client, world):
    slug = publish(world)
    summary = client.get(
        f"/api/v1/plans/{world.plan.id}/summary?approved_only=true",
        headers=world.headers("leader"),
    ).get_json()
    data = client.get(f"/cong-khai/{slug}.json").get_json()

    # Every total but the comparison with an earlier plan, which the public page leaves out.
    del summary["totals"]["previous_collected"]
    assert data["totals"] == summary["totals"]
    keys = ("code", "name", "kind", "quota", "collected", "rate_percent", "status")
    assert data["units"] == [{k: unit[k] for k in keys} for unit in summary["units"]]
    assert set(data) == {"totals", "units", "units_total", "page", "per_page"}
    assert (data["units_total"], data["page"], data["per_page"]) == (3, 1, 1000)
    # The submitted 7 bags of Quảng Chính are not checked yet: they count nowhere here.
    assert data["totals"]["collected"] == 45 and data["totals"]["collected_outside"] == 4
    binh = next(u for u in data["units"] if u["name"] == "Quảng Bình")
    assert binh == {**binh, "quota": 40, "collected": 45, "rate_percent": 112.5, "status": "over"}

    page = client.get(f"/cong-khai/{slug}").get_data(as_text=True)
    assert "Kế hoạch số 276/KH-BCĐTH ngày 10/05/2021" in page
    assert "Tổ chức hiến máu tình nguyện năm 2021" in page and "Huyện Quảng Xương" in page
    for unit in summary["units"]:
        assert unit["name"] in page
    assert "112,5%" in page and "fill-over w-100" in page  # the rate and its bar
    assert '<svg viewBox="0 0' in page and "chart-over" in page  # the chart
    assert ">70<" in page and ">45<" in page  # total quota, collected (approved only)
    assert 'content="Đã thu 45/70 đơn vị máu (64,3%); 1/3 đơn vị' in page  # a shared link


def test_a_long_plan_is_listed_a_page_at_a_time_with_a_search(app, client, world):
    """A national plan has a hundred thousand lines, and the page is for anyone's phone: it
    lists a page of them, and a search finds a unit among them all."""
    app.config["DASHBOARD_PAGE_SIZE"] = 2
    slug = publish(world)
    names = ["Quảng Bình", "Quảng Chính", "Quảng Đức"]  # the summary's order

    def listed(query: str = "") -> tuple[list[str], str]:
        page = client.get(f"/cong-khai/{slug}{query}").get_data(as_text=True)
        table = page.split('id="units-table"')[1].split("</table>")[0]
        return [n for n in names if f">{n}<" in table], page

    shown, page = listed()
    assert shown == names[:2] and "Trang 1/2" in page and "Bảng có 3 đơn vị, mỗi trang 2." in page
    assert f'href="/cong-khai/{slug}?trang=2#units-table" rel="next"' in page
    assert ">70<" in page  # the tiles stay the whole plan's
    shown, page = listed("?trang=2")
    assert shown == names[2:] and "Trang 2/2" in page and 'rel="prev"' in page
    assert listed("?trang=99")[0] == names[2:]  # past the end: the last page
    assert listed("?trang=abc")[0] == names[:2]  # not a number: the first
    # Accents and case aside, over the whole plan; the embed keeps its frame on every link.
    shown, page = listed("?q=quang+duc&nhung=1")
    assert shown == ["Quảng Đức"] and "Bảng có 1 đơn vị" in page and "<header" not in page
    assert 'name="nhung" value="1"' in page and 'value="quang duc"' in page
    shown, page = listed("?q=Hà+Nội")
    assert shown == [] and "Không có đơn vị nào khớp." in page

    app.config["DASHBOARD_PAGE_SIZE"] = 200
    shown, page = listed()
    assert shown == names and 'role="search"' not in page and "Trang 1" not in page


def test_the_json_gives_a_page_of_the_units(client, world):
    slug = publish(world)
    whole = client.get(f"/cong-khai/{slug}.json").get_json()

    def units(query: str) -> tuple[list[str], int, int]:
        data = client.get(f"/cong-khai/{slug}.json{query}").get_json()
        assert data["totals"] == whole["totals"] and data["units_total"] == 3
        return [u["name"] for u in data["units"]], data["page"], data["per_page"]

    names = [u["name"] for u in whole["units"]]
    assert units("?per_page=2") == (names[:2], 1, 2)
    assert units("?per_page=2&page=2") == (names[2:], 2, 2)
    assert units("?per_page=2&page=9") == (names[2:], 2, 2)  # past the end: the last page
    assert units("?per_page=5000") == (names, 1, 1000)  # never more than 1000 at once
    assert units("?per_page=x&page=-1") == (names, 1, 1000)


def test_the_page_says_when_the_figures_last_changed_in_vietnam_time(client, world):
    db.session.execute(
        update(Result)
        .where(Result.state == "approved")
        .values(reviewed_at=datetime(2021, 6, 11, 17, 30))
    )
    f.commit()
    slug = publish(world)
    # 17:30 UTC is 00:30 the next day in Vietnam (UTC+7).
    assert "12/06/2021 00:30" in client.get(f"/cong-khai/{slug}").get_data(as_text=True)


def test_nothing_private_appears(client, auth, world):
    slug = publish(world)
    auth.sign_in(world.organiser)  # a signed-in organiser sees the same as anyone
    page = client.get(f"/cong-khai/{slug}").get_data(as_text=True)
    embedded = client.get(f"/cong-khai/{slug}?nhung=1").get_data(as_text=True)
    data = client.get(f"/cong-khai/{slug}.json").get_data(as_text=True)
    private = [
        CONTACT_NAME,
        CONTACT_PHONE,
        E_MAIL,
        "@",
        ACCOUNT,
        "Tổchức",
        REASON,
        OUTSIDE,
        # The draft's figures: six digits, which no factory code ("U00777") can hold.
        str(DRAFT_BAGS),
        f"{DRAFT_BAGS:,}".replace(",", "."),
        "Quảng Định",  # a unit of the issuer's tree with no quota in the plan
        "Huyện Khác",
        "Đăng xuất",
        "csrf",
        f"/ke-hoach/{world.plan.id}",
    ]
    for text in (page, embedded, data):
        assert [p for p in private if p in text] == []


def test_the_embed_drops_the_header_and_the_footer(client, world):
    slug = publish(world)
    page = client.get(f"/cong-khai/{slug}").get_data(as_text=True)
    embedded = client.get(f"/cong-khai/{slug}?nhung=1").get_data(as_text=True)
    assert "<header" in page and "<footer" in page
    assert "<header" not in embedded and "<footer" not in embedded
    assert "Quảng Bình" in embedded


def test_an_unknown_or_malformed_address_is_404(client, world):
    publish(world)
    for url in ("/cong-khai/khong-co-dau", "/cong-khai/a.b", "/cong-khai/x.json"):
        assert client.get(url).status_code == 404
    response = client.get("/cong-khai/khong-co-dau.json")
    assert response.get_json()["error"]["code"] == "not_found"


# --- how it is served ----------------------------------------------------------------


def test_the_public_page_may_be_framed_and_cached_and_sets_no_cookie(client, auth, world):
    slug = publish(world)
    auth.sign_in(world.organiser)
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 120  # a signed-in request would refresh it
    for url in (f"/cong-khai/{slug}", f"/cong-khai/{slug}?nhung=1", f"/cong-khai/{slug}.json"):
        response = client.get(url)
        assert response.status_code == 200
        csp = response.headers["Content-Security-Policy"]
        assert csp.endswith("frame-ancestors *") and "frame-ancestors 'none'" not in csp
        assert "X-Frame-Options" not in response.headers
        assert response.headers["Cache-Control"] == "public, max-age=60"
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.headers.get("Vary", "")  # the session was not read
    missing = client.get("/cong-khai/khong-co-dau")
    assert "Set-Cookie" not in missing.headers and "public" not in missing.headers.get(
        "Cache-Control", ""
    )
    # Every other page still refuses to be framed.
    for url in ("/dang-nhap", f"/ke-hoach/{world.plan.id}"):
        response = client.get(url)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
    assert client.get(f"/ke-hoach/{world.plan.id}").headers["Cache-Control"] == "no-store"


def test_a_second_request_is_served_from_memory_without_a_query(client, world):
    slug = publish(world)
    with QueryCounter(db.engine) as first:
        assert client.get(f"/cong-khai/{slug}").status_code == 200
    with QueryCounter(db.engine) as second:
        assert client.get(f"/cong-khai/{slug}").status_code == 200
        assert client.get(f"/cong-khai/{slug}.json").status_code == 200
        assert client.get(f"/cong-khai/{slug}?nhung=1").status_code == 200
    # The plan, the dashboard's five, the stamps of the figures (for the summary, the page
    # and its comparison, and after each made) and of the tree, the last approval.
    assert first.count <= 12, first.statements
    assert second.count == 0, second.statements

    plans.set_public(db.session.get(Plan, world.plan.id), False)
    db.session.commit()
    assert client.get(f"/cong-khai/{slug}").status_code == 404


def test_the_memory_expires(app, world, monkeypatch):
    slug = publish(world)
    page = public.published(slug)
    assert page is not None and public.published(slug) is page
    later = time.monotonic() + app.config["PUBLIC_PAGE_CACHE_SECONDS"] + 1
    monkeypatch.setattr("campaign.services.public.time.monotonic", lambda: later)
    with QueryCounter(db.engine) as counter:
        assert public.published(slug) is not page
    assert counter.count > 0


def test_a_page_read_before_the_unpublishing_was_committed_is_not_kept(app, world):
    slug = publish(world)
    read_meanwhile = public.published(slug)  # another request, still seeing the plan public
    assert read_meanwhile is not None
    public.forget(slug)  # the unpublishing, not yet committed
    cache = app.extensions[public.EXTENSION]
    cache.put(read_meanwhile)  # that request ends after it
    assert cache.get(slug) is None


def test_requests_are_limited_per_address(migrated, world):
    slug = publish(world)
    app = make_app(migrated, PUBLIC_PAGE_LIMIT="3 per minute")
    app.test_client_class = RequestClient
    limiter.reset()
    client = app.test_client()
    for _ in range(3):
        assert client.get(f"/cong-khai/{slug}").status_code == 200
    refused = client.get(f"/cong-khai/{slug}.json")
    assert refused.status_code == 429 and "Set-Cookie" not in refused.headers
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    page = client.get(f"/cong-khai/{slug}")
    assert page.status_code == 429 and "Quá nhiều yêu cầu" in page.get_data(as_text=True)
    elsewhere = client.get(f"/cong-khai/{slug}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert elsewhere.status_code == 200
    limiter.reset()
    with app.app_context():
        db.engine.dispose()


def test_the_qr_codes_are_images_of_the_address(client, auth, world):
    publish(world)
    auth.sign_in(world.leader)
    png = client.get(f"/ke-hoach/{world.plan.id}/cong-khai/ma-qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    svg = client.get(f"/ke-hoach/{world.plan.id}/cong-khai/ma-qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    publish(world, on=False)
    assert client.get(f"/ke-hoach/{world.plan.id}/cong-khai/ma-qr.svg").status_code == 404
