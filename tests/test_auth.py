"""Sign-in throttling, session timeouts, ending sessions, passwords, accounts admin."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select
from werkzeug import security
from werkzeug.security import generate_password_hash

from campaign.extensions import db
from campaign.models import AuditEntry, User
from campaign.services import tokens, users
from campaign.services.errors import ServiceError
from tests import factories as f
from tests.conftest import RequestClient


@pytest.fixture(autouse=True)
def fast_hash(monkeypatch):
    monkeypatch.setattr(
        "campaign.models.users.generate_password_hash",
        lambda p: generate_password_hash(p, method="pbkdf2:sha256:1"),
    )


@pytest.fixture
def people(app):
    district, (a,) = f.district_with_communes(["A"])
    reporter = f.user("reporter", [a])
    admin = f.user("admin")
    f.commit()
    return reporter, admin


def second_client(app):
    app.test_client_class = RequestClient
    return app.test_client()


def login(client, user, password=f.PASSWORD):
    return client.post("/dang-nhap", data={"username": user.username, "password": password})


@pytest.mark.parametrize(
    "password", ["1234567", "12345678", "password", "Matkhau123", "anhyeuem", "123456789a"]
)
def test_short_and_common_passwords_are_refused(app, password):
    with pytest.raises(ServiceError):
        users.check_password_rules(password)


@pytest.mark.parametrize("password", ["tám ký tự", "x" * 64, "x" * 128, "đèn đỏ dừng lại nhé"])
def test_long_passwords_without_composition_rules_are_accepted(app, password):
    users.check_password_rules(password)


def login_from(client, address, user, password=f.PASSWORD):
    return client.post(
        "/dang-nhap",
        data={"username": user.username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_sign_ins_are_throttled_per_username_and_address(app, client, people):
    reporter, _admin = people
    for _ in range(5):
        assert login_from(client, "198.51.100.7", reporter, "wrong password").status_code == 200
    throttled = login_from(client, "198.51.100.7", reporter)
    assert throttled.status_code == 429
    assert "Quá nhiều lần đăng nhập sai" in throttled.get_data(as_text=True)


def test_a_stranger_cannot_lock_an_account_out(app, client, people):
    """Wrong passwords from one address leave the owner, elsewhere, free to sign in."""
    reporter, _admin = people
    stranger = second_client(app)
    for _ in range(10):
        login_from(stranger, "198.51.100.7", reporter, "wrong password")
    assert login_from(stranger, "198.51.100.7", reporter).status_code == 429
    response = login_from(client, "203.0.113.5", reporter)
    assert response.status_code == 302 and response.headers["Location"] == "/bao-cao/"


def test_behind_a_proxy_the_limits_see_the_client_address(app, client, people):
    """With ``PROXY_FIX_X_FOR``, the address is the one the proxy saw, not the proxy's own."""
    from campaign import register_proxy_fix

    reporter, _admin = people
    app.config["PROXY_FIX_X_FOR"] = 1
    register_proxy_fix(app)

    def login_via_proxy(client_address, password=f.PASSWORD):
        return client.post(
            "/dang-nhap",
            data={"username": reporter.username, "password": password},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
            headers={"X-Forwarded-For": client_address},
        )

    for _ in range(5):
        login_via_proxy("198.51.100.7", "wrong password")
    assert login_via_proxy("198.51.100.7").status_code == 429
    assert login_via_proxy("203.0.113.5").status_code == 302
    db.session.rollback()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.failed"))
    assert entry.after["address"] == "198.51.100.7"


def test_without_the_proxy_setting_a_forwarded_address_is_not_believed(client, people):
    """Anyone can write X-Forwarded-For; only a configured proxy's is trusted."""
    reporter, _admin = people
    for n in range(5):
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        client.post(
            "/dang-nhap",
            data={"username": reporter.username, "password": "wrong password"},
            headers=forged,
        )
    response = client.post(
        "/dang-nhap",
        data={"username": reporter.username, "password": f.PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.5"},
    )
    assert response.status_code == 429


def test_wrong_current_passwords_are_throttled(app, client, people):
    reporter, _admin = people
    login(client, reporter)
    new = "một mật khẩu mới dài"
    for _ in range(5):
        page = change_password(client, "wrong password", new)
        assert "Mật khẩu hiện tại không đúng." in page.get_data(as_text=True)
    throttled = change_password(client, f.PASSWORD, new)
    assert throttled.status_code == 429
    assert "Quá nhiều lần đăng nhập sai" in throttled.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, reporter.id).check_password(f.PASSWORD)  # nothing changed


