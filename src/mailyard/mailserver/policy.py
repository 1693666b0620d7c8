"""The Postfix policy service: Postfix's SMTP Access Policy Delegation protocol over TCP.

Postfix (`check_policy_service inet:host:port`) sends a request as `name=value` lines ended by an empty
line and waits for one reply, `action=<access(5) action>` and an empty line; a connection carries many
requests in turn. What to answer is up to the `decide` callback; this module only speaks the protocol.

Failure rules:

- `decide` raising (or answering something that is not a single printable line) is answered with
  `DEFER_IF_PERMIT 4.3.0 ...`: a message that could not be checked must not be accepted, and a temporary
  failure makes the client retry instead of losing the message.
- Malformed input (no `=`, a line or request too large, a request Postfix would never send) closes the
  connection without a reply, as SMTPD_POLICY_README asks: Postfix logs it, reconnects and retries, and
  after `smtpd_policy_service_try_limit` attempts applies `smtpd_policy_service_default_action` (a 4xx).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

from mailyard.mailserver.stream_server import StreamServer

log = logging.getLogger(__name__)

Decide = Callable[[dict[str, str]], Awaitable[str]]

FAILSAFE_ACTION = "DEFER_IF_PERMIT 4.3.0 Policy service error"
# Postfix 3.7 sends about 40 attributes of a few hundred bytes at most (certificate subjects are the
# longest); these bounds leave room for newer versions while keeping one connection's memory small.
MAX_LINE_BYTES = 8192
MAX_ATTRIBUTES = 200
# Longer than Postfix's own smtpd_policy_service_max_idle (300 s), so Postfix normally closes first; this
# only reaps connections a crashed or foreign client left open.
IDLE_TIMEOUT = 600.0
# Postfix writes a request in one go: once its first line arrived, the rest follows at once.
REQUEST_TIMEOUT = 30.0
# Below Postfix's smtpd_policy_service_timeout (100 s), so a stuck decision still gets our own answer.
DECISION_TIMEOUT = 60.0
# An SMTP reply line must stay under 512 bytes; Postfix adds a code and its own prefix to the text.
MAX_ACTION_LENGTH = 400
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")


class MalformedRequest(Exception):
    """The peer does not speak the policy protocol: the connection is closed without a reply."""


class PolicyServer(StreamServer):
    """Answers policy requests on (host, port); port 0 picks a free port, readable from `port` once started."""

    def __init__(self, host: str, port: int, decide: Decide, *, idle_timeout: float = IDLE_TIMEOUT,
                 request_timeout: float = REQUEST_TIMEOUT, decision_timeout: float = DECISION_TIMEOUT) -> None:
        super().__init__(host, port, read_limit=MAX_LINE_BYTES)
        self.decide = decide
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.decision_timeout = decision_timeout

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                action = await self._answer(request)
                writer.write(f"action={action}\n\n".encode("ascii"))
                async with asyncio.timeout(self.request_timeout):
                    await writer.drain()
        except MalformedRequest as exc:
            log.warning("closing a policy connection: %s", exc)
        except TimeoutError:
            log.info("closing an idle or stalled policy connection")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the peer went away; Postfix reconnects when it needs to

    async def _read_request(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        """The next request's attributes; None when the peer closed the connection between requests."""
        attributes: dict[str, str] = {}
        async with asyncio.timeout(self.idle_timeout):
            line = await self._read_line(reader)
        if line is None:
            return None
        async with asyncio.timeout(self.request_timeout):
            while line:
                name, sep, value = line.partition("=")
                if not sep or not _NAME.match(name):
                    raise MalformedRequest("a line is not an attribute")
                # Postfix never repeats one; two differing copies could make checks read different values.
                if name in attributes:
                    raise MalformedRequest("an attribute is repeated")
                if len(attributes) >= MAX_ATTRIBUTES:
                    raise MalformedRequest("too many attributes")
                attributes[name] = value
                line = await self._read_line(reader)
                if line is None:
                    raise MalformedRequest("the connection ended inside a request")
        if attributes.get("request") != "smtpd_access_policy":
            raise MalformedRequest("not an smtpd_access_policy request")
        return attributes

    @staticmethod
    async def _read_line(reader: asyncio.StreamReader) -> str | None:
        """One line without its end; None at the end of the stream."""
        try:
            raw = await reader.readline()
        except ValueError:  # the stream's limit: a line longer than MAX_LINE_BYTES
            raise MalformedRequest("a line is too long") from None
        if not raw:
            return None
        if not raw.endswith(b"\n"):
            raise MalformedRequest("the connection ended inside a line")
        # Postfix sends bytes as the client gave them (SMTPUTF8, 8-bit HELO names); an undecodable byte
        # becomes U+FFFD, which can never match a stored address.
        return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")

    async def _answer(self, attributes: dict[str, str]) -> str:
        try:
            async with asyncio.timeout(self.decision_timeout):
                action = await self.decide(attributes)
        except Exception as exc:
            # Only the type: messages may carry addresses or SQL parameters.
            log.warning("policy decision failed: %s", type(exc).__name__)
            return FAILSAFE_ACTION
        # The action goes back on one protocol line; a line break would forge further replies.
        if not isinstance(action, str) or len(action) > MAX_ACTION_LENGTH or not _PRINTABLE.match(action):
            log.warning("policy decision is not a single printable line; deferring")
            return FAILSAFE_ACTION
        return action
