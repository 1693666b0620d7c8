"""Webhook signatures, as EmailEngine makes them.

When a `serviceSecret` is set, every webhook POST carries the header

    X-EE-Wh-Signature: base64url(HMAC-SHA256(key = serviceSecret as UTF-8, message = the raw request body))

base64url without `=` padding (Node's `digest('base64url')`). A receiver recomputes it over the exact bytes it
received, before parsing the JSON, and compares in constant time; in Node:
`crypto.createHmac('sha256', secret).update(rawBody).digest('base64url')`, in Python `verify()` below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-EE-Wh-Signature"


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    """True when `signature` (the header's value; padding tolerated) signs `body` with `secret`."""
    if not signature:
        return False
    expected = sign(body, secret).encode("ascii")
    given = signature.strip().rstrip("=").encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)
