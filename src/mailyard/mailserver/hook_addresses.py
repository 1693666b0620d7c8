"""The addresses Postfix sends webhook copies to: `domain-<id>-<token>@hooks.mailyard.invalid`.

The token is an HMAC of the domain id under a subkey of Mailyard's secret, so only Mailyard can name a
domain's copy address: anyone who could reach the copy receiver some other way (a hosted mailbox submitting
to the hooks domain, an alias or a forward pointing there, all refused as well) still cannot make it post a
forged `messageReceived` to another tenant's webhook. Postfix cannot compute an HMAC in SQL, so the token is
stored in `hosted_domains.hook_token` when the route is set, and re-derived at start (mailserver/derived.py)
should the secret change; the receiver recomputes it and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from mailyard.security.secretbox import SecretBox

HOOK_DOMAIN = "hooks.mailyard.invalid"  # never a real domain (RFC 6761 reserves .invalid)
TOKEN_LENGTH = 32  # hex digits: 128 bits
_SUBKEY_PURPOSE = "webhook-copy-addresses"
_LOCAL = re.compile(rf"^domain-([1-9][0-9]{{0,18}})-([0-9a-f]{{{TOKEN_LENGTH}}})$")


def hook_token(box: SecretBox, domain_id: int) -> str:
    """The token of one domain's copy address."""
    digest = hmac.new(box.subkey(_SUBKEY_PURPOSE), f"domain:{domain_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:TOKEN_LENGTH]


def hook_address(box: SecretBox, domain_id: int) -> str:
    return f"domain-{domain_id}-{hook_token(box, domain_id)}@{HOOK_DOMAIN}"


def is_hook_domain(domain: str) -> bool:
    domain = domain.strip().rstrip(".").lower()
    return domain == HOOK_DOMAIN or domain.endswith("." + HOOK_DOMAIN)


def verified_domain_id(box: SecretBox, address: str) -> int | None:
    """The domain id a copy address names, or None when it is not one or its token is wrong."""
    local, _, domain = address.strip().lower().rpartition("@")
    if domain != HOOK_DOMAIN:
        return None
    match = _LOCAL.match(local)
    if match is None:
        return None
    domain_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), hook_token(box, domain_id)):
        return None
    return domain_id
