"""The services Mailyard runs for Postfix, on loopback: the policy service (outbound limits, envelope
sender ownership), the milter (DKIM signing, From ownership) and the LMTP receiver of webhook copies.

They run beside `serve --mailserver`, or with MAILYARD_MAIL_SERVICES=true for a Postfix run by the
operator from `mailyard mailserver config`. Starting them first re-derives the columns the mail servers
read (mailserver/derived.py), so rows written by an older version are rendered by the current one.
Incoming mail does not pass through them, so it keeps flowing while Mailyard is down; submissions then
wait (4xx) until it is back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mailyard.config import Settings
from mailyard.hosting.dkim_signing import OutgoingMail
from mailyard.hosting.sending_policy import SendingPolicy
from mailyard.mailserver.derived import rederive
from mailyard.mailserver.hook_receiver import HookReceiver
from mailyard.mailserver.milter import MilterServer
from mailyard.mailserver.policy import PolicyServer
from mailyard.security.secretbox import SecretBox
from mailyard.store.db import Database

LOOPBACK = "127.0.0.1"


class MailServices:
    def __init__(self, settings: Settings, db: Database, box: SecretBox,
                 receive_hook: Callable[[list[str], str, bytes], Awaitable[None]]) -> None:
        self.policy = PolicyServer(LOOPBACK, settings.policy_port,
                                   SendingPolicy(db, default_limit=settings.outbound_default_limit).decide)
        self.milter = MilterServer(LOOPBACK, settings.milter_port, OutgoingMail(db, box).handle)
        self.hooks = HookReceiver(LOOPBACK, settings.hook_port, receive_hook)
        self.db = db
        self.box = box

    async def start(self) -> None:
        await rederive(self.db, self.box)
        await self.policy.start()
        await self.milter.start()
        await self.hooks.start()

    async def stop(self) -> None:
        await self.hooks.stop()
        await self.milter.stop()
        await self.policy.stop()
