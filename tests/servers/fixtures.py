"""Pytest fixtures starting real mail servers once per session, plus per-test users and DNS cleanup.

Session fixtures: ``test_ca``, ``smtp_sink``, ``dovecot`` (submission relays to the sink), ``postfix``
(hosted domain delivered to ``dovecot`` over LMTP, other mail relayed to the sink) and ``dns_server``.
Function fixtures: ``mail_user`` (factory for fresh Dovecot users) and ``dns_records`` (the DNS server,
emptied after the test). Every server stops in a ``finally`` so a failing test or fixture cannot leave
processes behind.
"""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Protocol

import pytest

from tests.support.dirs import server_dir

from .dnsmasq import DnsServer
from .dovecot import DovecotServer
from .postfix import PostfixServer
from .smtp_sink import SmtpSink
from .tls import ThrowawayCA, make_throwaway_ca

HOSTED_DOMAIN = "example.test"


@dataclass(frozen=True)
class MailUser:
    """A Dovecot account; ``username`` is the full address, which is also the login."""

    username: str
    password: str

    @property
    def email(self) -> str:
        return self.username


class MailUserFactory(Protocol):
    def __call__(
        self, *, quota_bytes: int | None = None, domain: str = HOSTED_DOMAIN, password: str | None = None
    ) -> MailUser: ...


def _interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def mail_servers_dir() -> Iterator[Path]:
    """One scratch directory for all servers of the session, removed at the end.

    Not pytest's tmp_path_factory: its /tmp/pytest-of-root is 0700, and the mail and postfix users
    must be able to traverse every directory down to the maildirs and the user database.

    While servers exist, SIGTERM (what ``timeout`` and CI runners send) becomes a KeyboardInterrupt,
    which pytest answers by running fixture finalizers; by default SIGTERM would end Python at once
    and leave every daemon running in its own session.
    """
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        with server_dir("mailyard-servers-") as root:
            yield root
    finally:
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def test_ca(mail_servers_dir: Path) -> ThrowawayCA:
    """The session's throwaway CA and the loopback server certificate every server presents."""
    return make_throwaway_ca(mail_servers_dir / "tls")


@pytest.fixture(scope="session")
def smtp_sink(test_ca: ThrowawayCA) -> Iterator[SmtpSink]:
    """The recording SMTP server standing in for the outside world.

    STARTTLS is on; AUTH is offered but nobody can log in until a test adds to ``smtp_sink.users``
    (Dovecot and Postfix relay without AUTH). Shared by every test: filter with
    ``wait_for_messages(recipient=...)`` instead of clearing it.
    """
    sink = SmtpSink(tls=test_ca, users={})
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def dovecot(mail_servers_dir: Path, test_ca: ThrowawayCA, smtp_sink: SmtpSink) -> Iterator[DovecotServer]:
    """A running Dovecot whose submission service relays to ``smtp_sink``."""
    server = DovecotServer(mail_servers_dir / "dovecot", test_ca, relay_host=smtp_sink.host, relay_port=smtp_sink.port)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postfix(
    mail_servers_dir: Path, test_ca: ThrowawayCA, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> Iterator[PostfixServer]:
    """A running Postfix: the hosted domain goes to ``dovecot`` by LMTP, the rest to ``smtp_sink``.

    Unknown local parts of the hosted domain are refused at RCPT, like a real MX.
    """
    server = PostfixServer(
        mail_servers_dir / "postfix",
        lmtp_port=dovecot.ports.lmtp,
        relay_host=smtp_sink.host,
        relay_port=smtp_sink.port,
        virtual_mailbox_domains=(HOSTED_DOMAIN,),
        recipient_database=dovecot.layout.database,
        tls=test_ca,
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dns_server(mail_servers_dir: Path) -> Iterator[DnsServer]:
    """A running dnsmasq; prefer ``dns_records`` in tests so records never leak between them."""
    server = DnsServer(mail_servers_dir / "dnsmasq")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def dns_records(dns_server: DnsServer) -> Iterator[DnsServer]:
    """The session DNS server, with every record removed again after the test."""
    dns_server.clear()
    try:
        yield dns_server
    finally:
        dns_server.clear()


# What a plain IMAP4rev1 server with IDLE offers: no CONDSTORE, QRESYNC, NOTIFY, ESEARCH or LIST-STATUS.
BASIC_IMAP_CAPABILITY = "IMAP4rev1 SASL-IR LITERAL+ IDLE ENABLE UIDPLUS NAMESPACE CHILDREN UNSELECT MOVE"


@pytest.fixture(scope="session")
def basic_dovecot(mail_servers_dir: Path, test_ca: ThrowawayCA, smtp_sink: SmtpSink) -> Iterator[DovecotServer]:
    """A second Dovecot that announces only basic IMAP extensions, for the clients' fallback paths."""
    server = DovecotServer(
        mail_servers_dir / "dovecot-basic", test_ca, relay_host=smtp_sink.host, relay_port=smtp_sink.port,
        imap_capability=BASIC_IMAP_CAPABILITY,
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_user(dovecot: DovecotServer, request: pytest.FixtureRequest) -> Iterator[MailUserFactory]:
    """A factory creating Dovecot users no other test shares; they are removed after the test.

    The local part carries the test's name, which makes the server logs easy to follow.
    """
    yield from _user_factory(dovecot, request)


@pytest.fixture
def basic_mail_user(basic_dovecot: DovecotServer, request: pytest.FixtureRequest) -> Iterator[MailUserFactory]:
    """Like `mail_user`, on `basic_dovecot`."""
    yield from _user_factory(basic_dovecot, request)


def _user_factory(dovecot: DovecotServer, request: pytest.FixtureRequest) -> Iterator[MailUserFactory]:
    created: list[str] = []
    label = "".join(c for c in request.node.name.removeprefix("test_").lower() if c.isalnum())[:20] or "user"

    def create(*, quota_bytes: int | None = None, domain: str = HOSTED_DOMAIN, password: str | None = None) -> MailUser:
        username = f"{label}-{secrets.token_hex(4)}@{domain}"
        user = MailUser(username, password if password is not None else secrets.token_urlsafe(12))
        dovecot.add_user(user.username, user.password, quota_bytes=quota_bytes)
        created.append(user.username)
        return user

    try:
        yield create
    finally:
        for username in created:
            dovecot.remove_user(username)
