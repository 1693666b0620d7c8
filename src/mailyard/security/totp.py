"""Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps) for mailbox logins.

`verify` accepts codes from neighbouring steps to absorb clock drift; refusing a code that was already used in
its window (replay) is the caller's job, as only the caller stores state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import time
from urllib.parse import quote, urlencode

DIGITS = 6
STEP_SECONDS = 30
SECRET_BYTES = 20  # 160 bits, the shared-secret length RFC 4226 recommends

_CODE = re.compile(r"^[0-9]{6}$")


def new_secret() -> str:
    """A random 160-bit secret as unpadded upper-case base32 (32 characters), as authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _normalize(secret: str) -> str:
    # People copy secrets with spaces, in lower case or without padding; they are the same secret.
    return "".join(secret.split()).upper().rstrip("=")


def _key(secret: str) -> bytes:
    if not isinstance(secret, str):
        raise TypeError("secret must be a base32 string")
    text = _normalize(secret)
    try:
        key = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise ValueError("secret is not valid base32") from None
    if not key:
        raise ValueError("secret is empty")
    return key


def _code(key: bytes, counter: int) -> str:
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def code_at(secret: str, when: float) -> str:
    """The 6-digit code for `secret` at Unix time `when`. Raises ValueError for a bad secret or a negative time."""
    if when < 0:
        raise ValueError("time must not be before the Unix epoch")
    return _code(_key(secret), int(when // STEP_SECONDS))


def verify(secret: str, code: object, *, when: float | None = None, window: int = 1) -> bool:
    """Whether `code` is the code of `secret` at `when` (default now) or up to `window` steps before or after.

    Anything but a string of exactly six ASCII digits is refused. Every candidate step is compared, in constant
    time, so the answer's timing does not reveal which step matched. Raises ValueError for a bad secret.
    """
    if window < 0:
        raise ValueError("window must not be negative")
    key = _key(secret)
    if not isinstance(code, str) or not _CODE.match(code):
        return False
    now = time.time() if when is None else when
    current = int(now // STEP_SECONDS)
    matched = False
    for counter in range(max(current - window, 0), current + window + 1):
        matched |= hmac.compare_digest(_code(key, counter), code)
    return matched


def otpauth_uri(secret: str, account_name: str, issuer: str = "Mailyard") -> str:
    """The `otpauth://totp/...` URI that authenticator apps read from a QR code."""
    # The label is "issuer:account"; a colon inside either part would make the split ambiguous for the app.
    if ":" in issuer or ":" in account_name:
        raise ValueError("issuer and account name must not contain ':'")
    _key(secret)
    label = f"{quote(issuer, safe='')}:{quote(account_name, safe='')}"
    query = urlencode(
        {"secret": _normalize(secret), "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS,
         "period": STEP_SECONDS},
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"
