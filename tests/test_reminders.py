"""Reminders to report, through a real SMTP server on loopback: who gets one, what it
says, never twice a day, and nothing at all without a mail server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.formatting import vietnam_today
from campaign.models import AuditEntry, OrgUnit, ReminderSent
from campaign.reports.links import report_link
from campaign.services import plans, reminders
from tests import factories as f

BASE = "https://hienmau.example.vn"


class Inbox:
    """What the server received: one (recipients, message) per message."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.startswith("bounce@"):
            return "550 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    @property
    def recipients(self) -> list[str]:
        return sorted(r for rcpt, _m in self.received for r in rcpt)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(app) -> Iterator[Inbox]:
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_USE_TLS=False,
        MAIL_USERNAME="",
        MAIL_DEFAULT_SENDER="bcd-hienmau@quangxuong.example.vn",
        PUBLIC_BASE_URL=BASE,
    )
    yield box
    controller.stop()


@pytest.fixture
def world(app):
    """A drive due three days ago: Bình reported; Hải and Lộc owe it and have an e-mail;
    Ngọc owes it with no e-mail, only a phone."""
    district, units = f.district_with_communes(
        ["Quảng Bình", "Quảng Hải", "Quảng Lộc", "Quảng Ngọc"]
    )
    binh, hai, loc, ngoc = units
    for unit, email in (
        (binh, "binh@example.vn"),
        (hai, "hai@example.vn"),
        (loc, "loc@example.vn"),
    ):
        unit.contact_email = email
    ngoc.contact_phone = "0912 345 678"
    plan = f.plan(district)
    plans.set_quotas(plan, dict.fromkeys(units, 20))
    last_day = vietnam_today() - timedelta(days=5)
    drive = f.drive(plan, name="Đợt hiến máu tháng Sáu", day=last_day)
    drive.report_due_on = last_day + timedelta(days=2)
    f.result(drive, binh, 5)
    f.result(drive, loc, 5, state="returned")  # returned: owed again
    organiser = f.user("organiser", [district])
    leader = f.user("leader", [district])
    f.commit()
    return {"drive": drive, "units": units, "organiser": organiser, "leader": leader}


def deadline(drive) -> str:
    return drive.report_due_on.strftime("%d/%m/%Y")


def test_the_command_mails_each_unit_that_owes_the_report_once_a_day(runner, inbox, world):
    drive = world["drive"]
    _binh, hai, loc, _ngoc = world["units"]

    first = runner.invoke(args=["send-reminders", str(drive.id)])

    assert first.exit_code == 0, first.output
    assert inbox.recipients == ["hai@example.vn", "loc@example.vn"]
    lines = first.output.strip().splitlines()
    assert lines[-1] == "Đã gửi 2 e-mail nhắc."
    assert len(lines) == 3 and "hai@example.vn" in lines[0] + lines[1]
    by_address = {rcpt[0]: message for rcpt, message in inbox.received}
    mail = by_address["hai@example.vn"]
    assert mail["From"] == "bcd-hienmau@quangxuong.example.vn"
    assert mail["To"] == "hai@example.vn"
    assert mail["Subject"] == (
        f"Nhắc báo cáo kết quả Đợt hiến máu tháng Sáu (hạn {deadline(drive)})"
    )
    body = mail.get_content()
    assert "Kính gửi: Quảng Hải" in body
    assert f"Hạn báo cáo là ngày {deadline(drive)}, đã quá 3 ngày." in body
    assert f"{BASE}/bao-cao/don-vi/{hai.id}/dot/{drive.id}" in body
    assert f"/bao-cao/don-vi/{loc.id}/dot/{drive.id}" in by_address["loc@example.vn"].get_content()
    db.session.rollback()
    kept = db.session.scalars(select(ReminderSent.unit_id).order_by(ReminderSent.unit_id)).all()
    assert kept == sorted([hai.id, loc.id])
    audited = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "reminder.send")
    ).all()
    assert sorted(e.after["email"] for e in audited) == ["hai@example.vn", "loc@example.vn"]
    assert {(e.entity, e.entity_id) for e in audited} == {("drive", drive.id)}

    second = runner.invoke(args=["send-reminders", str(drive.id)])

    assert second.exit_code == 0, second.output
    assert "Không có đơn vị nào cần nhắc" in second.output
    assert len(inbox.received) == 2


