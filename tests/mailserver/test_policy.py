"""The Postfix policy protocol server: requests and replies against a plain asyncio client, failure
handling, and a real Postfix whose end-of-data restrictions ask it."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mailyard.mailserver.policy import FAILSAFE_ACTION, MAX_LINE_BYTES, PolicyServer
from tests.servers.ports import LOOPBACK, free_port
from tests.servers.postfix import PostfixServer
from tests.servers.smtp_sink import SmtpSink
from tests.support.dirs import server_dir

REPLY_TIMEOUT = 5.0


def request(**attributes: str) -> bytes:
    lines = [f"{name}={value}\n" for name, value in {"request": "smtpd_access_policy", **attributes}.items()]
    return ("".join(lines) + "\n").encode()


@dataclass
class Recorder:
    """A decide() callback that records its requests and answers `action` (or raises `error`)."""

    action: str = "DUNNO"
    error: Exception | None = None
    requests: list[dict[str, str]] = field(default_factory=list)

    async def __call__(self, attributes: dict[str, str]) -> str:
        self.requests.append(attributes)
        if self.error is not None:
            raise self.error
        return self.action


@pytest.fixture
async def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def server(recorder: Recorder) -> AsyncIterator[PolicyServer]:
    policy = PolicyServer(LOOPBACK, 0, recorder, idle_timeout=5, request_timeout=0.5)
    await policy.start()
    try:
        yield policy
    finally:
        await policy.stop()


async def connect(server: PolicyServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(LOOPBACK, server.port)


async def read_reply(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\n\n"), REPLY_TIMEOUT)


async def assert_closed_without_reply(reader: asyncio.StreamReader) -> None:
    assert await asyncio.wait_for(reader.read(), REPLY_TIMEOUT) == b""


async def test_port_zero_binds_a_free_port_and_stop_releases_it(recorder: Recorder) -> None:
    policy = PolicyServer(LOOPBACK, 0, recorder)
    await policy.start()
    port = policy.port
    assert port > 0
    await policy.stop()
    with pytest.raises(OSError):
        await asyncio.open_connection(LOOPBACK, port)


async def test_several_requests_on_one_connection_get_one_reply_each(server: PolicyServer,
                                                                     recorder: Recorder) -> None:
    reader, writer = await connect(server)
    for number, action in enumerate(["DUNNO", "REJECT 5.7.1 no", "DEFER 4.7.1 later"]):
        recorder.action = action
        writer.write(request(sender=f"s{number}@example.test", protocol_state="END-OF-MESSAGE"))
        assert await read_reply(reader) == f"action={action}\n\n".encode()
    writer.close()
    assert [r["sender"] for r in recorder.requests] == ["s0@example.test", "s1@example.test", "s2@example.test"]
    assert recorder.requests[0] == {"request": "smtpd_access_policy", "sender": "s0@example.test",
                                    "protocol_state": "END-OF-MESSAGE"}


async def test_requests_sent_in_one_packet_are_answered_in_order(server: PolicyServer, recorder: Recorder) -> None:
    reader, writer = await connect(server)
    writer.write(request(sender="first@example.test") + request(sender="second@example.test"))
    assert await read_reply(reader) == b"action=DUNNO\n\n"
    assert await read_reply(reader) == b"action=DUNNO\n\n"
    writer.close()
    assert [r["sender"] for r in recorder.requests] == ["first@example.test", "second@example.test"]


async def test_request_split_across_packets_is_reassembled(server: PolicyServer, recorder: Recorder) -> None:
    data = request(sender="split@example.test", sasl_username="user@example.test")
    reader, writer = await connect(server)
    # Cut inside a name, inside a value, and between the last line and the blank line.
    for start, end in [(0, 5), (5, 30), (30, len(data) - 1), (len(data) - 1, len(data))]:
        writer.write(data[start:end])
        await writer.drain()
        await asyncio.sleep(0.05)
        if end < len(data):
            assert recorder.requests == []
    assert await read_reply(reader) == b"action=DUNNO\n\n"
    writer.close()
    assert recorder.requests[0]["sasl_username"] == "user@example.test"


async def test_crlf_line_ends_and_empty_values_are_accepted(server: PolicyServer, recorder: Recorder) -> None:
    reader, writer = await connect(server)
    writer.write(b"request=smtpd_access_policy\r\nsender=\r\nsize=12\r\n\r\n")
    assert await read_reply(reader) == b"action=DUNNO\n\n"
    writer.close()
    assert recorder.requests == [{"request": "smtpd_access_policy", "sender": "", "size": "12"}]


async def test_oversized_line_closes_the_connection_without_reply(server: PolicyServer, recorder: Recorder) -> None:
    reader, writer = await connect(server)
    writer.write(b"request=smtpd_access_policy\nsender=" + b"x" * (MAX_LINE_BYTES + 10) + b"\n\n")
    await assert_closed_without_reply(reader)
    writer.close()
    assert recorder.requests == []


@pytest.mark.parametrize("payload", [
    b"request=smtpd_access_policy\nthis line has no equals sign\n\n",
    b"request=smtpd_access_policy\n=value without a name\n\n",
    b"request=smtpd_access_policy\nsender=a@example.test\nsender=b@example.test\n\n",
    b"request=something_else\nsender=a@example.test\n\n",
    b"sender=a@example.test\n\n",
    b"request=smtpd_access_policy\n" + b"".join(b"a%d=1\n" % n for n in range(500)) + b"\n",
], ids=["no-equals", "empty-name", "repeated-attribute", "other-request", "no-request", "too-many-attributes"])
async def test_malformed_request_closes_the_connection_without_reply(server: PolicyServer, recorder: Recorder,
                                                                     payload: bytes) -> None:
    reader, writer = await connect(server)
    writer.write(payload)
    await assert_closed_without_reply(reader)
    writer.close()
    assert recorder.requests == []


async def test_connection_ending_inside_a_request_is_not_answered(server: PolicyServer, recorder: Recorder) -> None:
    reader, writer = await connect(server)
    writer.write(b"request=smtpd_access_policy\nsender=a@example.test\n")
    writer.write_eof()
    await assert_closed_without_reply(reader)
    writer.close()
    assert recorder.requests == []


async def test_request_stalled_midway_is_closed_after_the_request_timeout(server: PolicyServer) -> None:
    reader, writer = await connect(server)
    writer.write(b"request=smtpd_access_policy\n")
    await assert_closed_without_reply(reader)  # request_timeout is 0.5 s
    writer.close()


async def test_idle_connection_is_closed_after_the_idle_timeout(recorder: Recorder) -> None:
    policy = PolicyServer(LOOPBACK, 0, recorder, idle_timeout=0.3)
    await policy.start()
    try:
        reader, writer = await connect(policy)
        writer.write(request())
        assert await read_reply(reader) == b"action=DUNNO\n\n"
        await assert_closed_without_reply(reader)
        writer.close()
    finally:
        await policy.stop()


async def test_decide_raising_answers_defer_if_permit_and_logs_only_the_type(
        server: PolicyServer, recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    recorder.error = RuntimeError("secret@example.test could not be looked up")
    reader, writer = await connect(server)
    with caplog.at_level(logging.WARNING, logger="mailyard.mailserver.policy"):
        writer.write(request(sender="secret@example.test"))
        assert await read_reply(reader) == b"action=DEFER_IF_PERMIT 4.3.0 Policy service error\n\n"
        # The connection stays usable for the next request.
        recorder.error = None
        writer.write(request())
        assert await read_reply(reader) == b"action=DUNNO\n\n"
    writer.close()
    assert "RuntimeError" in caplog.text
    assert "secret@example.test" not in caplog.text


@pytest.mark.parametrize("action", ["DUNNO\n\naction=OK", "", "REJECT " + "x" * 1000, "REJECT caf\u00e9"],
                         ids=["line-break", "empty", "too-long", "non-ascii"])
async def test_action_that_is_not_one_printable_line_is_replaced_by_the_failsafe(
        server: PolicyServer, recorder: Recorder, action: str) -> None:
    recorder.action = action
    reader, writer = await connect(server)
    writer.write(request())
    assert await read_reply(reader) == f"action={FAILSAFE_ACTION}\n\n".encode()
    writer.close()


async def test_slow_decision_is_answered_with_the_failsafe(recorder: Recorder) -> None:
    async def slow(attributes: dict[str, str]) -> str:
        await asyncio.sleep(30)
        return "DUNNO"

    policy = PolicyServer(LOOPBACK, 0, slow, decision_timeout=0.2)
    await policy.start()
    try:
        reader, writer = await connect(policy)
        writer.write(request())
        assert await read_reply(reader) == f"action={FAILSAFE_ACTION}\n\n".encode()
        writer.close()
    finally:
        await policy.stop()


async def test_stop_ends_open_connections(recorder: Recorder) -> None:
    policy = PolicyServer(LOOPBACK, 0, recorder)
    await policy.start()
    reader, writer = await connect(policy)
    writer.write(request())
    assert await read_reply(reader) == b"action=DUNNO\n\n"
    await asyncio.wait_for(policy.stop(), REPLY_TIMEOUT)
    await assert_closed_without_reply(reader)
    writer.close()


# -- with a real Postfix -------------------------------------------------------------------------


LIMIT_TEXT = "Daily sending limit of 3 messages reached for limited@example.test; try again tomorrow"


def _message(subject: str) -> bytes:
    return f"From: someone@example.test\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()


async def by_sender(attributes: dict[str, str]) -> str:
    """Answers by the envelope sender's local part, so one Postfix exercises every kind of reply."""
    local = attributes.get("sender", "").partition("@")[0]
    if local == "limited":
        return f"DEFER 4.7.1 {LIMIT_TEXT}"
    if local == "foreign":
        return "REJECT 5.7.1 Sender address is not owned by user foreign@example.test"
    if local == "broken":
        raise RuntimeError("store unavailable")
    return "DUNNO"


