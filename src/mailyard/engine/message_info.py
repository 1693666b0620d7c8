"""What a `messageNew` event says about a message: parsed from the headers IMAP hands over. Pure."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from mailyard.timefmt import iso

HEADER_FIELDS = "FROM TO CC REPLY-TO SUBJECT DATE MESSAGE-ID IN-REPLY-TO"
FETCH_ITEMS = f"UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})]"
_PARSER = BytesHeaderParser(policy=policy.default)


def message_id(path: str, uidvalidity: int, uid: int) -> str:
    """A stable id for a message: which folder, which UIDVALIDITY epoch, which UID."""
    raw = f"{uidvalidity}:{uid}:{path}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _addresses(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    try:
        found = [(a.display_name, a.addr_spec) for a in getattr(value, "addresses", ()) if isinstance(a, Address)]
    except Exception:  # malformed headers are common in the wild; fall back to the raw parser
        found = getaddresses([str(value)])
    return [{"name": name, "address": address} if name else {"address": address} for name, address in found if address]


def internal_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None




def describe(headers: bytes | None, *, uid: int, path: str, uidvalidity: int, flags: list[str], size: int | None,
             internaldate: str | None) -> dict[str, Any]:
    """The event data of a new message."""
    parsed = _PARSER.parsebytes(headers or b"")
    arrived = internal_date(internaldate)
    sent: datetime | None = None
    if parsed.get("Date"):
        try:
            sent = parsedate_to_datetime(str(parsed["Date"]))
            if sent.tzinfo is None:
                sent = sent.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError):
            sent = None
    when = sent or arrived
    data: dict[str, Any] = {
        "id": message_id(path, uidvalidity, uid),
        "uid": uid,
        "path": path,
        "date": iso(when) if when else None,
        "flags": flags,
        "unseen": "\\Seen" not in flags,
        "flagged": "\\Flagged" in flags,
        "size": size,
        "subject": str(parsed["Subject"]) if parsed.get("Subject") is not None else None,
        "messageId": str(parsed["Message-ID"]).strip() if parsed.get("Message-ID") else None,
        "inReplyTo": str(parsed["In-Reply-To"]).strip() if parsed.get("In-Reply-To") else None,
    }
    senders = _addresses(parsed.get("From"))
    data["from"] = senders[0] if senders else None
    for key, header in (("to", "To"), ("cc", "Cc"), ("replyTo", "Reply-To")):
        addresses = _addresses(parsed.get(header))
        if addresses or key == "to":
            data[key] = addresses
    return data