def test_a_dry_run_says_what_it_would_send_and_sends_nothing(runner, inbox, world):
    drive = world["drive"]

    result = runner.invoke(args=["send-reminders", str(drive.id), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "Sẽ gửi" in result.output and "hai@example.vn" in result.output
    assert result.output.strip().splitlines()[-1].startswith("Chạy thử: 2 e-mail")
    assert inbox.received == []
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == 0


def test_without_a_mail_server_the_command_says_so_and_sends_nothing(app, runner, inbox, world):
    app.config["MAIL_SERVER"] = ""

    result = runner.invoke(args=["send-reminders", str(world["drive"].id)])

    assert result.exit_code == 1
    assert "Chưa cấu hình máy chủ gửi thư (MAIL_SERVER)" in result.output
    assert inbox.received == []
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == 0


def test_the_next_vietnam_day_a_unit_still_owing_is_reminded_again(app, inbox, world):
    drive, today = world["drive"], vietnam_today()
    mail = reminders.MailSettings.from_config(app.config)
    args = {"within": select(OrgUnit.id), "link": report_link, "mail": mail}
    with app.test_request_context():
        first = reminders.send_reminders(drive, today=today, **args)
        again = reminders.send_reminders(drive, today=today, **args)
        tomorrow = reminders.send_reminders(drive, today=today + timedelta(days=1), **args)
    assert (len(first.sent), len(again.sent), len(tomorrow.sent)) == (2, 0, 2)
    assert len(inbox.received) == 4


def test_the_button_reminds_and_leaders_only_read_the_list(client, auth, inbox, world):
    drive = world["drive"]
    page_url, button_url = f"/bao-cao/dot/{drive.id}", f"/bao-cao/dot/{drive.id}/nhac"

    auth.sign_in(world["leader"])
    read = client.get(page_url)
    assert read.status_code == 200
    assert button_url not in read.get_data(as_text=True)
    assert client.post(button_url).status_code == 403
    assert inbox.received == []
    auth.logout()

    auth.sign_in(world["organiser"])
    page = client.get(page_url).get_data(as_text=True)
    assert f'action="{button_url}"' in page
    assert 'href="tel:0912345678"' in page and 'href="sms:0912345678?body=' in page
    assert f"tại {BASE}/bao-cao/don-vi/{world['units'][3].id}/dot/{drive.id}" in page
    sent = client.post(button_url, follow_redirects=True).get_data(as_text=True)
    assert "Đã gửi 2 e-mail nhắc: Quảng Hải, Quảng Lộc." in sent
    assert inbox.recipients == ["hai@example.vn", "loc@example.vn"]
    again = client.post(button_url, follow_redirects=True).get_data(as_text=True)
    assert "Không có e-mail nhắc nào cần gửi hôm nay." in again
    assert len(inbox.received) == 2


def test_without_a_mail_server_the_button_says_so_and_sends_nothing(
    app, client, auth, inbox, world
):
    app.config["MAIL_SERVER"] = ""
    auth.sign_in(world["organiser"])
    page = client.post(f"/bao-cao/dot/{world['drive'].id}/nhac", follow_redirects=True)
    assert "Chưa cấu hình máy chủ gửi thư (MAIL_SERVER)" in page.get_data(as_text=True)
    assert inbox.received == []


def test_the_drive_list_without_a_public_address_links_to_the_request_s_host(
    app, client, auth, world
):
    app.config["PUBLIC_BASE_URL"] = ""
    auth.sign_in(world["organiser"])
    page = client.get(f"/bao-cao/dot/{world['drive'].id}").get_data(as_text=True)
    assert "http://localhost/bao-cao/don-vi/" in page


def test_an_address_the_server_refuses_is_said_and_not_kept_and_the_others_go(app, inbox, world):
    drive, (_binh, hai, _loc, _ngoc) = world["drive"], world["units"]
    hai.contact_email = "bounce@example.vn"
    f.commit()
    mail = reminders.MailSettings.from_config(app.config)
    with app.test_request_context():
        done = reminders.send_reminders(
            drive, within=select(OrgUnit.id), today=vietnam_today(), link=report_link, mail=mail
        )
    assert [r.email for r in done.sent] == ["loc@example.vn"]
    assert [(r.email, "550" in why) for r, why in done.refused] == [("bounce@example.vn", True)]
    assert inbox.recipients == ["loc@example.vn"]
    kept = db.session.scalars(select(ReminderSent.email)).all()
    assert kept == ["loc@example.vn"]  # the refused one may be tried again today
