"""Account request bodies pointing at the test Dovecot, for the EmailEngine-dialect tests."""

from __future__ import annotations

from typing import Any

from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUser


def imap_body(dovecot: DovecotServer, user: MailUser, *, secure: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "host": "localhost",
        "port": dovecot.ports.imaps if secure else dovecot.ports.imap,
        "secure": secure,
        "auth": {"user": user.username, "pass": user.password},
        **extra,
    }


def smtp_body(dovecot: DovecotServer, user: MailUser, **extra: Any) -> dict[str, Any]:
    return {
        "host": "localhost",
        "port": dovecot.ports.submission,
        "secure": False,
        "auth": {"user": user.username, "pass": user.password},
        **extra,
    }


def account_body(dovecot: DovecotServer, user: MailUser, account: str | None = "user123",
                 **extra: Any) -> dict[str, Any]:
    return {
        "account": account,
        "name": "John Doe",
        "email": user.email,
        "imap": imap_body(dovecot, user),
        "smtp": smtp_body(dovecot, user),
        **extra,
    }
