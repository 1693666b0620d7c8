"""The milter: its protocol spoken by a raw client (negotiation, state resets, limits, malformed packets), and
a real Postfix passing mail through it to the SMTP sink, signed, rejected or tempfailed."""

from __future__ import annotations

import asyncio
import logging
import secrets
import smtplib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace

import dkim
import dns.resolver
import pytest

from mailyard.hosting.dkim_signing import OutgoingMail
from mailyard.mailserver.milter import MilterMessage, MilterServer, MilterVerdict
from tests.servers.dnsmasq import DnsServer
from tests.servers.ports import free_port
from tests.servers.postfix import PostfixServer
from tests.servers.smtp_sink import SmtpSink
from tests.support.app import Api
from tests.support.dirs import server_dir
from tests.support.hosting import active_domain, create_mailbox, headers

ALL_ACTIONS = 0x1FF
ALL_STEPS = 0x1FFFFF  # what Postfix 3.7 offers: every skip and no-reply flag, SKIP and HDR_LEADSPC


class Recorder:
    """A switchable handler that remembers every message it was given."""

    def __init__(self) -> None:
        self.decide: Callable[[MilterMessage], Awaitable[MilterVerdict]] = self._accept
        self.seen: list[MilterMessage] = []

    @staticmethod
    async def _accept(message: MilterMessage) -> MilterVerdict:
        return MilterVerdict.accept()

    async def __call__(self, message: MilterMessage) -> MilterVerdict:
        self.seen.append(message)
        return await self.decide(message)


def _strings(*items: str) -> bytes:
    return b"".join(item.encode() + b"\0" for item in items)


class RawClient:
    """The MTA side of the protocol, just enough to drive the server packet by packet."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, server: MilterServer) -> RawClient:
        return cls(*await asyncio.open_connection("127.0.0.1", server.port))

    async def send(self, command: bytes, data: bytes = b"") -> None:
        self.writer.write(struct.pack("!I", len(command) + len(data)) + command + data)
        await self.writer.drain()

    async def read(self) -> tuple[bytes, bytes]:
        async with asyncio.timeout(5):
            (length,) = struct.unpack("!I", await self.reader.readexactly(4))
            payload = await self.reader.readexactly(length)
        return payload[:1], payload[1:]

    async def negotiate(self, protocol: int = ALL_STEPS) -> tuple[int, int, int]:
        await self.send(b"O", struct.pack("!III", 6, ALL_ACTIONS, protocol))
        command, data = await self.read()
        assert command == b"O"
        return struct.unpack("!III", data)

    async def macros(self, code: bytes, **values: str) -> None:
        await self.send(b"D", code + _strings(*(item for pair in values.items() for item in pair)))

    async def closed(self) -> bool:
        async with asyncio.timeout(5):
            return await self.reader.read(1) == b""

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def milter() -> AsyncIterator[tuple[MilterServer, Recorder]]:
    recorder = Recorder()
    server = MilterServer("127.0.0.1", 0, recorder, max_body_bytes=1000, max_header_bytes=2000, handler_timeout=0.5)
    await server.start()
    try:
        yield server, recorder
    finally:
        await server.stop()


async def _envelope(client: RawClient) -> None:
    """CONNECT, MAIL and RCPT with the macros Postfix sends, under Postfix's no-reply flags."""
    await client.macros(b"C", j="mx.mailyard.test", **{"{daemon_name}": "submission"})
    await client.send(b"C", _strings("client.example") + b"4" + struct.pack("!H", 40000) + _strings("192.0.2.7"))
    await client.macros(b"M", i="4QX1", **{"{auth_authen}": "ann@customer.test", "{mail_addr}": "ann@customer.test"})
    await client.send(b"M", _strings("<ann@customer.test>", "SIZE=120"))
    await client.send(b"R", _strings("<bob@elsewhere.test>"))
    await client.send(b"R", _strings("<carol@elsewhere.test>"))


