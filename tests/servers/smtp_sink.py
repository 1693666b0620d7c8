"""An in-process SMTP server (aiosmtpd) that records every message instead of delivering it.

It stands in for "the internet" behind Dovecot's submission relay and Postfix's relayhost, and for the
remote SMTP servers the app talks to. Options: STARTTLS with the test certificate, AUTH PLAIN/LOGIN
against a dict of users (allowed without TLS so plain-port clients can be tested; ``users=None`` means
AUTH is not offered at all), and recipients it refuses with a permanent 550. The ``users`` dict and
``refused_recipients`` may be changed while it runs.
"""

from __future__ import annotations

import email
import email.policy
import logging
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .ports import LOOPBACK, free_port
from .tls import ThrowawayCA

# aiosmtpd logs every command at INFO; the recorded messages are the interesting part.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message, exactly as the client sent it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    auth_login: str | None

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.sink.refused_recipients:
            return f"550 5.1.1 <{address}>: Recipient address rejected: refused by the test sink"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode()
        login = session.auth_data if isinstance(session.auth_data, str) else None
        self.sink.record(ReceivedMessage(envelope.mail_from or "", tuple(envelope.rcpt_tos), data, login))
        return "250 2.0.0 Message accepted by the test sink"


class _SinkSMTP(SMTP):
    """aiosmtpd advertises AUTH yet answers 555 to the ``MAIL FROM ... AUTH=`` parameter that RFC 4954
    section 5 obliges such servers to accept and that relays (Dovecot's submission) send."""

    def _getparams(self, params: Sequence[str]) -> dict[str, str | bool] | None:
        result = super()._getparams(params)
        if result is not None:
            result.pop("AUTH", None)
        return result


class _SinkController(Controller):
    def factory(self) -> SMTP:
        # aiosmtpd warns on every connection that AUTH without TLS is insecure; here that is the point.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return _SinkSMTP(self.handler, **self.SMTP_kwargs)


class SmtpSink:
    """A recording SMTP server on a free loopback port, served from its own thread."""

    host = LOOPBACK

    def __init__(
        self,
        *,
        tls: ThrowawayCA | None = None,
        users: dict[str, str] | None = None,
        auth_required: bool = False,
        refused_recipients: Iterable[str] = (),
    ) -> None:
        self.tls = tls
        self.users = users
        self.auth_required = auth_required
        self.refused_recipients: set[str] = {address.lower() for address in refused_recipients}
        self.port = free_port()
        self._messages: list[ReceivedMessage] = []
        self._changed = threading.Condition()
        self._controller: _SinkController | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        kwargs: dict[str, Any] = {
            "enable_SMTPUTF8": True,
            "server_hostname": "sink.example.test",
            "auth_require_tls": False,
            "auth_required": self.auth_required,
        }
        if self.tls is not None:
            kwargs["tls_context"] = self.tls.server_context()
        # Without an authenticator aiosmtpd does not advertise AUTH at all, like many real relays.
        if self.users is not None:
            kwargs["authenticator"] = self._authenticate
        self._controller = _SinkController(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode(errors="replace")
        password = auth_data.password.decode(errors="replace")
        if self.users is not None and self.users.get(login) == password:
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    # -- recording -------------------------------------------------------------------------------

    def record(self, message: ReceivedMessage) -> None:
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()

    @property
    def messages(self) -> list[ReceivedMessage]:
        """A snapshot of everything received since the last ``clear()``."""
        with self._changed:
            return list(self._messages)

    def messages_for(self, recipient: str) -> list[ReceivedMessage]:
        wanted = recipient.lower()
        return [m for m in self.messages if wanted in (r.lower() for r in m.rcpt_tos)]

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def refuse(self, *recipients: str) -> None:
        """Answer RCPT TO for these addresses with a permanent 550 from now on."""
        self.refused_recipients.update(address.lower() for address in recipients)

    def wait_for_messages(
        self, count: int = 1, timeout: float = 10.0, recipient: str | None = None
    ) -> list[ReceivedMessage]:
        """Wait until ``count`` messages (to ``recipient`` if given) arrived and return them.

        The sink is shared by the whole session, so filtering by a per-test recipient keeps tests
        independent of each other's mail.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self._messages if recipient is None else self.messages_for(recipient)
                if len(found) >= count:
                    return list(found)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {count} message(s){f' for {recipient}' if recipient else ''} "
                        f"within {timeout}s, the sink has {len(found)}"
                    )
                self._changed.wait(remaining)
