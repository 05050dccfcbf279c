"""Sending e-mail through the SMTP server the settings name, with the standard library."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import Any

#: Seconds to wait on the mail server before giving up.
TIMEOUT = 30


@dataclass(frozen=True)
class MailSettings:
    server: str
    port: int
    username: str
    password: str
    #: STARTTLS after connecting (port 587); port 465 speaks TLS from the start.
    use_tls: bool
    sender: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings | None:
        """The settings, or ``None`` when no mail server is set: nothing can be sent."""
        server = (config.get("MAIL_SERVER") or "").strip()
        if not server:
            return None
        return cls(
            server=server,
            port=int(config.get("MAIL_PORT") or 25),
            username=config.get("MAIL_USERNAME") or "",
            password=config.get("MAIL_PASSWORD") or "",
            use_tls=bool(config.get("MAIL_USE_TLS")),
            sender=(config.get("MAIL_DEFAULT_SENDER") or "").strip() or f"noreply@{server}",
        )


def message(settings: MailSettings, to: str, subject: str, body: str) -> MIMEText:
    """A plain-text message in UTF-8. The older ``email.mime`` API on purpose: the newer
    EmailMessage folds a long Vietnamese subject between two encoded words, and readers
    then drop the space there ("hiếnmáu")."""
    mail = MIMEText(body, "plain", "utf-8")
    mail["From"] = settings.sender
    mail["To"] = to
    mail["Subject"] = Header(subject, "utf-8")  # type: ignore[assignment]  # typeshed: str only
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    return mail


@contextmanager
def connection(settings: MailSettings) -> Iterator[smtplib.SMTP]:
    """One connection to the server for a batch of messages, signed in when a user is set.

    Raises :class:`OSError` or :class:`smtplib.SMTPException` when the server cannot be
    reached or refuses the sign-in."""
    smtp: smtplib.SMTP
    if settings.port == 465:
        context = ssl.create_default_context()
        smtp = smtplib.SMTP_SSL(settings.server, settings.port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(settings.server, settings.port, timeout=TIMEOUT)
    try:
        if settings.use_tls and settings.port != 465:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password)
        yield smtp
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
