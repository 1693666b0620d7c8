"""An in-process asyncio server speaking the Sendmail milter protocol (version 6) as Postfix 3.7 uses it.

Postfix passes every submitted message through it; at end of message one async handler decides: accept
(optionally inserting headers at the top, e.g. a DKIM-Signature), reject with an SMTP reply, or tempfail.

Decisions:

- Negotiation asks only for SMFIF_ADDHDRS (insert header), skips the HELO, DATA and unknown-command steps,
  and asks Postfix not to wait for replies to CONNECT, MAIL, RCPT, header and end-of-header packets: one
  round trip per body chunk and one at end of message remain. Body replies are kept so that an oversized
  body can be answered with SMFIR_SKIP.
- A body over `max_body_bytes` (50 MiB) stops being buffered: the handler still runs (headers and envelope
  are complete, so sender checks still apply) with `body=b""` and `body_truncated=True`, and may decide to
  let the message go unsigned. Headers over `max_header_bytes` or `MAX_HEADERS` are refused with 552 5.3.4
  without calling the handler: they cannot be checked, and no real mail needs that much.
- A malformed packet (bad length, unknown command, missing NUL terminator) closes the connection; Postfix
  then applies its milter_default_action (tempfail in Mailyard's configuration).
- A handler that raises, times out or returns something else tempfails the message (451 4.3.0), so nothing
  goes out unchecked or unsigned; only the exception type is logged, since its text may quote the message.
- Strings (addresses, headers, macros) are decoded as UTF-8 with surrogateescape, so `as_bytes()` gives
  back the exact bytes Postfix sent, even for malformed 8-bit headers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from mailyard.mailserver.stream_server import StreamServer

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 6
# Postfix's largest packets are body chunks (64 KiB) and single headers (header_size_limit, 100 KiB).
MAX_PACKET_BYTES = 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_HEADER_BYTES = 1024 * 1024
MAX_HEADERS = 2000
MAX_REPLY_TEXT = 512  # libmilter caps a whole reply at 980 bytes; leave room for code and escaping

# The action and protocol flags used here, from libmilter's mfapi.h.
SMFIF_ADDHDRS = 0x01
SMFIP_NOHELO, SMFIP_NR_HDR, SMFIP_NOUNKNOWN, SMFIP_NODATA, SMFIP_SKIP = 0x02, 0x80, 0x100, 0x200, 0x400
SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT = 0x1000, 0x2000, 0x4000, 0x8000
SMFIP_NR_DATA, SMFIP_NR_UNKN, SMFIP_NR_EOH, SMFIP_NR_BODY = 0x10000, 0x20000, 0x40000, 0x80000

_WANTED_PROTOCOL = (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | SMFIP_NR_CONN | SMFIP_NR_MAIL
                    | SMFIP_NR_RCPT | SMFIP_NR_EOH | SMFIP_NR_HDR)
# Which negotiated flag means "do not answer this command".
_NO_REPLY_FLAGS = {"C": SMFIP_NR_CONN, "H": SMFIP_NR_HELO, "M": SMFIP_NR_MAIL, "R": SMFIP_NR_RCPT,
                   "T": SMFIP_NR_DATA, "U": SMFIP_NR_UNKN, "N": SMFIP_NR_EOH, "L": SMFIP_NR_HDR,
                   "B": SMFIP_NR_BODY}
# Macros sent with these commands describe the SMTP connection and outlive a message.
_CONNECTION_MACROS = ("C", "H")
# The order Postfix sends events in: a later event's macro of the same name wins.
_EVENT_ORDER = ("C", "H", "M", "R", "T", "L", "N", "B", "E")
# Replies: continue, accept, skip (the rest of the body), reply code, insert header, option negotiation.
_CONTINUE, _ACCEPT, _SKIP, _REPLYCODE, _INSHEADER, _OPTNEG = b"c", b"a", b"s", b"y", b"i", b"O"

_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # printable ASCII except ':' (RFC 5322 ftext)
_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


class MilterProtocolError(Exception):
    """The MTA sent something that is not a valid milter packet; the connection is closed."""


@dataclass(frozen=True)
class MilterMessage:
    """One message as Postfix showed it to the milter.

    `headers` are in the order received, without Postfix's own topmost Received header (milters never see
    it), values without the one space after the colon and folded with "\\n". `body` has CRLF line endings.
    """

    auth_login: str | None = None
    envelope_from: str = ""
    recipients: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    macros: dict[str, str] = field(default_factory=dict)
    body_truncated: bool = False

    @property
    def queue_id(self) -> str | None:
        return self.macros.get("i") or self.macros.get("{i}")

    def as_bytes(self) -> bytes:
        """The message as Postfix will deliver it (less its own Received header), CRLF line endings."""
        lines = [f"{name}: {_crlf(value)}\r\n" for name, value in self.headers]
        return "".join(lines).encode("utf-8", "surrogateescape") + b"\r\n" + self.body


@dataclass(frozen=True)
class MilterVerdict:
    """The handler's decision on a message; build it with `accept()`, `reject()` or `tempfail()`."""

    action: Literal["accept", "reject", "tempfail"]
    headers: tuple[tuple[str, str], ...] = ()
    code: int = 0
    enhanced: str = ""
    text: str = ""

    def __post_init__(self) -> None:
        if self.action == "accept":
            if self.code or self.enhanced or self.text:
                raise ValueError("an accept verdict carries no SMTP reply")
            for name, value in self.headers:
                _check_header(name, value)
            return
        if self.headers:
            raise ValueError("only an accept verdict inserts headers")
        first = "5" if self.action == "reject" else "4"
        if str(self.code)[:1] != first or not 100 <= self.code <= 599:
            raise ValueError(f"a {self.action} reply needs a {first}xx code, not {self.code}")
        if not _ENHANCED.match(self.enhanced) or self.enhanced[0] != first:
            raise ValueError(f"a {self.action} reply needs a {first}.x.y enhanced code, not {self.enhanced!r}")

    @classmethod
    def accept(cls, headers: Iterable[tuple[str, str]] = ()) -> MilterVerdict:
        """Let the message through, inserting `headers` at the top in the given order."""
        return cls("accept", headers=tuple(headers))

    @classmethod
    def reject(cls, text: str, *, code: int = 550, enhanced: str = "5.7.1") -> MilterVerdict:
        return cls("reject", code=code, enhanced=enhanced, text=text)

    @classmethod
    def tempfail(cls, text: str = "Try again later", *, code: int = 451, enhanced: str = "4.3.0") -> MilterVerdict:
        return cls("tempfail", code=code, enhanced=enhanced, text=text)

    def reply_line(self) -> str:
        """The SMFIR_REPLYCODE text: one line, printable ASCII, '%' doubled (Postfix undoubles it)."""
        text = _UNPRINTABLE.sub("?", self.text)
        if len(text) > MAX_REPLY_TEXT:
            text = text[: MAX_REPLY_TEXT - 3] + "..."
        return f"{self.code} {self.enhanced} {text}".rstrip().replace("%", "%%")


