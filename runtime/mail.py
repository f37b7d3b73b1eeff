"""Mail: messages events queue during a run, sent after the run's transaction commits."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from runtime.project import MailSettings


class MailError(Exception):
    """A message that could not be handed to the mail server."""


@dataclass
class Mail:
    """One message."""

    to: list[str]
    subject: str
    text: str = ""
    html: str = ""
    cc: list[str] = field(default_factory=list)
    sender: str = ""

    def message(self, default_sender: str) -> EmailMessage:
        """The message as an email.message.EmailMessage (text, and HTML when given)."""
        msg = EmailMessage()
        msg["From"] = self.sender or default_sender
        msg["To"] = ", ".join(self.to)
        if self.cc:
            msg["Cc"] = ", ".join(self.cc)
        msg["Subject"] = self.subject
        msg.set_content(self.text or " ")
        if self.html:
            msg.add_alternative(self.html, subtype="html")
        return msg


class SmtpMailer:
    """Sends through the project's SMTP server (headless `serve`)."""

    def __init__(self, settings: MailSettings, timeout: float = 10.0):
        self.settings = settings
        self.timeout = timeout

    def use(self, settings: MailSettings) -> None:
        """Send through the SMTP server of a new project revision."""
        self.settings = settings

    async def send(self, mail: Mail) -> None:
        """Deliver one message; raises MailError with the server's reason."""
        await asyncio.to_thread(self._send, mail)

    def _send(self, mail: Mail) -> None:
        s = self.settings
        try:
            if s.security == "tls":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password)
                client.send_message(mail.message(s.sender))
        except (OSError, smtplib.SMTPException) as e:
            raise MailError(f"{s.host}:{s.port}: {e}") from None
        except ValueError as e:  # a header the mail library refuses (e.g. a line break)
            raise MailError(f"the message is not valid: {e}") from None


class Outbox:
    """Keeps messages instead of sending them (live testing in the editor)."""

    def __init__(self):
        self.mails: list[Mail] = []
        self.listeners: list[Callable[[Mail], None]] = []

    def use(self, settings: MailSettings) -> None:
        """A new revision's SMTP settings change nothing: the Outbox keeps every mail."""

    async def send(self, mail: Mail) -> None:
        """Keep the message and tell the listeners (the Outbox dock)."""
        self.mails.append(mail)
        for listener in self.listeners:
            listener(mail)