async def test_negotiation_asks_for_header_inserts_and_fewer_round_trips(milter: tuple[MilterServer, Recorder]) -> None:
    client = await RawClient.open(milter[0])
    version, actions, protocol = await client.negotiate()
    assert (version, actions) == (6, 0x01)
    assert protocol == 0x02 | 0x80 | 0x100 | 0x200 | 0x400 | 0x1000 | 0x4000 | 0x8000 | 0x40000
    # Only what was offered is taken.
    client2 = await RawClient.open(milter[0])
    assert (await client2.negotiate(protocol=0x400))[2] == 0x400
    client.close()
    client2.close()


async def test_a_message_reaches_the_handler_and_its_headers_are_inserted(
    milter: tuple[MilterServer, Recorder]
) -> None:
    server, recorder = milter
    recorder.decide = lambda message: asyncio.sleep(0, MilterVerdict.accept(
        [("DKIM-Signature", "v=1; a=rsa-sha256;\r\n b=abc"), ("X-Checked", "yes")]))
    client = await RawClient.open(server)
    await client.negotiate()
    await _envelope(client)
    await client.send(b"L", _strings("From", "Ann <ann@customer.test>"))
    await client.send(b"L", _strings("To", "bob@elsewhere.test,\n carol@elsewhere.test"))
    await client.send(b"N")
    await client.send(b"B", b"Hello\r\n")
    assert await client.read() == (b"c", b"")
    await client.send(b"B", b"there\r\n")
    assert await client.read() == (b"c", b"")
    await client.macros(b"E", i="4QX1")
    await client.send(b"E")
    # Index 0 is the top; the folding goes out as LF, as the protocol wants.
    signature = _strings("DKIM-Signature", "v=1; a=rsa-sha256;\n b=abc")
    assert await client.read() == (b"i", struct.pack("!I", 0) + signature)
    assert await client.read() == (b"i", struct.pack("!I", 1) + _strings("X-Checked", "yes"))
    assert await client.read() == (b"a", b"")
    [message] = recorder.seen
    assert message.auth_login == "ann@customer.test"
    assert message.envelope_from == "ann@customer.test"
    assert message.recipients == ["bob@elsewhere.test", "carol@elsewhere.test"]
    assert message.headers == [("From", "Ann <ann@customer.test>"),
                               ("To", "bob@elsewhere.test,\n carol@elsewhere.test")]
    assert message.body == b"Hello\r\nthere\r\n"
    assert message.queue_id == "4QX1"
    assert message.macros["{mail_addr}"] == "ann@customer.test"
    assert message.macros["{daemon_name}"] == "submission"
    assert message.as_bytes() == (b"From: Ann <ann@customer.test>\r\nTo: bob@elsewhere.test,\r\n carol@elsewhere.test"
                                  b"\r\n\r\nHello\r\nthere\r\n")
    client.close()


async def test_without_no_reply_flags_every_step_is_answered(milter: tuple[MilterServer, Recorder]) -> None:
    client = await RawClient.open(milter[0])
    await client.negotiate(protocol=0)
    for command, data in [(b"C", _strings("client") + b"U"), (b"H", _strings("client.example")),
                          (b"M", _strings("<>")), (b"R", _strings("<bob@elsewhere.test>")), (b"T", b""),
                          (b"L", _strings("Subject", "hi")), (b"N", b""), (b"B", b"x\r\n")]:
        await client.send(command, data)
        assert await client.read() == (b"c", b"")
    await client.send(b"E")
    assert await client.read() == (b"a", b"")
    assert milter[1].seen[0].envelope_from == ""  # the null sender
    assert milter[1].seen[0].auth_login is None
    client.close()


