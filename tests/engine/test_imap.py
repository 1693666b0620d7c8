"""The IMAP adapter against the real Dovecot: TLS variants, every login mechanism, clean failure codes."""

import asyncio
import socket

import pytest

from mailyard.engine.failures import Failure, FailureCode
from mailyard.engine.imap import Credentials, ImapConnection, ImapEndpoint
from mailyard.engine.net import NetOptions
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUserFactory
from tests.servers.tls import ThrowawayCA


@pytest.fixture
def trusting(test_ca: ThrowawayCA) -> NetOptions:
    return NetOptions(connect_timeout=3, ca_file=str(test_ca.ca_cert_path))


async def _login(endpoint: ImapEndpoint, creds: Credentials, options: NetOptions) -> ImapConnection:
    conn = await ImapConnection.open(endpoint, options)
    await conn.authenticate(creds)
    return conn


async def test_implicit_tls_login_verifies_the_certificate(dovecot: DovecotServer, mail_user: MailUserFactory,
                                                           trusting: NetOptions) -> None:
    user = mail_user()
    conn = await _login(ImapEndpoint("localhost", dovecot.ports.imaps, secure=True),
                        Credentials(user.username, user.password), trusting)
    assert conn.secure_channel
    folders = await conn.list_folders()
    assert "INBOX" in [f.path for f in folders]
    await conn.logout()


async def test_starttls_is_used_when_offered(dovecot: DovecotServer, mail_user: MailUserFactory,
                                             trusting: NetOptions) -> None:
    user = mail_user()
    conn = await _login(ImapEndpoint("localhost", dovecot.ports.imap), Credentials(user.username, user.password),
                        trusting)
    assert conn.secure_channel
    await conn.logout()


async def test_plain_connection_uses_cram_md5(dovecot: DovecotServer, mail_user: MailUserFactory,
                                              trusting: NetOptions) -> None:
    user = mail_user()
    conn = await ImapConnection.open(ImapEndpoint("127.0.0.1", dovecot.ports.imap, starttls=False), trusting)
    assert not conn.secure_channel and conn.has("AUTH=CRAM-MD5")
    await conn.authenticate(Credentials(user.username, user.password))
    await conn.noop()
    await conn.logout()


async def test_xoauth2_login_with_an_access_token(dovecot: DovecotServer, mail_user: MailUserFactory,
                                                  trusting: NetOptions) -> None:
    user = mail_user(password="token-abc-123")
    conn = await _login(ImapEndpoint("localhost", dovecot.ports.imaps, secure=True),
                        Credentials(user.username, access_token="token-abc-123"), trusting)
    await conn.logout()


async def test_wrong_password_is_an_authentication_failure(dovecot: DovecotServer, mail_user: MailUserFactory,
                                                           trusting: NetOptions) -> None:
    user = mail_user()
    with pytest.raises(Failure) as caught:
        await _login(ImapEndpoint("localhost", dovecot.ports.imaps, secure=True),
                     Credentials(user.username, "wrong"), trusting)
    assert caught.value.code == FailureCode.AUTHENTICATION_FAILED
    assert "wrong" not in caught.value.response


async def test_wrong_xoauth2_token_is_an_authentication_failure(dovecot: DovecotServer, mail_user: MailUserFactory,
                                                                trusting: NetOptions) -> None:
    user = mail_user()
    with pytest.raises(Failure) as caught:
        await _login(ImapEndpoint("localhost", dovecot.ports.imaps, secure=True),
                     Credentials(user.username, access_token="not-the-token"), trusting)
    assert caught.value.code == FailureCode.AUTHENTICATION_FAILED


async def test_untrusted_certificate_is_refused(dovecot: DovecotServer) -> None:
    with pytest.raises(Failure) as caught:
        await ImapConnection.open(ImapEndpoint("localhost", dovecot.ports.imaps, secure=True),
                                  NetOptions(connect_timeout=3))
    assert caught.value.code == FailureCode.TLS


async def test_untrusted_certificate_is_accepted_when_opted_out(dovecot: DovecotServer) -> None:
    conn = await ImapConnection.open(
        ImapEndpoint("localhost", dovecot.ports.imaps, secure=True, reject_unauthorized=False),
        NetOptions(connect_timeout=3))
    await conn.logout()


async def test_closed_port_is_connection_refused(trusting: NetOptions) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Failure) as caught:
        await ImapConnection.open(ImapEndpoint("127.0.0.1", port), trusting)
    assert caught.value.code == FailureCode.CONNECTION_REFUSED


async def test_silent_server_is_a_timeout() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(Failure) as caught:
            await ImapConnection.open(ImapEndpoint("127.0.0.1", port), NetOptions(connect_timeout=0.5))
        assert caught.value.code == FailureCode.TIMED_OUT
    finally:
        server.close()


async def test_implicit_tls_against_a_plain_port_is_a_tls_failure(dovecot: DovecotServer,
                                                                  trusting: NetOptions) -> None:
    with pytest.raises(Failure) as caught:
        await ImapConnection.open(ImapEndpoint("localhost", dovecot.ports.imap, secure=True), trusting)
    assert caught.value.code == FailureCode.TLS
