"""Reminding units that owe a drive's report: by e-mail, and a short message to copy."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from campaign.extensions import db
from campaign.formatting import short_date
from campaign.mail import MailSettings, connection, message
from campaign.models import Drive, OrgUnit, ReminderSent, User
from campaign.rates import Timeliness
from campaign.services import audit
from campaign.services.errors import ServiceError
from campaign.services.reporting import UnitReport, drive_reporting
from campaign.services.transaction import atomic

#: Makes the address of a unit's report form for a drive.
ReportLink = Callable[[Drive, OrgUnit], str]


@dataclass(frozen=True)
class Reminder:
    unit: OrgUnit
    email: str
    subject: str
    body: str


@dataclass
class Reminders:
    """What one run did: sent (or, on a dry run, would send), and what the server refused."""

    sent: list[Reminder] = field(default_factory=list)
    refused: list[tuple[Reminder, str]] = field(default_factory=list)


def no_mail_server() -> str:
    return _(
        "Chưa cấu hình máy chủ gửi thư (MAIL_SERVER), nên không gửi được e-mail nhắc nào. "
        "Hãy gọi điện hoặc gửi tin nhắn cho các đơn vị."
    )


def reminded_today(drive: Drive, today: date) -> set[int]:
    query = select(ReminderSent.unit_id).where(
        ReminderSent.drive_id == drive.id, ReminderSent.sent_on == today
    )
    return set(db.session.scalars(query))


def due(drive: Drive, within: Select[tuple[int]], today: date, link: ReportLink) -> list[Reminder]:
    """One e-mail per unit that owes the report and has an address, unless it was
    reminded of this drive already today (Vietnam day)."""
    done = reminded_today(drive, today)
    return [
        _reminder(drive, row, link(drive, row.unit))
        for row in drive_reporting(drive, within, today).owing
        if row.unit.contact_email and row.unit.id not in done
    ]


def _reminder(drive: Drive, row: UnitReport, link: str) -> Reminder:
    """The e-mail, in Vietnamese whatever the sender's interface language."""
    unit, deadline = row.unit, short_date(drive.report_due_on)
    with force_locale("vi"):
        subject = _(
            "Nhắc báo cáo kết quả %(drive)s (hạn %(deadline)s)", drive=drive.name, deadline=deadline
        )
        if row.timeliness.state is Timeliness.OVERDUE:
            when = _(
                "Hạn báo cáo là ngày %(deadline)s, đã quá %(days)d ngày.",
                deadline=deadline,
                days=row.timeliness.days_late or 0,
            )
        else:
            when = _("Hạn báo cáo là ngày %(deadline)s.", deadline=deadline)
        body = "\n\n".join(
            [
                _("Kính gửi: %(unit)s", unit=unit.name),
                _(
                    "Ban Chỉ đạo vận động hiến máu tình nguyện chưa nhận được báo cáo kết quả "
                    "%(drive)s (%(dates)s) của đơn vị.",
                    drive=drive.name,
                    dates=_dates(drive),
                )
                + " "
                + when,
                _("Đề nghị đơn vị báo cáo tại: %(link)s", link=link),
                _("Trân trọng cảm ơn."),
            ]
        )
    return Reminder(unit, unit.contact_email or "", subject, body + "\n")


def _dates(drive: Drive) -> str:
    if drive.starts_on == drive.ends_on:
        return short_date(drive.starts_on)
    return f"{short_date(drive.starts_on)} – {short_date(drive.ends_on)}"


def short_message(drive: Drive, link: str, unit: OrgUnit | None = None) -> str:
    """A message to paste in Zalo or an SMS: to one unit, or to every unit still owing."""
    deadline = short_date(drive.report_due_on)
    if unit is None:
        return _(
            "Kính gửi các đơn vị chưa báo cáo kết quả %(drive)s: đề nghị báo cáo trước ngày "
            "%(deadline)s tại %(link)s",
            drive=drive.name,
            deadline=deadline,
            link=link,
        )
    return _(
        "Kính gửi %(unit)s: đề nghị báo cáo kết quả %(drive)s trước ngày %(deadline)s tại %(link)s",
        unit=unit.name,
        drive=drive.name,
        deadline=deadline,
        link=link,
    )


@atomic
def send_reminders(
    drive: Drive,
    *,
    within: Select[tuple[int]],
    today: date,
    link: ReportLink,
    mail: MailSettings | None,
    user: User | None = None,
    dry_run: bool = False,
) -> Reminders:
    """E-mails each unit ``within`` that owes the drive's report (the command line's and
    the page's one way to remind). Each reminder sent is kept, once a Vietnam day per unit
    and drive, and in the audit trail. A dry run sends and keeps nothing: it says what a
    run would send. Without a mail server it refuses and sends nothing."""
    if dry_run:
        return Reminders(sent=due(drive, within, today, link))
    if mail is None:
        raise ServiceError(no_mail_server())
    planned = due(drive, within, today, link)
    done = Reminders()
    if not planned:
        return done
    try:
        with connection(mail) as smtp:
            for reminder in planned:
                refusal = _send_one(smtp, mail, drive, reminder, today, user)
                if refusal is None:
                    done.sent.append(reminder)
                else:
                    done.refused.append((reminder, refusal))
    except (OSError, smtplib.SMTPException) as error:
        if not done.sent:
            failure = _(
                "Không gửi được thư qua máy chủ %(server)s: %(error)s",
                server=mail.server,
                error=str(error),
            )
            raise ServiceError(failure) from error
        done.refused.append((planned[len(done.sent) + len(done.refused)], str(error)))
    return done


def _send_one(
    smtp: smtplib.SMTP,
    mail: MailSettings,
    drive: Drive,
    reminder: Reminder,
    today: date,
    user: User | None,
) -> str | None:
    """Keeps the reminder, then hands it to the server; the server's refusal of this one
    address (a mistyped e-mail) undoes the keeping and is answered, the others go on."""
    try:
        with db.session.begin_nested():
            row = ReminderSent(
                drive_id=drive.id,
                unit_id=reminder.unit.id,
                sent_on=today,
                email=reminder.email,
                user_id=user.id if user is not None else None,
            )
            db.session.add(row)
            db.session.flush()
            smtp.send_message(message(mail, reminder.email, reminder.subject, reminder.body))
    except IntegrityError:
        return _("đã được nhắc hôm nay")  # another run reminded it a moment ago
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
        return str(error)
    # On the drive, so that its history lists who was reminded when.
    audit.record(
        "reminder.send",
        drive,
        user=user,
        after={"unit_id": reminder.unit.id, "unit": reminder.unit.name, "email": reminder.email},
    )
    return None
