"""The sending rules of hosted mailboxes, decided for Postfix's policy service (see mailserver/policy.py).

Postfix asks from `smtpd_end_of_data_restrictions` of the submission service, once per message after its
data arrived (protocol_state END-OF-MESSAGE). The login rules are asked again there, so a mailbox whose
access was revoked cannot go on sending in a session opened before. Two mailbox settings apply too:

- `restrict_from_field`: the envelope sender must be an address the login owns (its own, or an alias that
  delivers to it); otherwise the message is rejected. The header From is the milter's business.
- `outbound_limit`: see `describe_limits()`. Each accepted message is counted once, however many recipients
  it has; the count and the check are one statement, so concurrent submissions never exceed the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import JSON, CursorResult, delete, text

from mailyard.hosting.login_rules import FROM_SQL, denial_case
from mailyard.hosting.records import OutboundCountRecord
from mailyard.hosting.sender_ownership import owns_address
from mailyard.hosting.settings import settings_from_json
from mailyard.store.base import utcnow
from mailyard.store.db import Database

SMTP_SERVICE = "'smtp'"  # an SQL literal: the service name Dovecot's passdb sees for Postfix's SASL logins
DUNNO = "DUNNO"  # no opinion: Postfix goes on with its other restrictions (none after this one: accept)
COUNTED_STATE = "END-OF-MESSAGE"
DEFAULT_LIMIT_SETTING = 0  # outbound_limit 0: the server's configured default applies

# One statement both counts and enforces: the row is created at 1 or raised by one only while below the
# limit, under the row's lock (PostgreSQL) or the single writer lock (SQLite). No row changed = limit reached.
_COUNT_MESSAGE = text(
    "INSERT INTO hosted_outbound_counts (address, day, count) VALUES (:address, :day, 1) "
    "ON CONFLICT (address, day) DO UPDATE SET count = hosted_outbound_counts.count + 1 "
    "WHERE hosted_outbound_counts.count < :limit"
)


def describe_limits(default_limit: int) -> str:
    """What a mailbox's outbound_limit means, for documentation and help texts."""
    return (
        "outbound_limit is the number of messages a mailbox may submit per UTC day (00:00 to 24:00 UTC). "
        "A message counts once, whatever its number of recipients, when its data has arrived and it passed the "
        "sender check (a message refused for its sender does not count; one refused later in the same "
        "transaction, by the milter say, still does). Once the limit is reached, further messages are deferred "
        f"(450 4.7.1) until the next UTC day. {DEFAULT_LIMIT_SETTING} means the server default "
        f"(outbound_default_limit, currently {default_limit})."
    )


class SendingPolicy:
    """`decide(attributes)` answers one Postfix policy request with an access(5) action."""

    def __init__(self, db: Database, *, default_limit: int, clock: Callable[[], datetime] = utcnow) -> None:
        if default_limit < 1:
            raise ValueError("default_limit must be at least 1")
        self.db = db
        self.default_limit = default_limit
        self.clock = clock  # injectable so tests can cross a UTC midnight
        # The login rules Dovecot applied at AUTH, asked again per message (Postfix's SASL service is "smtp").
        self._mailbox = text(
            f"SELECT m.address, m.settings, {denial_case(db.backend, SMTP_SERVICE)} AS denied "  # noqa: S608
            f"FROM {FROM_SQL} WHERE m.address = :address"
        ).columns(settings=JSON)

    async def decide(self, attributes: Mapping[str, str]) -> str:
        login = attributes.get("sasl_username", "").strip().lower()
        if not login:
            return DUNNO  # not an authenticated submission (relay from a local process, inbound mail)
        if attributes.get("protocol_state", "").upper() != COUNTED_STATE:
            return DUNNO  # counting at RCPT would count a message once per recipient
        row = await self.db.read_one(self._mailbox, {"address": login})
        if row is None:
            # Postfix's own SASL check passed, so this is a login Mailyard does not manage.
            return DUNNO
        address: str = row.address
        if row.denied:
            # The login was checked when the session began; access revoked since (mailbox or domain disabled,
            # smtp_disabled, password expired) stops the very next message of a session still open.
            return f"REJECT 5.7.1 Sending is not allowed for {address}: {row.denied}"
        # A stored value that no longer validates raises: the server defers rather than guess the rules.
        settings = settings_from_json(row.settings or {})
        sender = attributes.get("sender", "")
        if settings.restrict_from_field and not await owns_address(self.db, address, sender):
            # Postfix shows "554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: <text>". The sender is left out of
            # the text: it is the client's own input, of any length and bytes.
            return f"REJECT 5.7.1 Sender address is not owned by user {address}"
        limit = settings.outbound_limit or self.default_limit
        if not await self._count(address, limit):
            messages = "message" if limit == 1 else "messages"
            return f"DEFER 4.7.1 Daily sending limit of {limit} {messages} reached for {address}; try again tomorrow"
        return DUNNO

    async def _count(self, address: str, limit: int) -> bool:
        """Count one message for today (UTC); False, counting nothing, when `limit` was already reached."""
        day = self.clock().astimezone(UTC).date().isoformat()
        async with self.db.transaction() as session:
            result = await session.execute(_COUNT_MESSAGE, {"address": address, "day": day, "limit": limit})
        return cast(CursorResult[Any], result).rowcount == 1


async def prune_counts(db: Database, *, now: datetime | None = None) -> int:
    """Forget daily counts older than yesterday (only today's are ever consulted); returns how many."""
    cutoff = ((now or utcnow()).astimezone(UTC) - timedelta(days=1)).date().isoformat()
    async with db.transaction() as session:
        result = await session.execute(delete(OutboundCountRecord).where(OutboundCountRecord.day < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
