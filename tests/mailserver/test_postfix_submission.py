"""Sending from hosted mailboxes through Postfix's submission port: SASL through Dovecot, DKIM signing,
From ownership, daily limits."""

from __future__ import annotations

import asyncio
import smtplib
import uuid

import dkim
import dns.resolver
import pytest

from tests.support.hosting import HostedMail, active_domain, create_mailbox, headers, message, update_mailbox


def _marker() -> str:
    return f"s-{uuid.uuid4().hex[:12]}"


def _outside() -> str:
    return f"{uuid.uuid4().hex[:10]}@elsewhere.test"


async def test_submitted_mail_is_dkim_signed_and_verifies_against_the_published_record(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)  # publishes every record, the DKIM key included
    account, password = await create_mailbox(hosted.api, "signer")
    recipient = _outside()
    await hosted.submit(account["address"], password, message(_marker(), sender=account["address"], to=recipient),
                  [recipient])
    received = (await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, recipient))[0].data
    assert received.startswith(b"DKIM-Signature:") or b"\nDKIM-Signature:" in received
    resolver = dns.resolver.Resolver(configure=False)
    host, port = hosted.dns.resolver_address.split(":")
    resolver.nameservers, resolver.port = [host], int(port)

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        return b"".join(b"".join(record.strings) for record in answer)

    assert dkim.verify(received, dnsfunc=dnsfunc)
    assert not dkim.verify(received.replace(b"Hello", b"Jello"), dnsfunc=dnsfunc)


async def test_smtp_disabled_mailbox_cannot_submit(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "mute", smtp_disabled=True)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        await hosted.submit(account["address"], password, message(_marker(), sender=account["address"]), [_outside()])


async def test_a_session_open_when_sending_is_switched_off_cannot_send_again(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "goner")
    first, second = _outside(), _outside()
    smtp = await asyncio.to_thread(hosted.submission)
    try:
        await asyncio.to_thread(smtp.login, account["address"], password)
        await asyncio.to_thread(smtp.sendmail, account["address"], [first],
                                message(_marker(), sender=account["address"], to=first))
        await update_mailbox(hosted.api, account["id"], smtp_disabled=True)
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(smtp.sendmail, account["address"], [second],
                                    message(_marker(), sender=account["address"], to=second))
    finally:
        await asyncio.to_thread(smtp.close)
    assert refused.value.smtp_code == 554
    assert b"service disabled for this mailbox" in refused.value.smtp_error
    assert await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, first)
    await asyncio.sleep(1.0)
    assert not hosted.sink.messages_for(second)


async def test_restrict_from_field_refuses_a_foreign_from_and_envelope_but_allows_aliases(
        hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "strict", restrict_from_field=True)
    response = await hosted.api.client.post("/v2/domains/customer.test/aliases", headers=headers(hosted.api), json={
        "user_id": "user_123", "name": "sales", "destinations": [account["address"]]})
    assert response.status_code == 200, response.text
    recipient = _outside()
    with pytest.raises(smtplib.SMTPDataError) as header_from:
        await hosted.submit(account["address"], password, message(_marker(), sender="ceo@customer.test", to=recipient),
                      [recipient])
    assert header_from.value.smtp_code == 550
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused, smtplib.SMTPRecipientsRefused)):
        await hosted.submit(account["address"], password, message(_marker(), sender=account["address"], to=recipient),
                      [recipient], sender="ceo@customer.test")
    marker = _marker()
    await hosted.submit(account["address"], password, message(marker, sender="sales@customer.test", to=recipient),
                  [recipient], sender="sales@customer.test")
    received = await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, recipient)
    assert any(marker.encode() in m.data for m in received)


async def test_unrestricted_mailbox_may_send_as_another_address(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "free", restrict_from_field=False)
    recipient = _outside()
    await hosted.submit(account["address"], password, message(_marker(), sender="news@customer.test", to=recipient),
                  [recipient], sender="news@customer.test")
    assert await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, recipient)


async def test_outbound_limit_of_three_defers_the_fourth_message_of_the_day(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "limited", outbound_limit=3)
    recipient = _outside()
    for _ in range(3):
        await hosted.submit(account["address"], password, message(_marker(), sender=account["address"], to=recipient),
                      [recipient])
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        await hosted.submit(account["address"], password, message(_marker(), sender=account["address"], to=recipient),
                      [recipient])
    assert 400 <= deferred.value.smtp_code < 500
    assert b"3" in deferred.value.smtp_error
    assert len(await asyncio.to_thread(hosted.sink.wait_for_messages, 3, 15.0, recipient)) == 3
