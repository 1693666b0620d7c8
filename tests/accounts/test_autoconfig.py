"""Settings autodetection against the loopback dnsmasq: built-in table, SRV, MX, guess."""

from __future__ import annotations

import socket
import time

import pytest

from mailyard.accounts.autoconfig import DetectedSettings, Endpoint, detect
from mailyard.engine.net import make_resolver
from tests.servers.dnsmasq import DnsServer

GMAIL = (Endpoint("imap.gmail.com", 993, True), Endpoint("smtp.gmail.com", 465, True))


async def _detect(dns: DnsServer, email: str) -> DetectedSettings:
    return await detect(email, make_resolver(dns.resolver_address))


async def test_well_known_providers_come_from_the_table_whatever_the_case(dns_records: DnsServer) -> None:
    assert await _detect(dns_records, "John@GMail.com") == DetectedSettings(*GMAIL, "builtin")
    assert await _detect(dns_records, "x@hotmail.com") == DetectedSettings(
        Endpoint("outlook.office365.com", 993, True), Endpoint("smtp.office365.com", 587, False), "builtin")


async def test_the_table_wins_over_dns(dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_srv("_imaps._tcp.gmail.com", "elsewhere.test", 993)
        dns_records.set_mx("gmail.com", "mx.elsewhere.test", 10)
    assert await _detect(dns_records, "a@gmail.com") == DetectedSettings(*GMAIL, "builtin")


async def test_srv_records_with_implicit_tls_win(dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_srv("_imaps._tcp.corp.test", "imap.corp.test", 993)
        dns_records.set_srv("_imap._tcp.corp.test", "plain.corp.test", 143)
        dns_records.set_srv("_submissions._tcp.corp.test", "smtp.corp.test", 465)
        dns_records.set_srv("_submission._tcp.corp.test", "plain.corp.test", 587)
        dns_records.set_mx("corp.test", "mx.corp.test", 10)
    found = await _detect(dns_records, "a@corp.test")
    assert found == DetectedSettings(Endpoint("imap.corp.test", 993, True), Endpoint("smtp.corp.test", 465, True),
                                     "srv")


async def test_srv_starttls_services_when_no_tls_ones(dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_srv("_imap._tcp.corp.test", "mail.corp.test", 143)
        dns_records.set_srv("_submission._tcp.corp.test", "mail.corp.test", 587)
    found = await _detect(dns_records, "a@corp.test")
    assert found == DetectedSettings(Endpoint("mail.corp.test", 143, False), Endpoint("mail.corp.test", 587, False),
                                     "srv")


async def test_srv_lowest_priority_then_highest_weight(dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_srv("_imaps._tcp.corp.test", "backup.corp.test", 993, priority=20, weight=100)
        dns_records.set_srv("_imaps._tcp.corp.test", "light.corp.test", 993, priority=10, weight=1)
        dns_records.set_srv("_imaps._tcp.corp.test", "heavy.corp.test", 1993, priority=10, weight=50)
        dns_records.set_srv("_submissions._tcp.corp.test", "smtp.corp.test", 465)
    assert (await _detect(dns_records, "a@corp.test")).imap == Endpoint("heavy.corp.test", 1993, True)


async def test_srv_target_dot_is_skipped_as_not_offered(dns_records: DnsServer) -> None:
    with dns_records.batch():
        # "." at the best priority: that record says "not here"; the next one still counts.
        dns_records.set_srv("_imaps._tcp.corp.test", ".", 0, priority=0)
        dns_records.set_srv("_imaps._tcp.corp.test", "imap.corp.test", 993, priority=10)
        # Implicit-TLS submission not offered at all: the STARTTLS one is used.
        dns_records.set_srv("_submissions._tcp.corp.test", ".", 0)
        dns_records.set_srv("_submission._tcp.corp.test", "smtp.corp.test", 587)
    found = await _detect(dns_records, "a@corp.test")
    assert found == DetectedSettings(Endpoint("imap.corp.test", 993, True), Endpoint("smtp.corp.test", 587, False),
                                     "srv")


async def test_one_srv_service_is_completed_from_the_mx(dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_srv("_imaps._tcp.corp.test", "imap.corp.test", 993)
        dns_records.set_mx("corp.test", "mx.corp.test", 10)
    found = await _detect(dns_records, "a@corp.test")
    assert found == DetectedSettings(Endpoint("imap.corp.test", 993, True), Endpoint("mx.corp.test", 587, False),
                                     "srv")


async def test_one_srv_service_is_completed_by_the_guess_without_mx(dns_records: DnsServer) -> None:
    dns_records.set_srv("_submissions._tcp.corp.test", "out.corp.test", 465)
    found = await _detect(dns_records, "a@corp.test")
    assert found == DetectedSettings(Endpoint("imap.corp.test", 993, True), Endpoint("out.corp.test", 465, True),
                                     "srv")


async def test_mx_at_google_gives_gmail_settings(dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_mx("startup.test", "aspmx.l.google.com", 1)
        dns_records.set_mx("startup.test", "alt1.aspmx.l.google.com", 5)
    assert await _detect(dns_records, "ceo@startup.test") == DetectedSettings(*GMAIL, "mx")


async def test_mx_at_microsoft_365_gives_office365_settings(dns_records: DnsServer) -> None:
    dns_records.set_mx("firm.test", "firm-test.mail.protection.outlook.com", 0)
    assert await _detect(dns_records, "a@firm.test") == DetectedSettings(
        Endpoint("outlook.office365.com", 993, True), Endpoint("smtp.office365.com", 587, False), "mx")


async def test_mx_of_its_own_serves_imap_and_submission(dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_mx("corp.test", "mx2.corp.test", 20)
        dns_records.set_mx("corp.test", "MX1.corp.test", 10)
    found = await _detect(dns_records, "a@corp.test")
    assert found == DetectedSettings(Endpoint("mx1.corp.test", 993, True), Endpoint("mx1.corp.test", 587, False),
                                     "mx")


async def test_a_host_merely_named_like_a_provider_is_not_one(dns_records: DnsServer) -> None:
    dns_records.set_mx("corp.test", "mx.notgoogle.com", 10)
    assert (await _detect(dns_records, "a@corp.test")).imap == Endpoint("mx.notgoogle.com", 993, True)


async def test_international_domains_are_looked_up_in_their_ascii_form(dns_records: DnsServer) -> None:
    dns_records.set_mx("xn--bcher-kva.test", "mx.xn--bcher-kva.test", 10)
    found = await _detect(dns_records, "leser@Bücher.test")
    assert (found.imap.host, found.source) == ("mx.xn--bcher-kva.test", "mx")


async def test_nothing_in_dns_gives_the_usual_guess(dns_records: DnsServer) -> None:
    found = await _detect(dns_records, "a@Nothing.Test")
    assert found == DetectedSettings(Endpoint("imap.nothing.test", 993, True),
                                     Endpoint("smtp.nothing.test", 587, False), "guess")


async def test_an_unreachable_dns_server_gives_the_guess_instead_of_an_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        silent = f"127.0.0.1:{probe.getsockname()[1]}"
    resolver = make_resolver(silent)
    resolver.lifetime = 1.0
    started = time.monotonic()
    found = await detect("a@corp.test", resolver)
    assert found.source == "guess"
    assert time.monotonic() - started < 4.0, "the lookups should run side by side, not one after another"


@pytest.mark.parametrize("email", ["", "no-at-sign", "@corp.test", "a@", "a@.", "a@bad domain", "a@corp..test",
                                   "a@exa$mple.test", "a @corp.test"])
async def test_malformed_addresses_are_refused(dns_records: DnsServer, email: str) -> None:
    with pytest.raises(ValueError, match=r"^email"):
        await _detect(dns_records, email)