@pytest.fixture
def policy_dir() -> Iterator[Path]:
    with server_dir("my-policy-") as directory:
        yield directory


@pytest.fixture
async def postfix_with_policy(policy_dir: Path, smtp_sink: SmtpSink) -> AsyncIterator[tuple[PostfixServer, Recorder]]:
    """A private Postfix whose end-of-data restrictions ask a PolicyServer answering `by_sender`."""
    seen = Recorder()

    async def decide(attributes: dict[str, str]) -> str:
        await seen(attributes)
        return await by_sender(attributes)

    policy = PolicyServer(LOOPBACK, 0, decide)
    await policy.start()
    # lmtp_port is never used: every test recipient is outside the hosted domain and goes to the sink.
    postfix = PostfixServer(policy_dir / "postfix", lmtp_port=free_port(), relay_host=smtp_sink.host,
                            relay_port=smtp_sink.port, settings={
                                "smtpd_end_of_data_restrictions": f"check_policy_service inet:{LOOPBACK}:{policy.port}",
                                # Fail fast if the service were unreachable, instead of after 100 s.
                                "smtpd_policy_service_timeout": "10s",
                            })
    try:
        await asyncio.to_thread(postfix.start)
        yield postfix, seen
        await asyncio.to_thread(postfix.wait_until_queue_empty)
    finally:
        await asyncio.to_thread(postfix.stop)
        await policy.stop()


