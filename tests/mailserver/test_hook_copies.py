"""Webhook copies of `webhook_then_store` domains: only Postfix itself can address them (every smtpd service
refuses the hooks domain), their address carries a token only Mailyard can compute, and the receiver posts
nothing for an address whose token does not verify. Headers that the parser cannot read never fail a copy."""

from __future__ import annotations

import asyncio
import smtplib
import uuid

import pytest
from sqlalchemy import select

from mailyard.hosting.records import HostedDomainRecord
from mailyard.hosting.routes import header_fields
from mailyard.mailserver.hook_addresses import HOOK_DOMAIN, hook_address, hook_token, verified_domain_id
from mailyard.security.secretbox import SecretBox
from tests.support.app import TEST_SECRET
from tests.support.events import events
from tests.support.hosting import LOOPBACK, HostedMail, active_domain, create_mailbox, message, set_route
from tests.support.webhooks import Receiver

ROUTED = "domain:customer.test"


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox(TEST_SECRET)


def test_a_copy_address_verifies_only_with_its_own_token(box: SecretBox) -> None:
    address = hook_address(box, 7)
    assert address == f"domain-7-{hook_token(box, 7)}@{HOOK_DOMAIN}"
    assert verified_domain_id(box, address) == 7
    assert verified_domain_id(box, address.upper()) == 7  # addresses compare without case
    forged = [
        f"domain-7@{HOOK_DOMAIN}",  # the old, unauthenticated form
        f"domain-8-{hook_token(box, 7)}@{HOOK_DOMAIN}",  # another domain's token
        f"domain-7-{'0' * 32}@{HOOK_DOMAIN}",
        f"domain-7-{hook_token(box, 7)[:-1]}@{HOOK_DOMAIN}",
        f"domain-07-{hook_token(box, 7)}@{HOOK_DOMAIN}",
        f"domain-7-{hook_token(box, 7)}@customer.test",
        hook_address(SecretBox("another secret altogether"), 7),
    ]
    for candidate in forged:
        assert verified_domain_id(box, candidate) is None, candidate


@pytest.mark.parametrize(("raw", "expected"), [
    (b"Message-ID: <\r\n", {"message-id": "<"}),
    (b"Message-ID: <<>>\r\n", {"message-id": "<<>>"}),
    (b"Message-ID: <a@b.test>\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n", {"message-id": "<a@b.test>", "subject": "café"}),
    (b"Subject: two\r\n lines\r\n", {"subject": "two lines"}),
    (b"From: \xff\xfe <x@y.test>\r\nTo: ,,,\r\nDate: not a date\r\n", {"to": "", "date": "not a date"}),
])
def test_header_fields_never_fail_and_fall_back_to_the_raw_text(raw: bytes, expected: dict[str, str]) -> None:
    found = header_fields(raw + b"\r\nbody\r\n")
    for name, value in expected.items():
        assert found[name] == value
    for value in found.values():
        value.encode("utf-8")  # no lone surrogates: the event is JSON


async def _routed_domain(hosted: HostedMail, receiver: Receiver) -> int:
    await active_domain(hosted.api, hosted.dns)
    await set_route(hosted.api, receiver.url())
    domain_id = await hosted.api.runtime.db.read_scalar(
        select(HostedDomainRecord.id).where(HostedDomainRecord.name == "customer.test"))
    assert isinstance(domain_id, int)
    return domain_id


async def test_no_smtpd_service_accepts_the_hooks_domain(hosted: HostedMail, receiver: Receiver) -> None:
    domain_id = await _routed_domain(hosted, receiver)
    # Another customer's mailbox, holding even the right copy address: the forgery of the review.
    await active_domain(hosted.api, hosted.dns, "intruder.test", user_id="user_999")
    intruder, password = await create_mailbox(hosted.api, "mallory", "intruder.test", "user_999")
    copy = hook_address(hosted.api.runtime.box, domain_id)
    forged = message(f"forged-{uuid.uuid4().hex[:8]}", sender=intruder["address"], to="ceo@customer.test")
    attempts = {
        "submission": lambda: hosted.submit(intruder["address"], password, forged, [copy]),
        "internal": lambda: hosted.send_internal([copy], forged),
        "smtp": lambda: asyncio.to_thread(hosted.send_inbound, [copy], forged),
    }
    for service, attempt in attempts.items():
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await attempt()
        code, text = refused.value.recipients[copy]
        assert (code, b"This address only takes mail from Mailyard itself" in text) == (554, True), service
    assert await events(hosted.api, ROUTED) == []


def _lmtp(port: int, recipients: list[str], content: bytes) -> None:
    with smtplib.LMTP(LOOPBACK, port, timeout=15) as lmtp:
        lmtp.sendmail("someone@outside.test", recipients, content)


async def test_the_receiver_posts_nothing_for_a_copy_whose_token_does_not_verify(
        hosted: HostedMail, receiver: Receiver) -> None:
    domain_id = await _routed_domain(hosted, receiver)
    port = hosted.api.runtime.settings.hook_port
    box = hosted.api.runtime.box
    # Whoever reaches the receiver's port directly: the old form and a wrong token are acknowledged (so
    # nothing retries them) but no event is written. The receiver answers after writing, so this is final.
    for forged in (f"domain-{domain_id}@{HOOK_DOMAIN}", f"domain-{domain_id}-{'a' * 32}@{HOOK_DOMAIN}"):
        await asyncio.to_thread(_lmtp, port, [forged], message("forged"))
    assert await events(hosted.api, ROUTED) == []
    await asyncio.to_thread(_lmtp, port, [hook_address(box, domain_id)], message("genuine"))
    [event] = await events(hosted.api, ROUTED)
    assert event.event == "messageReceived"


async def test_switching_to_store_forgets_the_copy_token(hosted: HostedMail, receiver: Receiver) -> None:
    domain_id = await _routed_domain(hosted, receiver)
    token = await hosted.api.runtime.db.read_scalar(
        select(HostedDomainRecord.hook_token).where(HostedDomainRecord.id == domain_id))
    assert token == hook_token(hosted.api.runtime.box, domain_id)
    await set_route(hosted.api, None)
    assert await hosted.api.runtime.db.read_scalar(
        select(HostedDomainRecord.hook_token).where(HostedDomainRecord.id == domain_id)) is None
