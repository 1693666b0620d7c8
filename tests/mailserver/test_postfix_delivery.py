"""Hosted delivery through Postfix: inbound mail, aliases, bounce_mail (at RCPT on every smtpd service, and
after alias expansion by the mailbox's Sieve `reject`), the webhook_then_store route, and inbound mail while
Mailyard's own services are down."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import uuid

import pytest

from mailyard.events.signing import verify
from tests.support.hosting import (
    ROUTE_SECRET,
    HostedMail,
    active_domain,
    create_alias,
    create_mailbox,
    headers,
    message,
    set_route,
)
from tests.support.webhooks import Receiver, Request


def _marker() -> str:
    return f"m-{uuid.uuid4().hex[:12]}"


async def test_mail_from_outside_through_smtp_is_read_over_imap(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "inbound")
    marker = _marker()
    hosted.send_inbound([account["address"]], message(marker, to=account["address"]))
    assert marker.encode() in await hosted.wait_for_message(account["address"], password, marker)


async def test_unknown_recipient_of_a_hosted_domain_is_refused_at_rcpt(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        hosted.send_inbound(["nobody@customer.test"], message(_marker()))
    assert refused.value.recipients["nobody@customer.test"][0] == 550


async def test_alias_fans_out_to_every_destination(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    first, first_pw = await create_mailbox(hosted.api, "first")
    second, second_pw = await create_mailbox(hosted.api, "second")
    outside = f"{_marker()}@elsewhere.test"
    response = await hosted.api.client.post("/v2/domains/customer.test/aliases", headers=headers(hosted.api), json={
        "user_id": "user_123", "name": "team", "destinations": [first["address"], second["address"], outside]})
    assert response.status_code == 200, response.text
    marker = _marker()
    hosted.send_inbound(["team@customer.test"], message(marker, to="team@customer.test"))
    await hosted.wait_for_message(first["address"], first_pw, marker)
    await hosted.wait_for_message(second["address"], second_pw, marker)
    relayed = await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, outside)
    assert marker.encode() in relayed[0].data


async def test_bounce_mail_refuses_at_smtp_time_with_the_bounce_message(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, _ = await create_mailbox(hosted.api, "closed", bounce_mail=True,
                                      bounce_msg="This office closed; write to info@customer.test")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        hosted.send_inbound([account["address"]], message(_marker(), to=account["address"]))
    code, text = refused.value.recipients[account["address"]]
    assert code == 554 and b"This office closed; write to info@customer.test" in text


CLOSED = "This office closed; write to info@customer.test"


async def test_bounce_mail_behind_an_alias_is_rejected_with_the_bounce_message(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    closed, closed_pw = await create_mailbox(hosted.api, "closed", bounce_mail=True, bounce_msg=CLOSED)
    open_, open_pw = await create_mailbox(hosted.api, "open")
    await create_alias(hosted.api, "team", [closed["address"], open_["address"]])
    sender, marker = f"{_marker()}@outside.test", _marker()
    # The alias itself is not refused at RCPT: only after expansion does the mail meet the closed mailbox.
    hosted.send_inbound(["team@customer.test"], message(marker, sender=sender, to="team@customer.test"), sender=sender)
    await hosted.wait_for_message(open_["address"], open_pw, marker)
    [notice] = await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, sender)
    assert notice.mail_from == "<>" and CLOSED in notice.parsed().get_body().get_content()
    # The notice is sent once delivery to the closed mailbox is over, so its INBOX is final now.
    assert not any(marker.encode() in m for m in hosted.folder_messages(closed["address"], closed_pw))
    assert not any(marker.encode() in m for m in hosted.folder_messages(closed["address"], closed_pw, "Junk"))


async def test_bounce_mail_refuses_another_mailboxs_submission_at_rcpt(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    closed, closed_pw = await create_mailbox(hosted.api, "closed", bounce_mail=True, bounce_msg=CLOSED)
    colleague, colleague_pw = await create_mailbox(hosted.api, "colleague")
    marker = _marker()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await hosted.submit(colleague["address"], colleague_pw,
                            message(marker, sender=colleague["address"], to=closed["address"]), [closed["address"]])
    code, text = refused.value.recipients[closed["address"]]
    assert code == 554 and CLOSED.encode() in text
    # Refused before DATA: nothing was accepted that could still arrive.
    assert not any(marker.encode() in m for m in hosted.folder_messages(closed["address"], closed_pw))


async def test_bounce_mail_refuses_local_clients_on_the_internal_listener(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    closed, _ = await create_mailbox(hosted.api, "closed", bounce_mail=True, bounce_msg=CLOSED)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await hosted.send_internal([closed["address"]], message(_marker(), to=closed["address"]))
    code, text = refused.value.recipients[closed["address"]]
    assert code == 554 and CLOSED.encode() in text


async def test_a_forward_to_a_bounce_mail_mailbox_does_not_deliver_there(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    closed, closed_pw = await create_mailbox(hosted.api, "closed", bounce_mail=True, bounce_msg=CLOSED)
    forwarder, forwarder_pw = await create_mailbox(hosted.api, "forwarder", forwards=[closed["address"]],
                                                   keep_copy=False)
    sender, marker = f"{_marker()}@outside.test", _marker()
    hosted.send_inbound([forwarder["address"]], message(marker, sender=sender, to=forwarder["address"]),
                        sender=sender)
    # The redirect is refused at the internal listener; Pigeonhole then keeps the message where it was.
    await hosted.wait_for_message(forwarder["address"], forwarder_pw, marker)
    assert not any(marker.encode() in m for m in hosted.folder_messages(closed["address"], closed_pw))


async def test_inbound_mail_is_stored_while_mailyards_own_services_are_stopped(
        hosted: HostedMail, receiver: Receiver) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "steady")
    await set_route(hosted.api, receiver.url())
    services = hosted.api.runtime.mail_services
    assert services is not None
    await services.stop()  # the milter, the policy service and the webhook-copy receiver
    try:
        marker = _marker()
        hosted.send_inbound([account["address"]], message(marker, to=account["address"]))
        await hosted.wait_for_message(account["address"], password, marker)
    finally:
        await services.start()
    # The webhook copy waited in Postfix's queue; retried now, it is posted: nothing was lost.
    hosted.flush_queue()
    posted = await _wait_posted(receiver, "messageReceived")
    assert posted.json["data"]["subject"] == marker


async def test_webhook_then_store_posts_each_message_signed_and_stores_it(
        hosted: HostedMail, receiver: Receiver) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "routed")
    route = await set_route(hosted.api, receiver.url())
    assert route == {"forward_mode": "webhook_then_store", "webhook_url": receiver.url(), "webhook_secret_set": True}
    marker = _marker()
    hosted.send_inbound([account["address"]], message(marker, to=account["address"]))
    await hosted.wait_for_message(account["address"], password, marker)
    posted = await _wait_posted(receiver, "messageReceived")
    assert posted.json["account"] == "domain:customer.test"
    assert posted.json["data"]["subject"] == marker
    assert marker.encode() in base64.b64decode(posted.json["data"]["raw"])
    assert verify(posted.body, posted.headers["x-ee-wh-signature"], ROUTE_SECRET)


async def test_a_route_webhook_that_fails_first_is_retried_and_delivered(
        hosted: HostedMail, receiver: Receiver) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, _ = await create_mailbox(hosted.api, "retried")
    await set_route(hosted.api, receiver.url())
    receiver.fail_next = 1
    marker = _marker()
    hosted.send_inbound([account["address"]], message(marker, to=account["address"]))
    posted = await _wait_posted(receiver, "messageReceived")
    assert posted.json["data"]["subject"] == marker
    [first, *_] = receiver.requests
    assert first.status == 500 and first.event_id == posted.event_id


async def test_a_malformed_message_id_is_posted_as_raw_text_and_the_message_stored(
        hosted: HostedMail, receiver: Receiver) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "odd")
    await set_route(hosted.api, receiver.url())
    marker = _marker()
    raw = message(marker, to=account["address"]).replace(f"Message-ID: <{marker}@outside.test>".encode(),
                                                          b"Message-ID: <<>>")
    hosted.send_inbound([account["address"]], raw)
    posted = await _wait_posted(receiver, "messageReceived")
    assert posted.json["data"]["message-id"] == "<<>>" and posted.json["data"]["subject"] == marker
    await hosted.wait_for_message(account["address"], password, marker)


async def _wait_posted(receiver: Receiver, event: str, timeout: float = 15.0) -> Request:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for request in receiver.delivered:
            if request.json.get("event") == event:
                return request
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {event} webhook arrived")