async def test_abort_and_quit_nc_reset_state(milter: tuple[MilterServer, Recorder]) -> None:
    server, recorder = milter
    client = await RawClient.open(server)
    await client.negotiate()
    await _envelope(client)
    await client.send(b"L", _strings("Subject", "abandoned"))
    await client.send(b"A")
    # The next message of the same connection: connection macros stay, message ones are gone.
    await client.macros(b"M", **{"{mail_addr}": "dan@customer.test"})
    await client.send(b"M", _strings("<dan@customer.test>"))
    await client.send(b"R", _strings("<eve@elsewhere.test>"))
    await client.send(b"E")
    assert await client.read() == (b"a", b"")
    second = recorder.seen[-1]
    assert (second.envelope_from, second.recipients) == ("dan@customer.test", ["eve@elsewhere.test"])
    assert second.headers == []
    assert second.auth_login is None
    assert second.macros["j"] == "mx.mailyard.test"
    # QUIT_NC: a new SMTP connection on the same socket forgets the old connection's macros.
    await client.send(b"K")
    await client.send(b"M", _strings("<fay@customer.test>"))
    await client.send(b"E")
    assert await client.read() == (b"a", b"")
    assert "j" not in recorder.seen[-1].macros
    await client.send(b"Q")
    assert await client.closed()


async def test_an_oversized_body_is_skipped_and_reaches_the_handler_truncated(
    milter: tuple[MilterServer, Recorder]
) -> None:
    client = await RawClient.open(milter[0])
    await client.negotiate()
    await _envelope(client)
    await client.send(b"B", b"a" * 900)
    assert await client.read() == (b"c", b"")
    await client.send(b"B", b"b" * 200)
    assert await client.read() == (b"s", b"")  # over the 1000-byte limit: Postfix may skip the rest
    await client.send(b"E")
    assert await client.read() == (b"a", b"")
    [message] = milter[1].seen
    assert message.body_truncated and message.body == b""
    client.close()


async def test_oversized_headers_are_refused_without_asking_the_handler(milter: tuple[MilterServer, Recorder]) -> None:
    client = await RawClient.open(milter[0])
    await client.negotiate()
    await _envelope(client)
    for number in range(30):
        await client.send(b"L", _strings(f"X-Filler-{number}", "x" * 80))
    await client.send(b"E")
    assert await client.read() == (b"y", b"552 5.3.4 Message header is too large\0")
    assert milter[1].seen == []
    client.close()


@pytest.mark.parametrize("packet", [
    struct.pack("!I", 0),                                   # empty packet
    struct.pack("!I", 64 * 1024 * 1024) + b"B",             # absurd length
    struct.pack("!I", 2) + b"Zx",                           # unknown command
    struct.pack("!I", 1 + 9) + b"L" + b"Subject\0hi",       # header value without its NUL
    struct.pack("!I", 1 + 4) + b"D" + b"Mi\0x",             # macro value without its NUL
])
async def test_a_malformed_packet_closes_the_connection(milter: tuple[MilterServer, Recorder], packet: bytes) -> None:
    client = await RawClient.open(milter[0])
    await client.negotiate()
    client.writer.write(packet)
    await client.writer.drain()
    assert await client.closed()


async def test_commands_before_negotiation_close_the_connection(milter: tuple[MilterServer, Recorder]) -> None:
    client = await RawClient.open(milter[0])
    await client.send(b"M", _strings("<ann@customer.test>"))
    assert await client.closed()


