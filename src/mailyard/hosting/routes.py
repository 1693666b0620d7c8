"""Message routes of hosted domains: `store` (the default), or `webhook_then_store`, where every message
the domain receives is also POSTed to the domain's own webhook, signed with its secret.

Postfix adds a copy addressed to the domain's copy address, `domain-<id>-<token>@hooks.mailyard.invalid`
(recipient_bcc_maps; the token is an HMAC only Mailyard can compute, see mailserver/hook_addresses.py), and
hands it to Mailyard's LMTP hook receiver, which writes a `messageReceived` event to the outbox; the webhook
dispatcher delivers it with the usual retries. The original is stored by Dovecot as always, and if Mailyard
is down Postfix keeps the copy queued until it is back. A copy whose token does not verify is dropped.

`PUT /route` rules: `webhook_then_store` needs a valid `webhook_url` and a secret, given now or stored before:
leaving `webhook_secret` out keeps the stored one (it is write-only, so clients cannot send it back), and an
explicit null is refused in that mode. Switching to `store` forgets the URL and the secret.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import ipaddress
import logging
import re
from collections.abc import Callable, Mapping
from email.message import Message
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
from mailyard.mailserver.hook_addresses import hook_token, verified_domain_id
from mailyard.security.secretbox import SecretBox
from mailyard.security.tokens import Principal
from mailyard.store.base import utcnow
from mailyard.store.db import Database

log = logging.getLogger(__name__)
FORWARD_MODES = ("store", "webhook_then_store")
MAX_URL_LENGTH = 2048
MAX_SECRET_LENGTH = 512
_FIELDS = frozenset({"user_id", "forward_mode", "webhook_url", "webhook_secret"})
_HEADERS = ("from", "to", "cc", "subject", "date", "message-id")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _unprintable(text: str) -> bool:
    return any(c.isspace() or ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text)


def _valid_host(parts: Any) -> bool:
    host = parts.hostname
    if not host or "%" in host:  # no IPv6 zone ids: they name an interface of this machine
        return False
    bracketed = "[" in parts.netloc
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return bracketed == (address.version == 6)
    if bracketed:
        return False
    try:
        name = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = name.split(".")
    # All-numeric names that are no IP address ("1.2.3", "999.1.1.1") would be read as IPv4 by some clients.
    if labels[-1].isdigit():
        return False
    return len(name) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def webhook_url(value: object) -> str:
    """A webhook URL: http(s), a valid host, a port in 1-65535, no credentials, whitespace or controls."""
    if not isinstance(value, str) or not value:
        raise invalid("webhook_url", "is required with forward_mode webhook_then_store")
    if len(value) > MAX_URL_LENGTH:
        raise invalid("webhook_url", f"must be at most {MAX_URL_LENGTH} characters")
    if _unprintable(value):
        raise invalid("webhook_url", "must not contain whitespace or control characters")
    try:
        parts = urlsplit(value)  # raises for an unbalanced IPv6 bracket
    except ValueError:
        raise invalid("webhook_url", "is not a valid URL") from None
    try:
        port = parts.port  # raises for a port that is not a number in 0-65535
    except ValueError:
        raise invalid("webhook_url", "must have a port between 1 and 65535") from None
    if parts.scheme not in ("http", "https"):
        raise invalid("webhook_url", "must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        # The URL is shown back in responses; credentials belong in webhook_secret, which is write-only.
        raise invalid("webhook_url", "must not contain credentials")
    if not _valid_host(parts):
        raise invalid("webhook_url", "must name a valid host name or IP address")
    if port == 0:
        raise invalid("webhook_url", "must have a port between 1 and 65535")
    return value


def _secret(value: object) -> str:
    if value is None:
        raise invalid("webhook_secret", "is required with forward_mode webhook_then_store "
                                        "(leave it out to keep the stored one)")
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_SECRET_LENGTH:
        raise invalid("webhook_secret", f"must be a string of 1 to {MAX_SECRET_LENGTH} characters")
    return value


def _text(value: str) -> str:
    # Undecodable 8-bit bytes come back from the parser as surrogates, which JSON cannot carry.
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def header_fields(content: bytes) -> dict[str, str]:
    """The summary headers of a copy (the first of each), decoded; a header the parser cannot read is given
    as its raw, unfolded text rather than failing the copy, which Postfix would retry forever."""
    # compat32 only splits the header block; each value is then parsed on its own, under a guard.
    message: Message = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(content)
    found: dict[str, str] = {}
    for name in _HEADERS:
        raw = message.get(name)
        if raw is None:
            continue
        raw = _FOLD.sub("", str(raw))
        try:
            value = str(email.policy.default.header_factory(name, raw))
        except Exception:  # the parser's own bugs (IndexError on "<") as much as its errors
            value = raw.strip()
        found[name] = _text(value)
    return found


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
            url = webhook_url(body.get("webhook_url"))
            if "webhook_secret" in body:
                secret = _secret(body["webhook_secret"])
        else:
            for field in ("webhook_url", "webhook_secret"):
                if body.get(field) is not None:
                    raise invalid(field, "is only used with forward_mode webhook_then_store")
        row = await self.domains.get_for_mailboxes(principal, name, user_id)
        async with self.db.transaction() as session:
            record = await session.get(HostedDomainRecord, row.id, with_for_update=True)
            if record is None:
                raise invalid("domain", "no longer exists")
            if mode == "webhook_then_store":
                if secret is not None:
                    record.webhook_secret = self.box.encrypt(secret)
                elif record.webhook_secret is None:
                    raise invalid("webhook_secret", "is required with forward_mode webhook_then_store")
                record.hook_token = hook_token(self.box, record.id)
            else:
                record.webhook_secret = record.hook_token = None
            record.forward_mode = mode
            record.webhook_url = url
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
        """A webhook copy arrived from Postfix: one messageReceived event per routed domain whose copy
        address (token included) verifies."""
        ids: set[int] = set()
        for recipient in recipients:
            domain_id = verified_domain_id(self.box, recipient)
            if domain_id is None:
                log.warning("dropped a webhook copy to an address whose token does not verify")
            else:
                ids.add(domain_id)
        if not ids:
            return
        rows = await self.db.read(select(HostedDomainRecord.name, HostedDomainRecord.forward_mode)
                                  .where(HostedDomainRecord.id.in_(sorted(ids))))
        data: dict[str, Any] = dict(header_fields(content))
        data.update({"envelopeFrom": _text(mail_from), "size": len(content),
                     "raw": base64.b64encode(content).decode("ascii")})
        async with self.db.transaction() as session:
            for row in rows:
                if row.forward_mode == "webhook_then_store":
                    await write_events(session, f"{ROUTE_PREFIX}{row.name}",
                                       [NewEvent(EventType.MESSAGE_RECEIVED, {"domain": row.name, **data})],
                                       count=False)
        self.on_event()
