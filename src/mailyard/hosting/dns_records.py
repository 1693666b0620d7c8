"""The DNS records a customer publishes for a hosted domain, and the token proving they control it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from mailyard.hosting.dkim import dkim_txt_value

MX_PRIORITY = 10
VERIFICATION_LABEL = "_mailyard-verification"
VERIFICATION_PREFIX = "mailyard-verification="
_TOKEN_BYTES = 32  # 256 bits: far past guessing, and still a short copy-paste (43 characters)


@dataclass(frozen=True)
class DnsRecord:
    """One record to publish; `required` ones must be found before the domain can become active."""

    kind: str  # "mx" | "spf" | "dmarc" | "dkim" | "verification"
    type: str  # "MX" | "TXT"
    name: str
    value: str
    priority: int | None = None
    required: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "type": self.type, "name": self.name, "value": self.value}
        if self.priority is not None:
            data["priority"] = self.priority
        data["required"] = self.required
        return data


def normalize_name(name: str) -> str:
    """A host or domain name as records carry it: lower-case, without the root's trailing dot."""
    return name.strip().rstrip(".").lower()


def new_verification_token() -> str:
    """A fresh URL-safe token for the verification TXT record."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def verification_value(token: str) -> str:
    return f"{VERIFICATION_PREFIX}{token}"


def records_for(
    domain: str, *, mail_host: str, verification_token: str, dkim_selector: str, dkim_public_b64: str
) -> list[DnsRecord]:
    """The records for `domain`, in the order shown to the customer: MX, SPF, DMARC, DKIM, verification."""
    domain = normalize_name(domain)
    mail_host = normalize_name(mail_host)
    return [
        # Our host as the domain's only exchanger. 10 rather than 0 leaves room for the customer to add a
        # preferred or backup MX later without renumbering ours.
        DnsRecord("mx", "MX", domain, mail_host, priority=MX_PRIORITY, required=True),
        # `mx` authorises whatever the MX points at; `a:<mail_host>` also authorises our host by name, so
        # outbound mail passes while the MX still points elsewhere (migration) or at a filtering service.
        # `~all` instead of `-all`: some receivers reject a hard SPF fail at SMTP time, before DMARC can
        # see a valid DKIM signature (RFC 7489 §10.1), which breaks forwarded mail and senders the customer
        # has not listed yet; the DMARC policy below enforces alignment instead.
        DnsRecord("spf", "TXT", domain, f"v=spf1 mx a:{mail_host} ~all"),
        # Quarantine, not reject: a forgotten legitimate sender lands in spam instead of bouncing, while
        # spoofed mail still stays out of inboxes. Aggregate reports go to postmaster@, a mailbox every
        # domain must accept (RFC 5321 §4.5.1); being the same domain, no external-authorisation record
        # is needed (RFC 7489 §7.1).
        DnsRecord("dmarc", "TXT", f"_dmarc.{domain}", f"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}"),
        # The ~410-byte value exceeds one 255-byte TXT string; DNS providers split it, and resolvers and
        # verifiers join the strings again.
        DnsRecord("dkim", "TXT", f"{normalize_name(dkim_selector)}._domainkey.{domain}",
                  dkim_txt_value(dkim_public_b64)),
        # Under its own underscore label so it never mixes with the customer's other apex TXT records, and
        # so removing it later touches nothing else.
        DnsRecord("verification", "TXT", f"{VERIFICATION_LABEL}.{domain}", verification_value(verification_token),
                  required=True),
    ]
