"""`POST /v1/verifyAccount`: real logins, stable failure codes, nothing stored."""

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.servers.dnsmasq import DnsServer
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUserFactory
from tests.support.accounts import imap_body, smtp_body
from tests.support.app import Api, ApiFactory


async def test_good_settings_succeed_and_store_nothing(api: Api, dovecot: DovecotServer,
                                                       mail_user: MailUserFactory) -> None:
    user = mail_user()
    response = await api.post("/v1/verifyAccount", {"imap": imap_body(dovecot, user), "smtp": smtp_body(dovecot, user)})
    assert response.json() == {"imap": {"success": True}, "smtp": {"success": True}}
    assert (await api.get("/v1/accounts")).json()["total"] == 0


async def test_wrong_password_is_authenticationfailed_on_both_sides(api: Api, dovecot: DovecotServer,
                                                                    mail_user: MailUserFactory) -> None:
    user = mail_user()
    imap = imap_body(dovecot, user, auth={"user": user.username, "pass": "wrong-one"})
    smtp = smtp_body(dovecot, user, auth={"user": user.username, "pass": "wrong-one"})
    body = (await api.post("/v1/verifyAccount", {"imap": imap, "smtp": smtp})).json()
    assert body["imap"]["success"] is False and body["imap"]["code"] == "AUTHENTICATIONFAILED"
    assert body["smtp"]["success"] is False and body["smtp"]["code"] == "AUTHENTICATIONFAILED"
    assert "wrong-one" not in str(body)


async def test_mailboxes_lists_the_folders(api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    body = (await api.post("/v1/verifyAccount", {"imap": imap_body(dovecot, user), "mailboxes": True})).json()
    assert body["imap"] == {"success": True}
    inbox = next(m for m in body["mailboxes"] if m["path"] == "INBOX")
    assert inbox["specialUse"] == "\\Inbox" and inbox["name"] == "INBOX"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


async def test_failure_codes(api_factory: ApiFactory, dovecot: DovecotServer, dns_records: DnsServer,
                             silent_port: int) -> None:
    api = await api_factory(connect_timeout=0.5)
    auth = {"user": "u@example.test", "pass": "p"}

    async def code(imap: dict[str, Any]) -> str:
        return (await api.post("/v1/verifyAccount", {"imap": {**imap, "auth": auth}})).json()["imap"]["code"]

    assert await code({"host": "127.0.0.1", "port": _closed_port(), "secure": False}) == "ECONNREFUSED"
    assert await code({"host": "127.0.0.1", "port": silent_port, "secure": False}) == "ETIMEDOUT"
    assert await code({"host": "no-such-host.example.test", "port": 993, "secure": True}) == "ENOTFOUND"
    assert await code({"host": "localhost", "port": dovecot.ports.imap, "secure": True}) == "ETLS"
    dns_records.set_a("imap.example.test", "127.0.0.1")
    # resolves, but the certificate names only localhost
    assert await code({"host": "imap.example.test", "port": dovecot.ports.imaps, "secure": True}) == "ETLS"
