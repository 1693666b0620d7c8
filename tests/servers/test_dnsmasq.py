"""End-to-end checks of the dnsmasq fixture, resolved with dnspython exactly as the app would."""

from __future__ import annotations

import base64

import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.resolver
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .dnsmasq import DnsServer


def _resolver(server: DnsServer) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [server.host]
    resolver.port = server.port
    resolver.lifetime = 3
    return resolver


def _dkim_value() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def test_resolver_address_names_the_loopback_port(dns_records: DnsServer) -> None:
    assert dns_records.resolver_address == f"127.0.0.1:{dns_records.port}"


def test_txt_record_resolves(dns_records: DnsServer) -> None:
    dns_records.set_txt("_mailyard.example.test", "mailyard-verification=abc123")
    [answer] = _resolver(dns_records).resolve("_mailyard.example.test", "TXT")
    assert answer.strings == (b"mailyard-verification=abc123",)


def test_long_dkim_txt_record_is_split_and_reassembled(dns_records: DnsServer) -> None:
    value = _dkim_value()
    dns_records.set_txt("mail._domainkey.example.test", value)
    [answer] = _resolver(dns_records).resolve("mail._domainkey.example.test", "TXT")
    assert all(len(part) <= 255 for part in answer.strings)
    assert b"".join(answer.strings).decode() == value


def test_several_txt_records_with_awkward_characters(dns_records: DnsServer) -> None:
    dns_records.set_txt("example.test", "v=spf1 include:_spf.example.test ~all")
    dns_records.add_txt("example.test", 'quote " backslash \\ comma , hash # semicolon ;')
    answers = _resolver(dns_records).resolve("example.test", "TXT")
    assert sorted(b"".join(a.strings).decode() for a in answers) == [
        'quote " backslash \\ comma , hash # semicolon ;',
        "v=spf1 include:_spf.example.test ~all",
    ]


def test_mx_records_resolve_with_preferences(dns_records: DnsServer) -> None:
    dns_records.set_mx("example.test", "mx1.example.test", 10)
    dns_records.set_mx("example.test", "mx2.example.test", 20)
    answers = _resolver(dns_records).resolve("example.test", "MX")
    assert sorted((a.preference, a.exchange.to_text()) for a in answers) == [
        (10, "mx1.example.test."),
        (20, "mx2.example.test."),
    ]


def test_a_record_resolves(dns_records: DnsServer) -> None:
    dns_records.set_a("mx1.example.test", "192.0.2.10")
    assert [a.to_text() for a in _resolver(dns_records).resolve("mx1.example.test", "A")] == ["192.0.2.10"]


def test_srv_record_resolves(dns_records: DnsServer) -> None:
    dns_records.set_srv("_imaps._tcp.example.test", "imap.example.test", 993, priority=0, weight=1)
    [answer] = _resolver(dns_records).resolve("_imaps._tcp.example.test", "SRV")
    assert (answer.priority, answer.weight, answer.port, answer.target.to_text()) == (
        0,
        1,
        993,
        "imap.example.test.",
    )


def test_srv_target_dot_says_the_service_is_not_offered(dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_srv("_submissions._tcp.example.test", ".", 0)
        dns_records.set_srv("_imaps._tcp.example.test", ".", 0, priority=0)
        dns_records.set_srv("_imaps._tcp.example.test", "imap.example.test", 993, priority=10, weight=5)
    resolver = _resolver(dns_records)
    [none] = resolver.resolve("_submissions._tcp.example.test", "SRV")
    assert (none.target, none.port) == (dns.name.root, 0)
    answers = sorted((r.priority, r.weight, r.port, r.target.to_text()) for r in resolver.resolve(
        "_imaps._tcp.example.test", "SRV"))
    assert answers == [(0, 0, 0, "."), (10, 5, 993, "imap.example.test.")]


def test_a_change_takes_effect_immediately(dns_records: DnsServer) -> None:
    resolver = _resolver(dns_records)
    dns_records.set_a("app.example.test", "192.0.2.1")
    assert resolver.resolve("app.example.test", "A")[0].to_text() == "192.0.2.1"
    dns_records.set_a("app.example.test", "192.0.2.2")
    assert resolver.resolve("app.example.test", "A")[0].to_text() == "192.0.2.2"
    dns_records.remove("app.example.test")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("app.example.test", "A")


def test_batch_applies_all_changes_together(dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_mx("batch.test", "mx.batch.test", 5)
        dns_records.set_a("mx.batch.test", "192.0.2.5")
    resolver = _resolver(dns_records)
    assert resolver.resolve("batch.test", "MX")[0].exchange.to_text() == "mx.batch.test."
    assert resolver.resolve("mx.batch.test", "A")[0].to_text() == "192.0.2.5"


def test_unknown_names_are_authoritative_nxdomain(dns_records: DnsServer) -> None:
    with pytest.raises(dns.resolver.NXDOMAIN):
        _resolver(dns_records).resolve("missing.example.test", "TXT")


def test_records_are_served_over_tcp_too(dns_records: DnsServer) -> None:
    dns_records.set_txt("tcp.example.test", "over tcp")
    query = dns.message.make_query("tcp.example.test", dns.rdatatype.TXT)
    response = dns.query.tcp(query, dns_records.host, port=dns_records.port, timeout=3)
    assert response.answer[0][0].strings == (b"over tcp",)
