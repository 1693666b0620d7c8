"""DKIM signing of outgoing mail, and the milter handler deciding whether a submitted message may go out.

`OutgoingMail.handle` runs at the end of every message Postfix's submission service receives:

- unauthenticated mail is accepted untouched (it is not ours to sign or restrict), except what Dovecot hands
  to Postfix's loopback-only internal listener, where only a genuine vacation reply is signed (see
  `_sign_vacation_reply`); Sieve redirects and rejection notices leave unsigned;
- a mailbox with restrict_from_field may only use a header From it owns (its own address or an alias that
  delivers to it): anything else, and a From with no or several addresses, is refused with 550 5.7.1;
- mail whose From domain is an active hosted domain is signed with that domain's key, provided the sender
  is vouched for: it owns the From address, or its mailbox belongs to the same customer (`user_id`) as the
  domain. Signing for any hosted domain would let one customer's unrestricted mailbox pass DMARC as another
  customer's domain;
- everything else is accepted unsigned. Failures (store unreachable, undecryptable key) raise, and the
  milter tempfails the message rather than let it out unchecked.

Decrypted keys are cached for 60 s, so a busy server does not query the store for every message; a domain
suspended or re-keyed takes up to that long to be noticed.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import getaddresses

import dkim
from sqlalchemy import select

from mailyard.hosting.dns_records import normalize_name
from mailyard.hosting.records import HostedDomainRecord, HostedMailboxRecord
from mailyard.hosting.sender_ownership import owns_address
from mailyard.hosting.settings import settings_from_json
from mailyard.mailserver.milter import MilterMessage, MilterVerdict
from mailyard.mailserver.postfix_config import INTERNAL_DAEMON
from mailyard.security.secretbox import SecretBox
from mailyard.store.db import Database

logger = logging.getLogger(__name__)

# RFC 6376 §5.4.1's recommended set, those a reader sees or that change how the body is shown. Received,
# Return-Path and the like are left out: relays add them, and signing them would break the signature.
SIGNED_HEADERS = (
    "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc", "in-reply-to", "references",
    "mime-version", "content-type", "content-transfer-encoding",
)  # fmt: skip
KEY_CACHE_SECONDS = 60.0
_KEY_CACHE_LIMIT = 10_000
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def sign(message: bytes, *, domain: str, selector: str, private_pem: str) -> tuple[str, str]:
    """The (name, value) of a DKIM-Signature for `message` (relaxed/relaxed, rsa-sha256).

    Each header of SIGNED_HEADERS is signed once per occurrence, and From once more: a signed empty From
    instance makes any From added later (a second one, shown by some clients) break the signature. The value
    keeps dkimpy's CRLF folding.
    """
    headers, _ = dkim.rfc822_parse(message)
    present = [name.decode("ascii", "replace").lower() for name, _ in headers]
    include = [name for name in SIGNED_HEADERS for _ in range(present.count(name))] + ["from"]
    line = dkim.sign(
        message, selector.encode("ascii"), domain.encode("ascii"), private_pem.encode("ascii"),
        canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=b"rsa-sha256",
        include_headers=[name.encode("ascii") for name in include],
    ).decode("ascii")
    name, _, value = line.partition(":")
    return name, value.strip()


def header_from_address(headers: Iterable[tuple[str, str]]) -> str | None:
    """The single address of the header From, lower-cased; None when there is no From field, several
    fields, or a field holding no address, several addresses, or something parsers may read differently."""
    values = [value for name, value in headers if name.strip().lower() == "from"]
    if len(values) != 1:
        return None
    value = _FOLD.sub("", values[0])
    if "\r" in value or "\n" in value:
        return None
    parsed = getaddresses([value])
    if len(parsed) != 1:
        return None
    address = parsed[0][1]
    local, at, domain = address.rpartition("@")
    if not local or not at or not domain or any(c.isspace() or ord(c) < 32 for c in address):
        return None
    # getaddresses is lenient; if the standard library's stricter parser reads another address (as a
    # receiving client might), the header is ambiguous and not to be trusted either way.
    try:
        strict = email.policy.default.header_factory("From", value).addresses
    except Exception:  # malformed beyond what the parser reports as defects
        return None
    if len(strict) != 1 or strict[0].addr_spec.lower() != address.lower():
        return None
    return address.lower()


def _domain_of(address: str) -> str | None:
    """The IDNA form hosted domains are stored in; None for address literals and undecodable names."""
    domain = normalize_name(address.rpartition("@")[2])
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


@dataclass(frozen=True)
class _SigningKey:
    domain: str
    selector: str
    user_id: str
    private_pem: str = field(repr=False)


@dataclass(frozen=True)
class _Sender:
    user_id: str
    restricted: bool


class OutgoingMail:
    """The milter handler for submitted mail: From ownership and DKIM signing."""

    def __init__(self, db: Database, box: SecretBox, *, key_cache_seconds: float = KEY_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.box = box
        self.key_cache_seconds = key_cache_seconds
        self.clock = clock
        # domain -> (expires at, key or None); misses are cached too, most From domains repeat.
        self._keys: dict[str, tuple[float, _SigningKey | None]] = {}

    async def handle(self, message: MilterMessage) -> MilterVerdict:
        login = (message.auth_login or "").strip().lower()
        if not login:
            if message.macros.get("{daemon_name}") == INTERNAL_DAEMON:
                return await self._sign_vacation_reply(message)
            return MilterVerdict.accept()
        sender = await self._sender(login)
        restricted = sender is not None and sender.restricted
        address = header_from_address(message.headers)
        if address is None:
            if restricted:
                return MilterVerdict.reject("The header From must hold exactly one address")
            return MilterVerdict.accept()
        if restricted and not await owns_address(self.db, login, address):
            return MilterVerdict.reject(f"Sender address <{address}> is not owned by user <{login}>")
        domain = _domain_of(address)
        key = await self._key(domain) if domain else None
        if key is None:
            return MilterVerdict.accept()
        same_customer = sender is not None and sender.user_id == key.user_id
        if not (restricted or same_customer or await owns_address(self.db, login, address)):
            logger.info("milter: %s not signed: the sender is not vouched for", message.queue_id or "-")
            return MilterVerdict.accept()
        if message.body_truncated:
            logger.warning("milter: %s not signed: its body is over the milter's size limit",
                           message.queue_id or "-")
            return MilterVerdict.accept()
        return MilterVerdict.accept([await self._signature(message, key)])

    async def _sign_vacation_reply(self, message: MilterMessage) -> MilterVerdict:
        """Sign what Dovecot sends from the internal listener only when it is a vacation reply of a hosted mailbox.

        A redirect carries a message from anybody, its header From included: signing it because that From is a
        hosted mailbox would hand an outsider the domain's signature. So every one of these must hold:

        - the envelope sender is <>: Pigeonhole sends vacation replies so, while redirects carry the forwarding
          mailbox (`sieve_redirect_envelope_from = orig_recipient`), or <> only when the redirected mail had <>;
        - no Received header: a reply is written by Dovecot and never crossed an MTA, whereas anything redirected
          arrived through Postfix, which added one (the milter never sees the internal listener's own);
        - one Auto-Submitted header, "auto-replied" (RFC 3834, what Pigeonhole writes);
        - the header From is a mailbox with its autoresponder on, of the customer owning the signing domain.
        """
        if message.envelope_from.strip() or message.body_truncated:
            return MilterVerdict.accept()
        names = [name.strip().lower() for name, _ in message.headers]
        if "received" in names:
            return MilterVerdict.accept()
        auto = [value for name, value in message.headers if name.strip().lower() == "auto-submitted"]
        if len(auto) != 1 or auto[0].split(";")[0].split("(")[0].strip().lower() != "auto-replied":
            return MilterVerdict.accept()
        address = header_from_address(message.headers)
        domain = _domain_of(address) if address else None
        key = await self._key(domain) if domain else None
        if address is None or key is None:
            return MilterVerdict.accept()
        row = await self.db.read_one(select(HostedMailboxRecord.user_id, HostedMailboxRecord.settings)
                                     .where(HostedMailboxRecord.address == address))
        if row is None or row.user_id != key.user_id:
            return MilterVerdict.accept()
        if not settings_from_json(row.settings or {}).autoresponder_enabled:
            return MilterVerdict.accept()
        return MilterVerdict.accept([await self._signature(message, key)])

    @staticmethod
    async def _signature(message: MilterMessage, key: _SigningKey) -> tuple[str, str]:
        # RSA and body hashing are CPU work (milliseconds to seconds for large mail): off the event loop.
        return await asyncio.to_thread(sign, message.as_bytes(), domain=key.domain, selector=key.selector,
                                       private_pem=key.private_pem)

    async def _sender(self, login: str) -> _Sender | None:
        """The authenticated mailbox, or None when the login is not a hosted mailbox."""
        row = await self.db.read_one(
            select(HostedMailboxRecord.user_id, HostedMailboxRecord.settings)
            .where(HostedMailboxRecord.address == login)
        )
        if row is None:
            return None
        # A stored value that no longer validates raises, and the message is tempfailed: better than
        # silently dropping the restriction.
        return _Sender(row.user_id, settings_from_json(row.settings or {}).restrict_from_field)

    async def _key(self, domain: str) -> _SigningKey | None:
        now = self.clock()
        cached = self._keys.get(domain)
        if cached is not None and cached[0] > now:
            return cached[1]
        row = await self.db.read_one(
            select(HostedDomainRecord.status, HostedDomainRecord.user_id, HostedDomainRecord.dkim_selector,
                   HostedDomainRecord.dkim_private_key)
            .where(HostedDomainRecord.name == domain)
        )
        key = None
        if row is not None and row.status == "active":
            key = _SigningKey(domain, normalize_name(row.dkim_selector), row.user_id,
                              self.box.decrypt(row.dkim_private_key))
        if len(self._keys) >= _KEY_CACHE_LIMIT:
            self._keys = {name: entry for name, entry in self._keys.items() if entry[0] > now}
            if len(self._keys) >= _KEY_CACHE_LIMIT:
                self._keys.clear()
        self._keys[domain] = (now + self.key_cache_seconds, key)
        return key
