"""The LMTP server Postfix hands webhook copies to (see hosting/routes.py).

A copy is acknowledged only after its event is in the outbox; on any failure the answer is a 4xx, so
Postfix keeps the copy queued and tries again: nothing is lost while Mailyard or its store is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.lmtp import LMTP

from mailyard.mailserver.hook_addresses import HOOK_DOMAIN
from mailyard.mailserver.stream_server import StreamServer

log = logging.getLogger(__name__)
Accept = Callable[[list[str], str, bytes], Awaitable[None]]
MAX_MESSAGE = 50 * 1024 * 1024


class _Handler:
    def __init__(self, accept: Accept) -> None:
        self.accept = accept

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if not address.lower().endswith("@" + HOOK_DOMAIN):
            return "550 5.1.1 Only webhook copies are accepted here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        count = max(1, len(envelope.rcpt_tos))
        try:
            await self.accept(list(envelope.rcpt_tos), envelope.mail_from or "", bytes(envelope.content))
        except Exception as exc:
            log.warning("could not queue a webhook copy: %s", type(exc).__name__)
            return "\r\n".join(["451 4.3.0 Temporary failure, try again later"] * count)
        # LMTP answers once per recipient.
        return "\r\n".join(["250 2.0.0 Queued for the webhook"] * count)


class HookReceiver(StreamServer):
    def __init__(self, host: str, port: int, accept: Accept) -> None:
        super().__init__(host, port)
        self.accept = accept

    async def _listen(self) -> asyncio.Server:
        # aiosmtpd speaks LMTP as an asyncio protocol rather than over streams.
        handler = _Handler(self.accept)
        return await asyncio.get_running_loop().create_server(
            lambda: LMTP(handler, hostname="mailyard-hooks", data_size_limit=MAX_MESSAGE), self.host, self._port)