async def test_handler_failures_tempfail_and_log_only_the_exception_type(
    milter: tuple[MilterServer, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    async def explode(message: MilterMessage) -> MilterVerdict:
        raise RuntimeError("secret key material and ann@customer.test")

    async def hang(message: MilterMessage) -> MilterVerdict:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    server, recorder = milter
    client = await RawClient.open(server)
    await client.negotiate()
    for decide in (explode, hang):
        recorder.decide = decide
        await _envelope(client)
        with caplog.at_level(logging.ERROR, logger="mailyard.mailserver.milter"):
            await client.send(b"E")
            assert await client.read() == (b"y", b"451 4.3.0 Message could not be checked, try again later\0")
    assert "RuntimeError" in caplog.text and "TimeoutError" in caplog.text
    assert "secret" not in caplog.text and "ann@" not in caplog.text
    client.close()


async def test_reject_replies_are_single_line_ascii_with_percent_doubled(milter: tuple[MilterServer, Recorder]) -> None:
    server, recorder = milter
    recorder.decide = lambda message: asyncio.sleep(0, MilterVerdict.reject("100% sure\r\n250 ok é"))
    client = await RawClient.open(server)
    await client.negotiate()
    await client.send(b"E")
    assert await client.read() == (b"y", b"550 5.7.1 100%% sure??250 ok ?\0")
    client.close()


def test_verdicts_refuse_header_injection_and_mismatched_codes() -> None:
    with pytest.raises(ValueError, match="fold"):
        MilterVerdict.accept([("X-Test", "a\r\nBcc: victim@elsewhere.test")])
    with pytest.raises(ValueError, match="header name"):
        MilterVerdict.accept([("X Test", "a")])
    with pytest.raises(ValueError, match="5xx"):
        MilterVerdict.reject("no", code=450)
    with pytest.raises(ValueError, match="enhanced"):
        MilterVerdict.tempfail("later", enhanced="5.7.1")
    assert MilterVerdict.accept([("X-Test", "a\r\n\tb")]).headers == (("X-Test", "a\r\n\tb"),)


async def test_stop_closes_open_connections() -> None:
    server = MilterServer("127.0.0.1", 0, Recorder())
    await server.start()
    client = await RawClient.open(server)
    await client.negotiate()
    await server.stop()
    assert await client.closed()


# -- through a real Postfix ------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def relay_milter() -> AsyncIterator[tuple[MilterServer, Recorder]]:
    recorder = Recorder()
    server = MilterServer("127.0.0.1", 0, recorder)
    await server.start()
    try:
        yield server, recorder
    finally:
        await server.stop()


@pytest.fixture(scope="module")
def milter_postfix(relay_milter: tuple[MilterServer, Recorder], smtp_sink: SmtpSink) -> Iterator[PostfixServer]:
    """A Postfix whose smtpd passes every message through the milter and relays it to the sink."""
    with server_dir("my-milter-") as root:
        server = PostfixServer(root / "postfix", lmtp_port=free_port(), relay_host="127.0.0.1",
                               relay_port=smtp_sink.port, settings={
                                   "smtpd_milters": f"inet:127.0.0.1:{relay_milter[0].port}",
                                   "milter_default_action": "tempfail", "milter_protocol": "6"})
        with server:
            yield server


def _outgoing(sender: str, recipient: str, subject: str) -> bytes:
    return (f"From: Sender <{sender}>\r\nTo: {recipient},\r\n  other-{recipient}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 02 Jun 2025 10:00:00 +0000\r\nMessage-ID: <{secrets.token_hex(8)}@customer.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello through Postfix.\r\n").encode()


async def _send(postfix: PostfixServer, sender: str, recipient: str, message: bytes) -> None:
    def send() -> None:
        with smtplib.SMTP(postfix.host, postfix.port, timeout=20) as smtp:
            smtp.sendmail(sender, [recipient], message)

    # smtplib blocks, and Postfix waits for the milter served by this event loop.
    await asyncio.to_thread(send)


def _dnsmasq_txt(dns_server: DnsServer, strings_seen: list[int]) -> Callable[..., bytes]:
    def lookup(name: bytes, timeout: float = 5) -> bytes:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns_server.host]
        resolver.port = dns_server.port
        [record] = resolver.resolve(name.decode(), "TXT", lifetime=timeout)
        strings_seen.append(len(record.strings))
        return b"".join(record.strings)

    return lookup


async def test_mail_from_an_active_domain_arrives_signed_and_verifies(
    milter_postfix: PostfixServer, relay_milter: tuple[MilterServer, Recorder], smtp_sink: SmtpSink, api: Api,
    dns_records: DnsServer,
) -> None:
    await active_domain(api, dns_records)
    account, _ = await create_mailbox(api, "sender", restrict_from_field=True)
    outgoing = OutgoingMail(api.runtime.db, api.runtime.box)
    # This Postfix does not authenticate; the login a submission would carry is filled in.
    relay_milter[1].decide = lambda message: outgoing.handle(replace(message, auth_login=account["address"]))
    recipient = f"signed-{secrets.token_hex(4)}@elsewhere.test"
    await _send(milter_postfix, account["address"], recipient, _outgoing(account["address"], recipient, "signed"))
    [received] = await asyncio.to_thread(smtp_sink.wait_for_messages, 1, 10.0, recipient)
    assert received.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=customer.test;")
    seen = relay_milter[1].seen[-1]
    assert seen.queue_id and seen.macros.get("{mail_addr}") == account["address"]
    info = (await api.client.get("/v2/domains/customer.test/info", params={"user_id": "user_123"},
                                 headers=headers(api))).json()
    [record] = [r for r in info["dns_records"] if r["kind"] == "dkim"]

    def published(name: bytes, timeout: float = 5) -> bytes:
        assert name.decode().rstrip(".") == record["name"]
        return record["value"].encode()

    assert dkim.verify(received.data, dnsfunc=published)
    strings_seen: list[int] = []
    assert dkim.verify(received.data, dnsfunc=_dnsmasq_txt(dns_records, strings_seen))
    assert strings_seen == [2]  # the ~410-byte record came back as two character-strings, joined again


async def test_unauthenticated_mail_passes_unsigned(
    milter_postfix: PostfixServer, relay_milter: tuple[MilterServer, Recorder], smtp_sink: SmtpSink, api: Api,
    dns_records: DnsServer,
) -> None:
    await active_domain(api, dns_records)
    relay_milter[1].decide = OutgoingMail(api.runtime.db, api.runtime.box).handle
    recipient = f"inbound-{secrets.token_hex(4)}@elsewhere.test"
    await _send(milter_postfix, "someone@customer.test", recipient,
                _outgoing("someone@customer.test", recipient, "unsigned"))
    [received] = await asyncio.to_thread(smtp_sink.wait_for_messages, 1, 10.0, recipient)
    assert b"DKIM-Signature" not in received.data
    assert relay_milter[1].seen[-1].auth_login is None


_NOT_OWNED = "Sender address <boss@customer.test> is not owned by user <ann@customer.test>"


async def _not_owned(message: MilterMessage) -> MilterVerdict:
    return MilterVerdict.reject(_NOT_OWNED)


async def _store_down(message: MilterMessage) -> MilterVerdict:
    raise OSError("store unreachable")


@pytest.mark.parametrize(("decide", "code", "reply"), [
    (_not_owned, 550, f"5.7.1 {_NOT_OWNED}"),
    (_store_down, 451, "4.3.0 Message could not be checked, try again later"),
])
async def test_a_reject_or_handler_failure_reaches_the_client_and_nothing_the_sink(
    milter_postfix: PostfixServer, relay_milter: tuple[MilterServer, Recorder], smtp_sink: SmtpSink,
    decide: Callable[[MilterMessage], Awaitable[MilterVerdict]], code: int, reply: str,
) -> None:
    relay_milter[1].decide = decide
    recipient = f"refused-{secrets.token_hex(4)}@elsewhere.test"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await _send(milter_postfix, "ann@customer.test", recipient, _outgoing("boss@customer.test", recipient, "x"))
    assert (refused.value.smtp_code, refused.value.smtp_error.decode()) == (code, reply)
    await asyncio.to_thread(milter_postfix.wait_until_queue_empty)
    assert smtp_sink.messages_for(recipient) == []
