"""Hosted delivery through Postfix: inbound mail, aliases, bounce_mail, and the webhook_then_store route."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import uuid

import pytest

from mailyard.events.signing import verify
from tests.support.hosting import HostedMail, active_domain, create_mailbox, headers, message
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


async def test_webhook_then_store_posts_each_message_signed_and_stores_it(
        hosted: HostedMail, receiver: Receiver) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "routed")
    response = await hosted.api.client.put("/v2/domains/customer.test/route", headers=headers(hosted.api), json={
        "user_id": "user_123", "forward_mode": "webhook_then_store", "webhook_url": receiver.url(),
        "webhook_secret": "route-secret"})
    assert response.status_code == 200, response.text
    assert response.json()["domain"]["route"] == {"forward_mode": "webhook_then_store", "webhook_url": receiver.url(),
                                                  "webhook_secret_set": True}
    marker = _marker()
    hosted.send_inbound([account["address"]], message(marker, to=account["address"]))
    await hosted.wait_for_message(account["address"], password, marker)
    posted = await _wait_posted(receiver, "messageReceived")
    assert posted.json["account"] == "domain:customer.test"
    assert posted.json["data"]["subject"] == marker
    assert marker.encode() in base64.b64decode(posted.json["data"]["raw"])
    assert verify(posted.body, posted.headers["x-ee-wh-signature"], "route-secret")


async def _wait_posted(receiver: Receiver, event: str, timeout: float = 15.0) -> Request:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for request in receiver.delivered:
            if request.json.get("event") == event:
                return request
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {event} webhook arrived")
