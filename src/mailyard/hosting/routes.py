"""Message routes of hosted domains: `store` (the default), or `webhook_then_store`, where every message
the domain receives is also POSTed to the domain's own webhook, signed with its secret.

Postfix adds a copy addressed to `domain-<id>@hooks.mailyard.invalid` (recipient_bcc_maps) and hands it
to Mailyard's LMTP hook receiver, which writes a `messageReceived` event to the outbox; the webhook
dispatcher delivers it with the usual retries. The original is stored by Dovecot as always, and if
Mailyard is down Postfix keeps the copy queued until it is back.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from mailyard.errors import invalid
from mailyard.events.delivery import ROUTE_PREFIX, Route
from mailyard.events.outbox import NewEvent, write_events
from mailyard.events.types import EventType
from mailyard.hosting.domains import DomainService, DomainView
from mailyard.hosting.records import HostedDomainRecord
from mailyard.hosting.tenancy import acting_user
from mailyard.mailserver.postfix_config import HOOK_DOMAIN
from mailyard.security.secretbox import SecretBox
from mailyard.security.tokens import Principal
from mailyard.store.base import utcnow
from mailyard.store.db import Database

log = logging.getLogger(__name__)
FORWARD_MODES = ("store", "webhook_then_store")
_FIELDS = frozenset({"user_id", "forward_mode", "webhook_url", "webhook_secret"})
_HEADERS = ("from", "to", "cc", "subject", "date", "message-id")


def _webhook_url(value: object) -> str:
    if not isinstance(value, str) or len(value) > 2048:
        raise invalid("webhook_url", "must be an http(s) URL of at most 2048 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("webhook_url", "must be an http(s) URL")
    return value


class DomainRoutes:
    def __init__(self, db: Database, box: SecretBox, domains: DomainService, on_event: Callable[[], None]) -> None:
        self.db = db
        self.box = box
        self.domains = domains
        self.on_event = on_event

    async def set_route(self, principal: Principal | None, name: object, body: Mapping[str, Any]) -> DomainView:
        unknown = sorted(set(body) - _FIELDS)
        if unknown:
            raise invalid(unknown[0], "is not a recognised field")
        user_id = acting_user(principal, body.get("user_id"))
        mode = body.get("forward_mode")
        if mode not in FORWARD_MODES:
            raise invalid("forward_mode", f"must be one of {', '.join(FORWARD_MODES)}")
        url = secret = None
        if mode == "webhook_then_store":
            url = _webhook_url(body.get("webhook_url"))
            secret = body.get("webhook_secret")
            if secret is not None and (not isinstance(secret, str) or not 1 <= len(secret) <= 512):
                raise invalid("webhook_secret", "must be a string of 1 to 512 characters")
        row = await self.domains.get_for_mailboxes(principal, name, user_id)
        async with self.db.transaction() as session:
            record = await session.get(HostedDomainRecord, row.id)
            if record is None:
                raise invalid("domain", "no longer exists")
            record.forward_mode = mode
            record.webhook_url = url
            record.webhook_secret = self.box.encrypt_optional(secret)
            record.updated_at = utcnow()
        return await self.domains.info(principal, name, user_id)

    async def route(self, domain: str) -> Route | None:
        """The dispatcher's view: where a domain's events go (None: the route no longer posts)."""
        row = await self.db.read_one(select(HostedDomainRecord.forward_mode, HostedDomainRecord.webhook_url,
                                            HostedDomainRecord.webhook_secret)
                                     .where(HostedDomainRecord.name == domain))
        if row is None or row.forward_mode != "webhook_then_store" or not row.webhook_url:
            return None
        return Route(row.webhook_url, self.box.decrypt_optional(row.webhook_secret))

    async def receive(self, recipients: list[str], mail_from: str, content: bytes) -> None:
        """A webhook copy arrived from Postfix: one messageReceived event per routed domain."""
        ids = []
        for recipient in recipients:
            local, _, host = recipient.lower().rpartition("@")
            if host == HOOK_DOMAIN and local.startswith("domain-") and local[7:].isdigit():
                ids.append(int(local[7:]))
        if not ids:
            return
        rows = await self.db.read(select(HostedDomainRecord.name, HostedDomainRecord.forward_mode)
                                  .where(HostedDomainRecord.id.in_(ids)))
        message = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(content)
        data: dict[str, Any] = {name: str(message[name]) for name in _HEADERS if message[name] is not None}
        data.update({"envelopeFrom": mail_from, "size": len(content),
                     "raw": base64.b64encode(content).decode("ascii")})
        async with self.db.transaction() as session:
            for row in rows:
                if row.forward_mode == "webhook_then_store":
                    await write_events(session, f"{ROUTE_PREFIX}{row.name}",
                                       [NewEvent(EventType.MESSAGE_RECEIVED, {"domain": row.name, **data})],
                                       count=False)
        self.on_event()