def _send_all(port: int, senders: list[str], recipient: str) -> list[tuple[int, bytes]]:
    """Send one message per sender on a single SMTP session; the (code, text) Postfix answered to each DATA."""
    replies: list[tuple[int, bytes]] = []
    with smtplib.SMTP(LOOPBACK, port, timeout=30) as smtp:
        for sender in senders:
            try:
                smtp.sendmail(sender, [recipient, "second-" + recipient], _message(f"from {sender}"))
                replies.append((250, b""))
            except smtplib.SMTPDataError as exc:
                replies.append((exc.smtp_code, exc.smtp_error))
    return replies


async def test_postfix_shows_the_policy_replies_to_the_client(
        postfix_with_policy: tuple[PostfixServer, Recorder], smtp_sink: SmtpSink) -> None:
    postfix, seen = postfix_with_policy
    recipient = "policy-test@elsewhere.test"
    senders = ["limited@example.test", "foreign@example.test", "broken@example.test", "fine@example.test"]
    (limited, foreign, broken, fine) = await asyncio.to_thread(_send_all, postfix.port, senders, recipient)

    # Postfix puts its own "<END-OF-MESSAGE>: End-of-data rejected:" between the status code and our text.
    assert limited[0] == 450
    assert limited[1].startswith(b"4.7.1 ")
    assert limited[1].endswith(LIMIT_TEXT.encode())
    assert foreign[0] == 554
    assert foreign[1].startswith(b"5.7.1 ")
    assert foreign[1].endswith(b"Sender address is not owned by user foreign@example.test")
    assert broken[0] == 450
    assert broken[1].startswith(b"4.3.0 ")
    assert broken[1].endswith(b"Policy service error")
    assert fine == (250, b"")

    [received] = await asyncio.to_thread(smtp_sink.wait_for_messages, 1, recipient=recipient)
    assert received.mail_from == "fine@example.test"
    # One request per message (not per recipient), all at end of data.
    assert [r["sender"] for r in seen.requests] == senders
    assert {r["protocol_state"] for r in seen.requests} == {"END-OF-MESSAGE"}
    assert {r["recipient_count"] for r in seen.requests} == {"2"}
