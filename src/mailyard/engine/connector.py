"""The seam between the engine's logic and the network: opening IMAP sessions and checking SMTP logins.
The real connector uses the adapters; unit tests of the supervisor pass a fake."""

from __future__ import annotations

import asyncio
from typing import Protocol

from mailyard.engine import smtp
from mailyard.engine.imap import Credentials, ImapConnection, ImapEndpoint
from mailyard.engine.net import NetOptions


class Connector(Protocol):
    async def open_imap(self, endpoint: ImapEndpoint, credentials: Credentials) -> ImapConnection: ...

    async def check_smtp(self, endpoint: smtp.SmtpEndpoint, credentials: Credentials | None) -> None: ...


class NetworkConnector:
    """Connects for real, with at most `parallel` handshakes in flight (a restart of thousands of accounts
    must not open thousands of sockets in the same instant)."""

    def __init__(self, options: NetOptions, parallel: int = 100) -> None:
        self.options = options
        self._slots = asyncio.Semaphore(parallel)

    async def open_imap(self, endpoint: ImapEndpoint, credentials: Credentials) -> ImapConnection:
        async with self._slots:
            connection = await ImapConnection.open(endpoint, self.options)
            try:
                await connection.authenticate(credentials)
            except BaseException:
                connection.abort()
                raise
            return connection

    async def check_smtp(self, endpoint: smtp.SmtpEndpoint, credentials: Credentials | None) -> None:
        async with self._slots:
            await smtp.check_login(endpoint, credentials, self.options)
