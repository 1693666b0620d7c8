"""DKIM signing: signatures dkimpy verifies against the published record, what they cover, which header From
the milter handler trusts, and the handler's decisions over the store (restrict_from_field, who gets signed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import dkim
import pytest
from sqlalchemy import update

from mailyard.hosting.dkim import DkimKey, dkim_txt_value, generate_dkim_key
from mailyard.hosting.dkim_signing import SIGNED_HEADERS, OutgoingMail, header_from_address, sign
from mailyard.hosting.records import HostedDomainRecord
from mailyard.mailserver.milter import MilterMessage, MilterVerdict
from mailyard.mailserver.postfix_config import INTERNAL_DAEMON
from tests.servers.dnsmasq import DnsServer
from tests.support.app import Api
from tests.support.hosting import active_domain, create_mailbox, headers

DOMAIN = "customer.test"

MESSAGE = (
    b"Received: from client.example (client.example [192.0.2.7]) by mx.mailyard.test\r\n"
    b"From: Ann Example <ann@customer.test>\r\n"
    b"To: bob@elsewhere.test,\r\n carol@elsewhere.test\r\n"
    b"Subject: Quarterly numbers\r\n"
    b"Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n"
    b"Message-ID: <quarterly-1@customer.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"X-Mailer: test\r\n"
    b"\r\n"
    b"The numbers are in.\r\n"
)


@pytest.fixture(scope="module")
def key() -> DkimKey:
    return generate_dkim_key()


def _dns(key: DkimKey, selector: str = "mailyard") -> Callable[..., bytes]:
    """A dkimpy dnsfunc publishing `key` as our DNS record would."""

    def lookup(name: bytes, timeout: float = 5) -> bytes:
        assert name.decode().rstrip(".") == f"{selector}._domainkey.{DOMAIN}"
        return dkim_txt_value(key.public_b64).encode()

    return lookup


def _signed(message: bytes, key: DkimKey) -> bytes:
    name, value = sign(message, domain=DOMAIN, selector=key.selector, private_pem=key.private_pem)
    return f"{name}: {value}\r\n".encode() + message


def _tags(message: bytes) -> dict[str, str]:
    header = message.split(b"\r\n\r\n", 1)[0].decode()
    value = header.split(":", 1)[1].split("\r\nReceived:", 1)[0]
    unfolded = "".join(value.split())
    return dict(tag.split("=", 1) for tag in unfolded.split(";") if tag)


def test_signature_verifies_against_the_published_record(key: DkimKey) -> None:
    assert dkim.verify(_signed(MESSAGE, key), dnsfunc=_dns(key))


def test_tags_name_algorithm_canonicalisation_domain_and_selector(key: DkimKey) -> None:
    tags = _tags(_signed(MESSAGE, key))
    assert tags["v"] == "1"
    assert tags["a"] == "rsa-sha256"
    assert tags["c"] == "relaxed/relaxed"
    assert tags["d"] == DOMAIN
    assert tags["s"] == "mailyard"
    assert "l" not in tags  # no body length limit: appended content must break the signature


def test_signed_headers_are_those_present_with_from_oversigned(key: DkimKey) -> None:
    tags = _tags(_signed(MESSAGE, key))
    assert tags["h"].split(":") == ["from", "subject", "date", "message-id", "to", "mime-version", "content-type",
                                    "from"]
    assert {"cc", "reply-to", "received", "x-mailer"}.isdisjoint(tags["h"].split(":"))


def test_repeated_and_optional_headers_are_all_signed(key: DkimKey) -> None:
    message = MESSAGE.replace(b"X-Mailer: test\r\n", b"Cc: dan@elsewhere.test\r\nReply-To: team@customer.test\r\n"
                              b"Cc: eve@elsewhere.test\r\n")
    signed = _signed(message, key)
    assert dkim.verify(signed, dnsfunc=_dns(key))
    assert _tags(signed)["h"].split(":").count("cc") == 2
    assert "reply-to" in _tags(signed)["h"].split(":")
    # Removing either Cc breaks it.
    assert not dkim.verify(signed.replace(b"Cc: eve@elsewhere.test\r\n", b""), dnsfunc=_dns(key))


def test_relaxed_canonicalisation_survives_refolding_and_whitespace(key: DkimKey) -> None:
    signed = _signed(MESSAGE, key)
    refolded = signed.replace(b"To: bob@elsewhere.test,\r\n carol@elsewhere.test",
                              b"To:   bob@elsewhere.test,   carol@elsewhere.test")
    refolded = refolded.replace(b"The numbers are in.\r\n", b"The numbers  are in. \r\n")
    assert dkim.verify(refolded, dnsfunc=_dns(key))


def test_a_modified_body_fails_verification(key: DkimKey) -> None:
    signed = _signed(MESSAGE, key)
    assert not dkim.verify(signed.replace(b"The numbers are in.", b"The numbers are out."), dnsfunc=_dns(key))
    assert not dkim.verify(signed + b"Appended by a relay.\r\n", dnsfunc=_dns(key))


def test_modified_or_added_signed_headers_fail_verification(key: DkimKey) -> None:
    signed = _signed(MESSAGE, key)
    assert not dkim.verify(signed.replace(b"Quarterly numbers", b"Quarterly numbers!"), dnsfunc=_dns(key))
    second_from = signed.replace(b"X-Mailer: test\r\n", b"From: ceo@customer.test\r\n")
    assert not dkim.verify(second_from, dnsfunc=_dns(key))
    # Unsigned headers may change.
    assert dkim.verify(signed.replace(b"X-Mailer: test", b"X-Mailer: other"), dnsfunc=_dns(key))


def test_another_key_does_not_verify(key: DkimKey) -> None:
    other = generate_dkim_key()
    assert not dkim.verify(_signed(MESSAGE, key), dnsfunc=_dns(other))


def test_value_is_folded_with_crlf_and_names_the_header() -> None:
    key = generate_dkim_key("s2025")
    name, value = sign(MESSAGE, domain=DOMAIN, selector="s2025", private_pem=key.private_pem)
    assert name == "DKIM-Signature"
    assert value.startswith("v=1;")
    assert not value.endswith("\n")
    assert all(line[:1] in (" ", "\t") for line in value.split("\r\n")[1:])
    assert "\n" not in value.replace("\r\n", "")
    assert dkim.verify(f"{name}: {value}\r\n".encode() + MESSAGE, dnsfunc=_dns(key, "s2025"))


def test_signed_header_list_is_the_documented_set() -> None:
    for name in ("from", "to", "cc", "subject", "date", "message-id", "mime-version", "content-type", "reply-to"):
        assert name in SIGNED_HEADERS


@pytest.mark.parametrize(("value", "expected"), [
    ("ann@customer.test", "ann@customer.test"),
    ("Ann Example <Ann@Customer.TEST>", "ann@customer.test"),
    ('"bob@elsewhere.test" <ann@customer.test>', "ann@customer.test"),
    ("=?utf-8?q?Ann_=C3=A9?= <ann@customer.test>", "ann@customer.test"),
    ("Ann\n <ann@customer.test>", "ann@customer.test"),
    ("ann@customer.test (work)", "ann@customer.test"),
])
def test_header_from_address_of_a_single_address(value: str, expected: str) -> None:
    assert header_from_address([("Subject", "x"), ("From", value)]) == expected


@pytest.mark.parametrize("value", [
    "",
    "undisclosed",
    "ann@customer.test, bob@customer.test",
    "team: ann@customer.test, bob@customer.test;",
    "ann@customer.test <bob@elsewhere.test>",
    "alice@customer.test)<bob@elsewhere.test>",
    "ann@customer.test\n<bob@elsewhere.test>",
    "<>",
])
def test_header_from_address_refuses_none_several_or_ambiguous(value: str) -> None:
    assert header_from_address([("From", value)]) is None


def test_header_from_address_refuses_missing_or_repeated_fields() -> None:
    assert header_from_address([("Subject", "x")]) is None
    assert header_from_address([("From", "ann@customer.test"), ("from", "ann@customer.test")]) is None


# -- OutgoingMail, the milter handler, over the store ----------------------------------------------


def _submitted(from_values: list[str], login: str | None, *, body_truncated: bool = False) -> MilterMessage:
    headers = [("From", value) for value in from_values] + [
        ("To", "bob@elsewhere.test"), ("Subject", "Report"), ("Date", "Mon, 02 Jun 2025 10:00:00 +0000"),
        ("Message-ID", "<report-1@customer.test>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain"),
    ]
    return MilterMessage(auth_login=login, envelope_from=login or "", recipients=["bob@elsewhere.test"],
                         headers=headers, body=b"" if body_truncated else b"The report.\r\n",
                         macros={"i": "4QX1"}, body_truncated=body_truncated)


async def _published_dkim(api: Api, domain: str = "customer.test", user_id: str = "user_123") -> Callable[..., bytes]:
    info = (await api.client.get(f"/v2/domains/{domain}/info", params={"user_id": user_id},
                                 headers=headers(api))).json()
    [record] = [r for r in info["dns_records"] if r["kind"] == "dkim"]

    def lookup(name: bytes, timeout: float = 5) -> bytes:
        assert name.decode().rstrip(".") == record["name"]
        return record["value"].encode()

    return lookup


def _verifies(verdict: MilterVerdict, message: MilterMessage, dnsfunc: Callable[..., bytes]) -> bool:
    [(name, value)] = verdict.headers
    return bool(dkim.verify(f"{name}: {value}\r\n".encode() + message.as_bytes(), dnsfunc=dnsfunc))


async def test_restricted_mailbox_sending_as_itself_is_signed(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, _ = await create_mailbox(api, "x", restrict_from_field=True)
    message = _submitted([f"X <{account['address']}>"], account["address"].upper())
    verdict = await OutgoingMail(api.runtime.db, api.runtime.box).handle(message)
    assert verdict.action == "accept"
    assert _verifies(verdict, message, await _published_dkim(api))


async def test_restricted_mailbox_may_not_use_a_from_it_does_not_own(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, _ = await create_mailbox(api, "x", restrict_from_field=True)
    await create_mailbox(api, "boss")
    mail = OutgoingMail(api.runtime.db, api.runtime.box)
    verdict = await mail.handle(_submitted(["Boss <boss@customer.test>"], account["address"]))
    assert (verdict.action, verdict.code, verdict.enhanced) == ("reject", 550, "5.7.1")
    assert verdict.text == f"Sender address <boss@customer.test> is not owned by user <{account['address']}>"
    for from_values in ([], [account["address"], account["address"]], [f"{account['address']}, boss@customer.test"],
                        ["undisclosed-recipients"]):
        verdict = await mail.handle(_submitted(from_values, account["address"]))
        assert (verdict.action, verdict.code, verdict.enhanced) == ("reject", 550, "5.7.1"), from_values


async def test_unrestricted_mailbox_is_signed_for_its_own_customer_only(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    await active_domain(api, dns_records, "other.test", user_id="user_456")
    await api.client.post("/v2/domain", json={"domain": "pending.test", "user_id": "user_123"}, headers=headers(api))
    account, _ = await create_mailbox(api, "free", restrict_from_field=False)
    mail = OutgoingMail(api.runtime.db, api.runtime.box)
    colleague = _submitted(["boss@customer.test"], account["address"])
    verdict = await mail.handle(colleague)
    assert _verifies(verdict, colleague, await _published_dkim(api))
    # Another customer's domain, a domain not active yet, a foreign domain, no single From: accepted unsigned.
    for from_values in (["boss@other.test"], ["ann@pending.test"], ["ann@elsewhere.test"], [],
                        ["a@customer.test, b@customer.test"]):
        assert await mail.handle(_submitted(from_values, account["address"])) == MilterVerdict.accept(), from_values


async def test_unauthenticated_mail_is_accepted_untouched(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    mail = OutgoingMail(api.runtime.db, api.runtime.box)
    for from_values in (["boss@customer.test"], [], ["a@x.test, b@y.test"]):
        assert await mail.handle(_submitted(from_values, None)) == MilterVerdict.accept()


async def test_on_the_internal_listener_only_a_vacation_reply_is_signed(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    await active_domain(api, dns_records, "other.test", user_id="user_456")
    away, _ = await create_mailbox(api, "away", autoresponder_enabled=True, autoresponder_body="Away.")
    present, _ = await create_mailbox(api, "present")
    mail = OutgoingMail(api.runtime.db, api.runtime.box)

    def internal(from_values: list[str], *, sender: str = "", auto: str | None = "auto-replied (vacation)",
                 received: bool = False, daemon: str = INTERNAL_DAEMON) -> MilterMessage:
        message = _submitted(from_values, None)
        extra = [("Auto-Submitted", auto)] if auto is not None else []
        hops = [("Received", "from outside.test by mx.mailyard.test with ESMTP id 4QX0")] if received else []
        return replace(message, envelope_from=sender, headers=hops + message.headers + extra,
                       macros={"i": "4QX2", "{daemon_name}": daemon})

    reply = internal([away["address"]])
    assert _verifies(await mail.handle(reply), reply, await _published_dkim(api))
    refused = {
        # A redirect: the forwarding mailbox is its envelope sender (sieve_redirect_envelope_from).
        "redirect": internal([away["address"]], sender="relayer@customer.test"),
        # A redirect of mail that had <>: it crossed Postfix on the way in, which added a Received header.
        "null-sender redirect": internal([away["address"]], received=True),
        "no Auto-Submitted": internal([away["address"]], auto=None),
        "Auto-Submitted: no": internal([away["address"]], auto="no"),
        "Auto-Submitted: auto-generated": internal([away["address"]], auto="auto-generated"),
        "autoresponder off": internal([present["address"]]),
        "not a mailbox": internal(["nobody@customer.test"]),
        "another customer's domain": internal(["ann@other.test"]),
        "not hosted": internal(["ann@elsewhere.test"]),
        "another listener": internal([away["address"]], daemon="smtpd"),
    }
    for case, message in refused.items():
        assert await mail.handle(message) == MilterVerdict.accept(), case


async def test_a_truncated_body_goes_out_unsigned_but_still_checked(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, _ = await create_mailbox(api, "big", restrict_from_field=True)
    mail = OutgoingMail(api.runtime.db, api.runtime.box)
    own = await mail.handle(_submitted([account["address"]], account["address"], body_truncated=True))
    assert own == MilterVerdict.accept()
    other = await mail.handle(_submitted(["boss@customer.test"], account["address"], body_truncated=True))
    assert other.action == "reject"


async def test_keys_are_cached_for_a_minute(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, _ = await create_mailbox(api, "cached")
    now = [1000.0]
    mail = OutgoingMail(api.runtime.db, api.runtime.box, clock=lambda: now[0])
    message = _submitted([account["address"]], account["address"])
    assert (await mail.handle(message)).headers
    async with api.runtime.db.transaction() as session:
        await session.execute(update(HostedDomainRecord).where(HostedDomainRecord.name == "customer.test")
                              .values(status="suspended"))
    now[0] += 59
    assert (await mail.handle(message)).headers  # still the cached key
    now[0] += 2
    assert await mail.handle(message) == MilterVerdict.accept()