MilterHandler = Callable[[MilterMessage], Awaitable[MilterVerdict]]

_HANDLER_FAILED = MilterVerdict.tempfail("Message could not be checked, try again later")
_HEADERS_TOO_LARGE = MilterVerdict.reject("Message header is too large", code=552, enhanced="5.3.4")


def _crlf(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\n", "\r\n")


def _check_header(name: str, value: str) -> None:
    if not _HEADER_NAME.match(name):
        raise ValueError(f"invalid header name {name!r}")
    value.encode("utf-8")  # raises UnicodeEncodeError (a ValueError) for lone surrogates
    lines = value.replace("\r\n", "\n").split("\n")
    # Every line break must continue the same field; anything else would inject a header of its own.
    if "\0" in value or "\r" in "".join(lines) or any(line[:1] not in (" ", "\t") for line in lines[1:]):
        raise ValueError(f"header {name} has a line break that does not fold the value")


def _strings(data: bytes) -> list[str]:
    """NUL-terminated strings, as the protocol packs addresses, macros and headers."""
    if not data:
        return []
    if not data.endswith(b"\0"):
        raise MilterProtocolError("string field is not NUL-terminated")
    return [part.decode("utf-8", "surrogateescape") for part in data[:-1].split(b"\0")]


def _address(argument: str) -> str:
    text = argument.strip()
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text


def _packet(command: bytes, data: bytes = b"") -> bytes:
    return struct.pack("!I", len(command) + len(data)) + command + data


async def _read_packet(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    (length,) = struct.unpack("!I", await reader.readexactly(4))
    if length == 0 or length > MAX_PACKET_BYTES:
        raise MilterProtocolError(f"packet length {length} out of range")
    payload = await reader.readexactly(length)
    return chr(payload[0]), payload[1:]


@dataclass
class _MessageState:
    envelope_from: str = ""
    recipients: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    header_bytes: int = 0
    headers_overflow: bool = False
    body: bytearray = field(default_factory=bytearray)
    body_truncated: bool = False


class _Session:
    """The state of one MTA connection: negotiated options, macros and the message in progress."""

    def __init__(self, server: MilterServer, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.writer = writer
        self.negotiated = False
        self.actions = 0
        self.protocol = 0
        self.macros: dict[str, dict[str, str]] = {}
        self.message = _MessageState()

    def reset_message(self) -> None:
        self.message = _MessageState()
        self.macros = {code: values for code, values in self.macros.items() if code in _CONNECTION_MACROS}

    async def send(self, *packets: bytes) -> None:
        self.writer.write(b"".join(packets))
        await self.writer.drain()

    async def reply(self, command: str, answer: bytes = _CONTINUE) -> None:
        flag = _NO_REPLY_FLAGS.get(command, 0)
        if not self.protocol & flag:
            await self.send(_packet(answer))

    async def dispatch(self, command: str, data: bytes) -> bool:
        """Handle one packet; False when the connection should close."""
        if command == "O":
            await self.negotiate(data)
            return True
        if not self.negotiated:
            raise MilterProtocolError(f"command {command!r} before option negotiation")
        if command == "D":
            self.store_macros(data)
        elif command in ("C", "H", "T", "U", "N"):
            # Connection details, HELO, DATA and end of headers are not needed; their macros come separately.
            if command in ("C", "H", "U") and b"\0" not in data:
                raise MilterProtocolError(f"command {command!r} without a NUL-terminated argument")
            await self.reply(command)
        elif command in ("M", "R"):
            args = _strings(data)
            if not args:
                raise MilterProtocolError(f"command {command!r} without an address")
            if command == "M":
                self.message.envelope_from = _address(args[0])
            else:
                self.message.recipients.append(_address(args[0]))
            await self.reply(command)
        elif command == "L":
            self.store_header(data)
            await self.reply(command)
        elif command == "B":
            await self.reply(command, _SKIP if self.store_body(data) else _CONTINUE)
        elif command == "E":
            self.store_body(data)  # Sendmail may send a last chunk with EOB; Postfix sends none
            await self.end_of_message()
        elif command == "A":
            self.reset_message()
        elif command == "K":  # QUIT_NC: a new SMTP connection follows on this socket
            self.macros, self.message = {}, _MessageState()
        elif command == "Q":
            return False
        else:
            raise MilterProtocolError(f"unknown command {command!r}")
        return True

    async def negotiate(self, data: bytes) -> None:
        if len(data) < 12:
            raise MilterProtocolError("short option negotiation")
        version, actions, protocol = struct.unpack("!III", data[:12])
        if version < 2:
            raise MilterProtocolError(f"milter protocol version {version} is too old")
        self.actions = actions & SMFIF_ADDHDRS
        self.protocol = protocol & _WANTED_PROTOCOL
        if not self.actions:
            logger.warning("milter: the MTA does not let filters add headers; signed mail will be tempfailed")
        self.negotiated = True
        # Postfix refuses a version above its own, so answer with the lower of the two.
        reply = struct.pack("!III", min(version, PROTOCOL_VERSION), self.actions, self.protocol)
        await self.send(_packet(_OPTNEG, reply))

    def store_macros(self, data: bytes) -> None:
        if not data:
            raise MilterProtocolError("macro packet without a command code")
        values = _strings(data[1:])
        if len(values) % 2:
            raise MilterProtocolError("macro packet with a name but no value")
        self.macros[chr(data[0])] = dict(zip(values[::2], values[1::2], strict=True))

    def store_header(self, data: bytes) -> None:
        fields = _strings(data)
        if len(fields) != 2:
            raise MilterProtocolError("header packet without exactly a name and a value")
        state = self.message
        state.header_bytes += len(data)
        if state.header_bytes > self.server.max_header_bytes or len(state.headers) >= MAX_HEADERS:
            state.headers_overflow = True
            state.headers.clear()  # refused at end of message anyway; free the memory now
        if not state.headers_overflow:
            state.headers.append((fields[0], fields[1]))

    def store_body(self, chunk: bytes) -> bool:
        """Buffer a body chunk; True once the body is over the limit and Postfix may skip the rest."""
        state = self.message
        if not state.body_truncated and len(state.body) + len(chunk) > self.server.max_body_bytes:
            state.body_truncated = True
            state.body = bytearray()
        if state.body_truncated:
            return bool(self.protocol & SMFIP_SKIP)
        state.body += chunk
        return False

    def build_message(self) -> MilterMessage:
        merged: dict[str, str] = {}
        for code in (*_EVENT_ORDER, *sorted(set(self.macros) - set(_EVENT_ORDER))):
            merged.update(self.macros.get(code, {}))
        state = self.message
        return MilterMessage(
            auth_login=merged.get("{auth_authen}") or None, envelope_from=state.envelope_from,
            recipients=list(state.recipients), headers=list(state.headers), body=bytes(state.body),
            macros=merged, body_truncated=state.body_truncated,
        )

    async def end_of_message(self) -> None:
        overflow = self.message.headers_overflow
        message = self.build_message()
        self.reset_message()
        verdict = _HEADERS_TOO_LARGE if overflow else await self.server._decide(message)
        if verdict.action == "accept" and verdict.headers and not self.actions & SMFIF_ADDHDRS:
            verdict = _HANDLER_FAILED
        if verdict.action != "accept":
            logger.info("milter: message %s %s (%d %s)", message.queue_id or "-", verdict.action, verdict.code,
                        verdict.enhanced)
            await self.send(_packet(_REPLYCODE, verdict.reply_line().encode("ascii") + b"\0"))
            return
        packets = []
        for index, (name, value) in enumerate(verdict.headers):
            # Index 0 is the very top; counting up keeps the verdict's order. The protocol folds with LF.
            encoded = name.encode("ascii") + b"\0" + value.replace("\r\n", "\n").encode("utf-8") + b"\0"
            packets.append(_packet(_INSHEADER, struct.pack("!I", index) + encoded))
        await self.send(*packets, _packet(_ACCEPT))


class MilterServer(StreamServer):
    """Listens on `host:port` (0 picks a free port) and runs `handler` at the end of every message."""

    def __init__(self, host: str, port: int, handler: MilterHandler, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES, handler_timeout: float = 60.0,
                 idle_timeout: float = 900.0) -> None:
        """`handler_timeout` stays under Postfix's milter_content_timeout (300 s), so the client gets our
        451 rather than Postfix's; `idle_timeout` is above smtpd_timeout, the longest an SMTP session (and
        so its milter connection) can sit idle."""
        super().__init__(host, port)
        self.handler = handler
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.handler_timeout = handler_timeout
        self.idle_timeout = idle_timeout

    async def _decide(self, message: MilterMessage) -> MilterVerdict:
        try:
            async with asyncio.timeout(self.handler_timeout):
                verdict = await self.handler(message)
            if not isinstance(verdict, MilterVerdict):
                raise TypeError("the milter handler did not return a MilterVerdict")
        except Exception as exc:
            # Only the type: the text of an exception from parsing or signing may quote the message.
            logger.error("milter: handler failed with %s; message %s tempfailed", type(exc).__name__,
                         message.queue_id or "-")
            return _HANDLER_FAILED
        return verdict

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, writer)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout):
                        command, data = await _read_packet(reader)
                except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                    return  # the MTA went away or fell silent
                if not await session.dispatch(command, data):
                    return
        except MilterProtocolError as exc:
            logger.warning("milter: closing the connection after a malformed packet: %s", exc)
        except ConnectionError:
            pass
        except Exception as exc:
            # Closing makes Postfix apply milter_default_action (tempfail), the safe outcome.
            logger.error("milter: connection failed with %s", type(exc).__name__)