def test_wrong_passwords_count_once_across_both_pages(app, client, people):
    """Guessing on the password page does not earn more tries on the sign-in page."""
    reporter, _admin = people
    login(client, reporter)
    for _ in range(3):
        change_password(client, "wrong password", "một mật khẩu mới dài")
    other = second_client(app)
    for _ in range(2):
        login(other, reporter, "wrong password")
    assert login(other, reporter).status_code == 429


def test_throttling_counts_failures_only(app, client, people):
    reporter, _admin = people
    for _ in range(8):
        assert login(client, reporter).status_code == 302
        client.post("/dang-xuat")


def test_failed_sign_ins_are_throttled_per_address(app, client, people):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per minute"
    for n in range(3):
        client.post("/dang-nhap", data={"username": f"nobody{n}", "password": "wrong password"})
    assert client.post("/dang-nhap", data={"username": "other", "password": "x"}).status_code == 429


@pytest.fixture
def password_checks(monkeypatch):
    """The hashes checked against a password, wherever the check is made."""
    checked = []

    def check(pwhash, password):
        checked.append(pwhash)
        return security.check_password_hash(pwhash, password)

    for module in ("campaign.models.users", "campaign.services.users"):
        monkeypatch.setattr(f"{module}.check_password_hash", check)
    return checked


@pytest.mark.parametrize("case", ["wrong password", "unknown account", "disabled account"])
def test_every_refused_sign_in_costs_one_password_check(client, people, password_checks, case):
    """An unknown or disabled account must take as long to refuse as a wrong password."""
    reporter, admin = people
    username, password = reporter.username, "wrong password"
    if case == "unknown account":
        username = "nobody"
    elif case == "disabled account":
        users.set_enabled(reporter, False, by=admin)
        f.commit()
        password = f.PASSWORD
    response = client.post("/dang-nhap", data={"username": username, "password": password})
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert len(password_checks) == 1


def test_an_unknown_account_is_refused_as_slowly_as_a_wrong_password(client, people):
    reporter, _admin = people
    reporter.password_hash = security.generate_password_hash(f.PASSWORD)  # the real cost
    f.commit()

    def fastest(usernames: list[str]) -> float:
        times = []
        for username in usernames:
            start = time.perf_counter()
            client.post("/dang-nhap", data={"username": username, "password": "wrong password"})
            times.append(time.perf_counter() - start)
        return min(times)

    strangers = [f"nobody{n}" for n in range(4)]
    fastest(strangers[:1])  # the first refusal of an unknown account makes the hash it checks
    # Loose on purpose: without the check, an unknown account is refused ten times faster.
    assert fastest(strangers[1:]) > 0.3 * fastest([reporter.username] * 3)


