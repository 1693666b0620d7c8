"""Checking a hosted domain's records against a real DNS server (dnsmasq), and against servers that fail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import cast

import dns.message
import dns.rcode
import pytest

from mailyard.engine.net import make_resolver
from mailyard.hosting.dkim import DkimKey, dkim_txt_value, generate_dkim_key
from mailyard.hosting.dns_check import RecordCheck, all_required_found, check_records
from mailyard.hosting.dns_records import DnsRecord, records_for
from tests.servers.dnsmasq import DnsServer
from tests.servers.ports import LOOPBACK, free_port

DOMAIN = "example.test"
MAIL_HOST = "mx.mailyard.test"
TOKEN = "2mWq7cYvTqk0bM1nQ3dXh5r8uA9sF4gJ6eL0pZ1yK2w"
VERIFICATION = ("_mailyard-verification.example.test", f"mailyard-verification={TOKEN}")


@pytest.fixture(scope="module")
def key() -> DkimKey:
    return generate_dkim_key()


@pytest.fixture(scope="module")
def other_key() -> DkimKey:
    return generate_dkim_key()


def _records(key: DkimKey) -> list[DnsRecord]:
    return records_for(DOMAIN, mail_host=MAIL_HOST, verification_token=TOKEN, dkim_selector=key.selector,
                       dkim_public_b64=key.public_b64)


def _dkim_name(key: DkimKey) -> str:
    return f"{key.selector}._domainkey.{DOMAIN}"


async def _check(dns_records: DnsServer, key: DkimKey) -> dict[str, RecordCheck]:
    checks = await check_records(_records(key), make_resolver(dns_records.resolver_address))
    assert [check.record for check in checks] == _records(key)
    return {check.record.kind: check for check in checks}


async def test_nothing_published_leaves_every_record_missing(dns_records: DnsServer, key: DkimKey) -> None:
    checks = await _check(dns_records, key)
    assert {kind: check.status for kind, check in checks.items()} == dict.fromkeys(checks, "missing")
    assert all(check.found == [] for check in checks.values())
    assert checks["mx"].detail == "example.test does not exist in DNS"
    assert not all_required_found(checks.values())


async def test_mx_and_verification_published_are_enough(dns_records: DnsServer, key: DkimKey) -> None:
    with dns_records.batch():
        dns_records.set_mx(DOMAIN, MAIL_HOST, 10)
        dns_records.set_txt(*VERIFICATION)
    checks = await _check(dns_records, key)
    assert checks["mx"].status == "found" and checks["mx"].found == [MAIL_HOST]
    assert checks["verification"].status == "found"
    assert [checks[kind].status for kind in ("spf", "dmarc", "dkim")] == ["missing"] * 3
    assert all_required_found(checks.values())


async def test_every_record_published_as_shown_is_found(dns_records: DnsServer, key: DkimKey) -> None:
    with dns_records.batch():
        for record in _records(key):
            if record.type == "MX":
                dns_records.set_mx(record.name, record.value, record.priority or 10)
            else:
                dns_records.add_txt(record.name, record.value)
        dns_records.add_txt(DOMAIN, "google-site-verification=abc")  # unrelated apex TXT records are common
    checks = await _check(dns_records, key)
    assert {kind: check.status for kind, check in checks.items()} == dict.fromkeys(checks, "found")
    assert checks["spf"].found == [f"v=spf1 mx a:{MAIL_HOST} ~all"]
    assert checks["dkim"].found == [dkim_txt_value(key.public_b64)]
    assert checks["verification"].to_json() == {
        "kind": "verification", "type": "TXT", "name": VERIFICATION[0], "value": VERIFICATION[1], "required": True,
        "status": "found", "found": [VERIFICATION[1]], "detail": None,
    }


async def test_mx_pointing_at_another_host_is_missing(dns_records: DnsServer, key: DkimKey) -> None:
    with dns_records.batch():
        dns_records.set_mx(DOMAIN, "mx.elsewhere.test", 10)
        dns_records.set_txt(*VERIFICATION)
    checks = await _check(dns_records, key)
    assert checks["mx"].status == "missing"
    assert checks["mx"].found == ["mx.elsewhere.test"]
    assert checks["mx"].detail == f"the MX records of {DOMAIN} do not point at {MAIL_HOST}"
    assert not all_required_found(checks.values())


async def test_our_mx_next_to_other_exchangers_is_found(dns_records: DnsServer, key: DkimKey) -> None:
    with dns_records.batch():
        dns_records.set_mx(DOMAIN, "backup.elsewhere.test", 5)
        dns_records.set_mx(DOMAIN, MAIL_HOST, 20)
    checks = await _check(dns_records, key)
    assert checks["mx"].status == "found"
    assert sorted(checks["mx"].found) == ["backup.elsewhere.test", MAIL_HOST]


async def test_dkim_split_into_several_strings_is_found(dns_records: DnsServer, key: DkimKey) -> None:
    b64 = key.public_b64
    dns_records.set_txt(_dkim_name(key), "v=DKIM1; k=rsa; ", "p=" + b64[:100], b64[100:300], b64[300:])
    check = (await _check(dns_records, key))["dkim"]
    assert check.status == "found"
    assert check.found == [dkim_txt_value(b64)]


async def test_dkim_key_folded_with_whitespace_is_found(dns_records: DnsServer, key: DkimKey) -> None:
    folded = " ".join(key.public_b64[i : i + 64] for i in range(0, len(key.public_b64), 64))
    dns_records.set_txt(_dkim_name(key), f"v=DKIM1;k=rsa;p= {folded} ")
    assert (await _check(dns_records, key))["dkim"].status == "found"


async def test_another_dkim_key_is_a_mismatch(dns_records: DnsServer, key: DkimKey, other_key: DkimKey) -> None:
    dns_records.set_txt(_dkim_name(key), dkim_txt_value(other_key.public_b64))
    check = (await _check(dns_records, key))["dkim"]
    assert check.status == "mismatch"
    assert check.found == [dkim_txt_value(other_key.public_b64)]
    assert check.detail == f"{_dkim_name(key)} publishes a different DKIM key"


@pytest.mark.parametrize("spf", [
    f"v=spf1 mx a:{MAIL_HOST} ~all",
    "v=spf1 mx -all",
    "v=spf1 ip4:192.0.2.1 a:MX.Mailyard.test. -all",
    f"V=SPF1 +a:{MAIL_HOST}/24 ~all",
    f"v=spf1 mx:{DOMAIN} ?all",
    "v=spf1 include:_spf.google.com include:_spf.mailyard.test ~all",
    "v=spf1 redirect=_spf.mailyard.test",
])
async def test_spf_authorising_our_host_is_found(dns_records: DnsServer, key: DkimKey, spf: str) -> None:
    dns_records.set_txt(DOMAIN, spf)
    check = (await _check(dns_records, key))["spf"]
    assert (check.status, check.found, check.detail) == ("found", [spf], None)


@pytest.mark.parametrize("spf", [
    "v=spf1 include:_spf.google.com ~all",  # moved to us, still authorising only the old provider
    "v=spf1 a mx:mail.elsewhere.test -all",
    "v=spf1 -all mx",  # nothing after "all" is evaluated
    f"v=spf1 ~mx ~a:{MAIL_HOST} -all",  # soft-fail qualifiers do not authorise
    "v=spf1 include:mailyard.test.evil.test ~all",
])
async def test_spf_not_authorising_our_host_is_a_mismatch(dns_records: DnsServer, key: DkimKey, spf: str) -> None:
    dns_records.set_txt(DOMAIN, spf)
    check = (await _check(dns_records, key))["spf"]
    assert (check.status, check.found) == ("mismatch", [spf])
    assert check.detail is not None and f"a:{MAIL_HOST}" in check.detail


async def test_two_spf_records_are_a_mismatch(dns_records: DnsServer, key: DkimKey) -> None:
    with dns_records.batch():
        dns_records.add_txt(DOMAIN, f"v=spf1 mx a:{MAIL_HOST} ~all")
        dns_records.add_txt(DOMAIN, "v=spf1 include:_spf.google.com ~all")
    check = (await _check(dns_records, key))["spf"]
    assert check.status == "mismatch"
    assert len(check.found) == 2
    assert check.detail is not None and "several SPF records" in check.detail


async def test_apex_txt_without_spf_leaves_spf_missing(dns_records: DnsServer, key: DkimKey) -> None:
    dns_records.set_txt(DOMAIN, "v=spf10 not really")
    check = (await _check(dns_records, key))["spf"]
    assert (check.status, check.found) == ("missing", [])
    assert check.detail == f"{DOMAIN} has no SPF (v=spf1) TXT record"


async def test_dmarc_with_any_policy_is_found(dns_records: DnsServer, key: DkimKey) -> None:
    dns_records.set_txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=none")
    assert (await _check(dns_records, key))["dmarc"].status == "found"


async def test_txt_at_dmarc_name_that_is_not_dmarc_is_missing(dns_records: DnsServer, key: DkimKey) -> None:
    dns_records.set_txt(f"_dmarc.{DOMAIN}", "p=reject; v=DMARC1")  # the version tag must come first
    assert (await _check(dns_records, key))["dmarc"].status == "missing"


async def test_verification_with_another_token_is_a_mismatch(dns_records: DnsServer, key: DkimKey) -> None:
    with dns_records.batch():
        dns_records.set_mx(DOMAIN, MAIL_HOST)
        dns_records.set_txt(VERIFICATION[0], "mailyard-verification=an-old-token")
    checks = await _check(dns_records, key)
    assert checks["verification"].status == "mismatch"
    assert checks["verification"].found == ["mailyard-verification=an-old-token"]
    assert not all_required_found(checks.values())


async def test_unreachable_dns_server_gives_error_for_every_record_quickly(key: DkimKey) -> None:
    resolver = make_resolver(f"{LOOPBACK}:{free_port()}")
    resolver.lifetime = 0.5
    started = time.monotonic()
    checks = await check_records(_records(key), resolver)
    # Five lookups one after another would take at least 2.5 s; concurrently they take about one lifetime.
    assert time.monotonic() - started < 2.0
    assert [check.status for check in checks] == ["error"] * 5
    assert all(check.found == [] and check.detail and "timed out" in check.detail for check in checks)
    assert not all_required_found(checks)


class _ServfailServer(asyncio.DatagramProtocol):
    """Answers every query with SERVFAIL, like a broken authoritative server or recursor."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: neither asyncio's selector UDP transport nor uvloop's subclasses DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        response = dns.message.make_response(dns.message.from_wire(data))
        response.set_rcode(dns.rcode.SERVFAIL)
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
async def servfail_address() -> AsyncIterator[str]:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        _ServfailServer, local_addr=(LOOPBACK, 0)
    )
    try:
        yield f"{LOOPBACK}:{transport.get_extra_info('sockname')[1]}"
    finally:
        transport.close()


async def test_servfail_gives_error_for_every_record(servfail_address: str, key: DkimKey) -> None:
    checks = await check_records(_records(key), make_resolver(servfail_address))
    assert [check.status for check in checks] == ["error"] * 5
    assert checks[0].detail == f"no DNS server answered {DOMAIN} MX (SERVFAIL, refused or unreachable)"
