"""Small synchronous IMAP helpers for tests that need to look into a test user's mailbox."""

from __future__ import annotations

import imaplib
import time

from .dovecot import DovecotServer


def imap_login(server: DovecotServer, username: str, password: str) -> imaplib.IMAP4:
    """A logged-in IMAP connection on the plain port; the caller logs out."""
    client = imaplib.IMAP4(server.host, server.ports.imap, timeout=10)
    client.login(username, password)
    return client


def fetch_messages(server: DovecotServer, username: str, password: str, mailbox: str = "INBOX") -> list[bytes]:
    """Every message of ``mailbox`` as raw RFC 5322 bytes, oldest first."""
    client = imap_login(server, username, password)
    try:
        status, _ = client.select(f'"{mailbox}"', readonly=True)
        if status != "OK":
            return []
        _, data = client.search(None, "ALL")
        messages: list[bytes] = []
        for number in data[0].split():
            _, parts = client.fetch(number, "(BODY.PEEK[])")
            messages.extend(part[1] for part in parts if isinstance(part, tuple))
        return messages
    finally:
        client.logout()


def wait_for_messages(
    server: DovecotServer,
    username: str,
    password: str,
    count: int = 1,
    mailbox: str = "INBOX",
    timeout: float = 10.0,
) -> list[bytes]:
    """Poll until ``mailbox`` holds at least ``count`` messages, for asynchronous deliveries."""
    deadline = time.monotonic() + timeout
    while True:
        messages = fetch_messages(server, username, password, mailbox)
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.05)