#: ``next`` values as they stand in the query string; each would lead a browser away.
FOREIGN_TARGETS = [
    "//evil.example/",
    "///evil.example/",
    "/%09/evil.example/",
    "/%0d/evil.example/",
    "/%0a/evil.example/",
    "/%0D%0ASet-Cookie:%20a=b",
    "%09//evil.example/",
    "/%2F%2Fevil.example/",
    "/%252F%252Fevil.example/",
    "/%5Cevil.example/",
    "/%5C/evil.example/",
    "%5C%5Cevil.example/",
    "/%255Cevil.example/",
    "/%1b/evil.example/",
    "/%7f/evil.example/",
    "%20//evil.example/",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "https:evil.example",
    "https:/evil.example",
    "//user@evil.example",
    "javascript:alert(1)",
    "evil.example",
    "?next=//evil.example",
]


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_sign_in_goes_only_to_a_path_of_this_site(client, people, target):
    reporter, _admin = people
    response = client.post(
        "/dang-nhap",
        query_string=f"next={target}",
        data={"username": reporter.username, "password": f.PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/bao-cao/"


def test_sign_in_returns_to_the_page_asked_for(client, people):
    reporter, _admin = people
    response = client.post(
        "/dang-nhap",
        query_string="next=/bao-cao/dot/7%3Fx%3D1",
        data={"username": reporter.username, "password": f.PASSWORD},
    )
    assert response.headers["Location"] == "/bao-cao/dot/7?x=1"


def test_the_earlier_name_of_the_throttle_setting_is_still_read(monkeypatch, tmp_path):
    from campaign import config

    monkeypatch.setenv("LOGIN_LIMIT_PER_USERNAME", "2 per minute")
    settings = config.from_environment(str(tmp_path), {"SECRET_KEY": "x"})
    assert settings["LOGIN_LIMIT_PER_USERNAME_AND_ADDRESS"] == "2 per minute"


def test_password_change_ends_the_other_sessions_only(app, client, people):
    reporter, _admin = people
    other = second_client(app)
    login(client, reporter)
    login(other, reporter)
    response = client.post(
        "/doi-mat-khau",
        data={
            "current": f.PASSWORD,
            "new": "một mật khẩu mới dài",
            "confirm": "một mật khẩu mới dài",
        },
    )
    assert response.status_code == 302
    assert client.get("/bao-cao/").status_code == 200
    assert other.get("/bao-cao/").status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.password"))


def test_password_change_refuses_a_common_password_and_a_wrong_current_one(client, people):
    reporter, _admin = people
    login(client, reporter)
    page = client.post(
        "/doi-mat-khau", data={"current": f.PASSWORD, "new": "password1", "confirm": "password1"}
    ).get_data(as_text=True)
    assert "quá phổ biến" in page
    page = client.post(
        "/doi-mat-khau", data={"current": "wrong", "new": "abc def ghi", "confirm": "abc def ghi"}
    ).get_data(as_text=True)
    assert "không đúng" in page
    assert login(second_client(client.application), reporter).status_code == 302


def test_signing_out_ends_the_other_sessions(app, client, people):
    reporter, _admin = people
    other = second_client(app)
    login(client, reporter)
    login(other, reporter)
    client.post("/dang-xuat")
    assert other.get("/bao-cao/").status_code == 302


def test_disabling_an_account_ends_its_sessions_and_sign_in(app, client, people):
    reporter, admin = people
    victim = second_client(app)
    login(victim, reporter)
    login(client, admin)
    client.post(f"/quan-tri/tai-khoan/{reporter.id}/trang-thai", data={"enabled": "0"})
    assert victim.get("/bao-cao/").status_code == 302
    assert login(victim, reporter).status_code == 200
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.disable"))


@pytest.mark.parametrize("setting", ["SESSION_IDLE_TIMEOUT", "SESSION_ABSOLUTE_TIMEOUT"])
def test_sessions_time_out(app, client, people, monkeypatch, setting):
    reporter, _admin = people
    login(client, reporter)
    app.config[setting] = 100
    later = time.time() + 101
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get("/bao-cao/")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_admin_creates_an_account_with_a_one_time_password(app, client, people):
    reporter, admin = people
    unit_code = reporter.units[0].code
    login(client, admin)
    response = client.post(
        "/quan-tri/tai-khoan/moi",
        data={
            "username": "cdcs-a",
            "full_name": "Nguyễn Thị B",
            "role": "reporter",
            "units": unit_code,
        },
    )
    assert response.headers["Cache-Control"] == "no-store"
    password = re.search(r'<p class="once">([^<]+)</p>', response.get_data(as_text=True))[1]
    db.session.rollback()
    created = users.by_username("cdcs-a")
    assert [u.code for u in created.units] == [unit_code]
    assert created.must_change_password is True
    assert login(second_client(app), created, password).status_code == 302


def change_password(client, current, new):
    return client.post("/doi-mat-khau", data={"current": current, "new": new, "confirm": new})


def test_a_one_time_password_opens_only_the_page_that_replaces_it(app, client, people):
    reporter, admin = people
    login(client, admin)
    response = client.post(f"/quan-tri/tai-khoan/{reporter.id}/mat-khau")
    password = re.search(r'<p class="once">([^<]+)</p>', response.get_data(as_text=True))[1]
    holder = second_client(app)
    response = login(holder, reporter, password)
    assert response.headers["Location"] == "/bao-cao/"
    for path in ("/bao-cao/", "/", "/don-vi/", "/tai-khoan/ma-truy-cap/"):
        response = holder.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/doi-mat-khau", path
    api = holder.get("/api/v1/plans")
    assert api.status_code == 403 and api.json["error"]["code"] == "forbidden"
    page = holder.get("/doi-mat-khau").get_data(as_text=True)
    assert "chỉ dùng một lần" in page

    page = change_password(holder, password, password).get_data(as_text=True)
    assert "Mật khẩu mới phải khác mật khẩu hiện tại." in page
    assert holder.get("/bao-cao/").status_code == 302

    response = change_password(holder, password, "mật khẩu riêng của tôi")
    assert response.status_code == 302
    assert holder.get("/bao-cao/").status_code == 200
    assert holder.get("/api/v1/plans").status_code == 200
    db.session.rollback()
    assert db.session.get(User, reporter.id).must_change_password is False


def test_sign_out_stays_open_to_a_one_time_password(app, client, people):
    reporter, admin = people
    password = users.reset_password(reporter, by=admin)
    f.commit()
    login(client, reporter, password)
    assert client.post("/dang-xuat").headers["Location"] == "/dang-nhap"


def test_the_demo_passwords_are_not_one_time(app):
    """Printed for whoever starts the demo, to try every role at once."""
    from campaign.services import demo

    demo.load(reform=False)
    accounts = demo.reset_demo_accounts()
    assert not any(users.by_username(name).must_change_password for name, _, _ in accounts)


def test_admin_form_errors_are_shown_and_nothing_is_saved(client, people):
    _reporter, admin = people
    login(client, admin)
    page = client.post(
        "/quan-tri/tai-khoan/moi", data={"username": "x", "role": "reporter", "units": "NOPE"}
    ).get_data(as_text=True)
    assert "NOPE" in page and "Không có đơn vị" in page
    db.session.rollback()
    assert users.by_username("x") is None


def test_admin_resets_a_password_and_changes_role_and_scope(app, client, people):
    reporter, admin = people
    victim = second_client(app)
    login(victim, reporter)
    login(client, admin)
    response = client.post(f"/quan-tri/tai-khoan/{reporter.id}/mat-khau")
    password = re.search(r'<p class="once">([^<]+)</p>', response.get_data(as_text=True))[1]
    assert victim.get("/bao-cao/").status_code == 302
    assert login(victim, reporter, password).status_code == 302
    change_password(victim, password, "mật khẩu riêng của tôi")
    assert victim.get("/bao-cao/").status_code == 200
    district = reporter.units[0].parent
    client.post(
        f"/quan-tri/tai-khoan/{reporter.id}",
        data={"role": "organiser", "units": district.code, "full_name": "Cán bộ"},
    )
    assert victim.get("/bao-cao/").status_code == 302  # a new scope needs a new session
    db.session.rollback()
    changed = db.session.get(User, reporter.id)
    assert (changed.role, [u.code for u in changed.units]) == ("organiser", [district.code])
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.update"))
    assert entry.before["role"] == "reporter" and entry.after["units"] == [district.code]


def test_a_password_reset_revokes_the_accounts_api_tokens(app, client, people):
    """Whoever knew the old password may have made a token; the reset shuts it out too."""
    reporter, admin = people
    token, plain = tokens.create_token(reporter, "made with the old password")
    _kept, admins_plain = tokens.create_token(admin, "another account's")
    f.commit()
    program = second_client(app)
    bearer = {"Authorization": f"Bearer {plain}"}
    assert program.get("/api/v1/units", headers=bearer).status_code == 200

    login(client, admin)
    page = client.get(f"/quan-tri/tai-khoan/{reporter.id}").get_data(as_text=True)
    assert "mọi mã API của tài khoản bị thu hồi" in page  # said before the button is pressed
    response = client.post(f"/quan-tri/tai-khoan/{reporter.id}/mat-khau")
    assert "mọi mã API của tài khoản đã bị thu hồi" in response.get_data(as_text=True)

    response = program.get("/api/v1/units", headers=bearer)
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    others = {"Authorization": f"Bearer {admins_plain}"}
    assert program.get("/api/v1/units", headers=others).status_code == 200
    db.session.rollback()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.revoke_tokens"))
    assert (entry.entity, entry.entity_id, entry.user_id) == ("user_account", reporter.id, admin.id)
    assert entry.after["tokens"] == [token.id]
    revoked = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "token.revoke"))
    assert (revoked.entity_id, revoked.user_id) == (token.id, admin.id)


def test_every_door_to_a_password_reset_revokes_the_tokens(app, people):
    """The service does it, so the page and any command line calling it need not remember."""
    reporter, admin = people
    _token, plain = tokens.create_token(reporter)
    users.reset_password(reporter, by=admin)
    assert tokens.authenticate(plain) is None


def test_a_new_accounts_password_page_says_nothing_of_tokens(client, people):
    reporter, admin = people
    login(client, admin)
    response = client.post(
        "/quan-tri/tai-khoan/moi",
        data={"username": "moi", "role": "reporter", "units": reporter.units[0].code},
    )
    assert "đã bị thu hồi" not in response.get_data(as_text=True)


def test_an_admin_cannot_lock_themselves_out(client, people):
    _reporter, admin = people
    login(client, admin)
    client.post(f"/quan-tri/tai-khoan/{admin.id}/trang-thai", data={"enabled": "0"})
    assert client.get("/quan-tri/tai-khoan").status_code == 200
