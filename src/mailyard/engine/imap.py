"""IMAP adapter over aioimaplib, adding what it lacks: STARTTLS (via `loop.start_tls`), AUTHENTICATE
exchanges with continuations (PLAIN, CRAM-MD5), a quoted LOGIN, and clean failure codes.

Mechanism choice for a password: over an unencrypted connection CRAM-MD5 when offered (the password
never crosses the wire), else AUTHENTICATE PLAIN when offered, else LOGIN. An access token always uses
XOAUTH2.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import ssl
from dataclasses import dataclass

import aioimaplib
from aioimaplib.aioimaplib import Response

from mailyard.engine.failures import Failure, FailureCode
from mailyard.engine.imap_mailbox import MailboxCommands
from mailyard.engine.imap_protocol import Cmd, Protocol, last_text
from mailyard.engine.imap_text import quote, response_code
from mailyard.engine.net import NetOptions, open_socket, tls_context, tls_failure

# aioimaplib logs raw protocol lines at debug level, SASL payloads (base64 credentials) included.
logging.getLogger("aioimaplib").setLevel(logging.WARNING)


@dataclass(frozen=True)
class ImapEndpoint:
    host: str
    port: int
    secure: bool = False  # implicit TLS
    starttls: bool | None = None  # True: required; False: never; None: when offered
    reject_unauthorized: bool = True
    min_tls_version: str | None = None
    servername: str | None = None


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str | None = None
    access_token: str | None = None

    def __repr__(self) -> str:  # never print a secret, even in a debugger or traceback
        return f"Credentials(user={self.user!r})"


class ImapConnection(MailboxCommands):
    """One authenticated-or-not IMAP connection. `closed` is set when the server goes away."""

    def __init__(self, endpoint: ImapEndpoint, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.closed = asyncio.Event()
        self.protocol = Protocol(asyncio.get_running_loop(), lambda _exc: self.closed.set())
        self.secure_channel = endpoint.secure
        self._caps_of: set[str] | None = None
        self._caps: frozenset[str] = frozenset()

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    async def open(cls, endpoint: ImapEndpoint, options: NetOptions) -> ImapConnection:
        loop = asyncio.get_running_loop()
        connection = cls(endpoint, options.connect_timeout)
        protocol = connection.protocol
        context = connection._tls(options) if endpoint.secure else None
        sock = await open_socket(endpoint.host, endpoint.port, options)
        try:
            async with asyncio.timeout(options.connect_timeout):
                await loop.create_connection(
                    lambda: protocol, sock=sock, ssl=context,
                    server_hostname=(endpoint.servername or endpoint.host) if context else None,
                    ssl_handshake_timeout=options.connect_timeout if context else None,
                )
        # From here the transport owns the socket and closes it; closing it again here could close an fd
        # number the event loop has already handed to another connection.
        except ssl.SSLError as exc:
            raise tls_failure(exc) from None
        except TimeoutError:
            raise Failure(FailureCode.TIMED_OUT, "TLS handshake timed out") from None
        except OSError as exc:
            raise Failure(FailureCode.CONNECTION_LOST, f"connection failed: {exc.strerror or exc}") from None
        try:
            await connection._await_greeting()
            if not endpoint.secure:
                await connection._maybe_starttls(options)
        except BaseException:
            connection.abort()
            raise
        return connection

    def _tls(self, options: NetOptions) -> ssl.SSLContext:
        return tls_context(self.endpoint.reject_unauthorized, options, self.endpoint.min_tls_version)

    async def _await_greeting(self) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self.protocol.wait("NONAUTH|AUTH")
        except TimeoutError:
            if self.closed.is_set():
                raise Failure(FailureCode.CONNECTION_LOST, "server closed the connection before greeting") from None
            raise Failure(FailureCode.TIMED_OUT, "server sent no IMAP greeting in time") from None
        if not self.protocol.capabilities:
            raise Failure(FailureCode.PROTOCOL, "server did not report its capabilities")

    async def _maybe_starttls(self, options: NetOptions) -> None:
        offered = self.has("STARTTLS")
        wanted = self.endpoint.starttls
        if wanted is False or (wanted is None and not offered):
            return
        response = await self._execute(Cmd("STARTTLS", self.protocol.new_tag(), loop=self.protocol.loop))
        if response.result != "OK":
            raise Failure(FailureCode.TLS, f"STARTTLS refused: {last_text(response)}")
        loop = asyncio.get_running_loop()
        assert self.protocol.transport is not None
        try:
            async with asyncio.timeout(self.timeout):
                transport = await loop.start_tls(self.protocol.transport, self.protocol, self._tls(options),
                                                 server_hostname=self.endpoint.servername or self.endpoint.host)
        except ssl.SSLError as exc:
            raise tls_failure(exc) from None
        except TimeoutError:
            raise Failure(FailureCode.TIMED_OUT, "STARTTLS handshake timed out") from None
        self.protocol.transport = transport
        self.secure_channel = True
        await self._refresh_capabilities()  # capabilities may change after TLS

    # -- commands --------------------------------------------------------------------------------
    def has(self, capability: str) -> bool:
        current = self.protocol.capabilities
        if current is not self._caps_of:  # aioimaplib replaces the set whenever capabilities are re-read
            self._caps_of, self._caps = current, frozenset(c.upper() for c in current)
        return capability.upper() in self._caps

    async def _execute(self, command: Cmd) -> Response:
        try:
            async with asyncio.timeout(self.timeout):
                return await self.protocol.execute(command)
        except TimeoutError:
            raise Failure(FailureCode.TIMED_OUT, f"{command.name} timed out") from None
        except aioimaplib.AioImapException as exc:
            raise Failure(FailureCode.PROTOCOL, f"{command.name} failed: {exc}") from None

    async def _refresh_capabilities(self) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self.protocol.capability()
        except TimeoutError:
            raise Failure(FailureCode.TIMED_OUT, "CAPABILITY timed out") from None
        except aioimaplib.AioImapException as exc:
            raise Failure(FailureCode.PROTOCOL, f"CAPABILITY failed: {exc}") from None

    async def command(self, name: str, *args: str, prefix: str | None = None) -> Response:
        if self.closed.is_set():
            raise Failure(FailureCode.CONNECTION_LOST, "connection closed")
        return await self._execute(Cmd(name, self.protocol.new_tag(), *args, prefix=prefix, loop=self.protocol.loop))

    # -- authentication --------------------------------------------------------------------------
    async def authenticate(self, credentials: Credentials) -> None:
        if self.protocol.state == "AUTH":
            return  # PREAUTH
        if credentials.access_token:
            response = await self._sasl("XOAUTH2", self._xoauth2(credentials))
        elif credentials.password is None:
            raise Failure(FailureCode.NO_CREDENTIALS, "no password or access token is stored for this account")
        elif not self.secure_channel and self.has("AUTH=CRAM-MD5"):
            response = await self._cram_md5(credentials)
        elif self.has("AUTH=PLAIN"):
            plain = f"\0{credentials.user}\0{credentials.password}".encode()
            response = await self._sasl("PLAIN", plain)
        elif self.has("LOGINDISABLED"):
            raise Failure(FailureCode.AUTHENTICATION_FAILED, "server refuses LOGIN on this connection")
        else:
            response = await self.command("LOGIN", quote(credentials.user), quote(credentials.password))
        self.protocol.responder = None
        if response.result != "OK":
            code, text = response_code(last_text(response))
            raise Failure(FailureCode.AUTHENTICATION_FAILED, text or code or "authentication failed")
        self.protocol.state = "AUTH"
        await self._refresh_capabilities()  # servers add capabilities after login

    @staticmethod
    def _xoauth2(credentials: Credentials) -> bytes:
        return f"user={credentials.user}\x01auth=Bearer {credentials.access_token}\x01\x01".encode()

    async def _sasl(self, mechanism: str, initial: bytes) -> Response:
        """AUTHENTICATE with an initial response: inline (SASL-IR) or as the answer to the first challenge.
        Later challenges get an empty reply, which is what XOAUTH2 expects after its JSON error challenge."""
        encoded = base64.b64encode(initial).decode()
        if self.has("SASL-IR"):
            self.protocol.responder = lambda _challenge: b""
            return await self.command("AUTHENTICATE", mechanism, encoded)
        answered: list[bool] = []

        def respond(_challenge: bytes) -> bytes:
            if answered:
                return b""
            answered.append(True)
            return encoded.encode()

        self.protocol.responder = respond
        return await self.command("AUTHENTICATE", mechanism)

    async def _cram_md5(self, credentials: Credentials) -> Response:
        assert credentials.password is not None
        secret = credentials.password.encode()

        def respond(challenge: bytes) -> bytes:
            nonce = base64.b64decode(challenge)
            digest = hmac.new(secret, nonce, hashlib.md5).hexdigest()
            return base64.b64encode(f"{credentials.user} {digest}".encode())

        self.protocol.responder = respond
        return await self.command("AUTHENTICATE", "CRAM-MD5")

    async def logout(self) -> None:
        if not self.closed.is_set():
            try:
                async with asyncio.timeout(2):
                    await self.command("LOGOUT")
            except (Failure, TimeoutError):
                pass
        self.abort()

    def abort(self) -> None:
        transport = self.protocol.transport
        if transport is not None and not transport.is_closing():
            transport.close()
        self.closed.set()
