"""Short notices Mailyard itself sends (a password-recovery code), handed to the local mail relay."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib


async def send_notice(relay: str, sender: str, recipient: str, subject: str, text: str) -> None:
    """Send a plain-text message through `relay` ("host:port"); raises aiosmtplib errors on refusal."""
    host, _, port = relay.rpartition(":")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # no autoresponder should answer it
    message.set_content(text)
    await aiosmtplib.send(message, hostname=host or "127.0.0.1", port=int(port or 25), start_tls=False,
                          timeout=30)
