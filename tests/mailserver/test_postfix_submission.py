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
    foreign_from, foreign_envelope, allowed = _marker(), _marker(), _marker()
    # The header From is the milter's check, the envelope sender the policy service's.
    with pytest.raises(smtplib.SMTPDataError) as header_from:
        await hosted.submit(account["address"], password,
                            message(foreign_from, sender="ceo@customer.test", to=recipient), [recipient])
    assert header_from.value.smtp_code == 550
    assert header_from.value.smtp_error == \
        b"5.7.1 Sender address <ceo@customer.test> is not owned by user <strict@customer.test>"
    with pytest.raises(smtplib.SMTPDataError) as envelope:
        await hosted.submit(account["address"], password,
                            message(foreign_envelope, sender=account["address"], to=recipient), [recipient],
                            sender="ceo@customer.test")
    assert envelope.value.smtp_code == 554
    assert envelope.value.smtp_error == (b"5.7.1 <END-OF-MESSAGE>: End-of-data rejected: "
                                         b"Sender address is not owned by user strict@customer.test")
    await hosted.submit(account["address"], password, message(allowed, sender="sales@customer.test", to=recipient),
                        [recipient], sender="sales@customer.test")
    # The refused messages were never queued (refused at end of data), so the allowed one is all there is.
    [received] = await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, recipient)
    assert allowed.encode() in received.data
    assert foreign_from.encode() not in received.data and foreign_envelope.encode() not in received.data
    assert hosted.sink.messages_for(recipient) == [received]


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
    colleague, colleague_pw = await create_mailbox(hosted.api, "colleague")
    recipient = _outside()
    sent = [_marker() for _ in range(3)]
    for marker in sent:
        await hosted.submit(account["address"], password, message(marker, sender=account["address"], to=recipient),
                            [recipient])
    fourth = _marker()
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        await hosted.submit(account["address"], password, message(fourth, sender=account["address"], to=recipient),
                            [recipient])
    assert deferred.value.smtp_code == 450
    assert b"4.7.1" in deferred.value.smtp_error
    assert (b"Daily sending limit of 3 messages reached for limited@customer.test; try again tomorrow"
            in deferred.value.smtp_error)
    # Another mailbox's message, sent after the refusal, marks the end: once it arrived, the fourth (never
    # accepted by Postfix) cannot be on its way, and only the three made it.
    closing = _marker()
    await hosted.submit(colleague["address"], colleague_pw, message(closing, sender=colleague["address"],
                                                                    to=recipient), [recipient])
    received = await asyncio.to_thread(hosted.sink.wait_for_messages, 4, 15.0, recipient)
    bodies = [m.data for m in received]
    assert len(bodies) == 4 and any(closing.encode() in data for data in bodies)
    assert sorted(marker for marker in sent if any(marker.encode() in data for data in bodies)) == sorted(sent)
    assert not any(fourth.encode() in data for data in bodies)
