"""The DNS records shown to a customer for a new domain, and the verification token's strength."""

from __future__ import annotations

import base64
import re

from mailyard.hosting.dns_records import DnsRecord, new_verification_token, records_for

PUBLIC = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAexample"


def _records(domain: str = "example.test", mail_host: str = "mx.mailyard.test") -> list[DnsRecord]:
    return records_for(domain, mail_host=mail_host, verification_token="tok-123", dkim_selector="mailyard",
                       dkim_public_b64=PUBLIC)


def test_records_for_a_domain_in_display_order() -> None:
    assert _records() == [
        DnsRecord("mx", "MX", "example.test", "mx.mailyard.test", priority=10, required=True),
        DnsRecord("spf", "TXT", "example.test", "v=spf1 mx a:mx.mailyard.test ~all"),
        DnsRecord("dmarc", "TXT", "_dmarc.example.test", "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test"),
        DnsRecord("dkim", "TXT", "mailyard._domainkey.example.test", f"v=DKIM1; k=rsa; p={PUBLIC}"),
        DnsRecord("verification", "TXT", "_mailyard-verification.example.test", "mailyard-verification=tok-123",
                  required=True),
    ]


def test_only_mx_and_verification_are_required() -> None:
    assert [(r.kind, r.required) for r in _records()] == [
        ("mx", True), ("spf", False), ("dmarc", False), ("dkim", False), ("verification", True),
    ]


def test_names_and_values_are_lower_case_without_trailing_dots() -> None:
    records = _records(domain="Example.TEST.", mail_host="MX.Mailyard.test.")
    assert [r.name for r in records] == [
        "example.test", "example.test", "_dmarc.example.test", "mailyard._domainkey.example.test",
        "_mailyard-verification.example.test",
    ]
    assert records[0].value == "mx.mailyard.test"
    assert records[1].value == "v=spf1 mx a:mx.mailyard.test ~all"
    assert records == _records()


def test_to_json_omits_priority_when_there_is_none() -> None:
    mx, spf, *_ = _records()
    assert mx.to_json() == {"kind": "mx", "type": "MX", "name": "example.test", "value": "mx.mailyard.test",
                            "priority": 10, "required": True}
    assert spf.to_json() == {"kind": "spf", "type": "TXT", "name": "example.test",
                             "value": "v=spf1 mx a:mx.mailyard.test ~all", "required": False}


def test_verification_token_is_url_safe_with_at_least_128_bits() -> None:
    token = new_verification_token()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    assert len(token) <= 64  # fits the stored column and a DNS character-string comfortably


def test_verification_tokens_do_not_repeat() -> None:
    tokens = {new_verification_token() for _ in range(1000)}
    assert len(tokens) == 1000
