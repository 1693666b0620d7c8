"""Delivery-side settings run as the Sieve script Mailyard renders into the store: forwards, the
autoresponder, spam filing."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import dkim

from tests.support.hosting import (
    HostedMail,
    active_domain,
    create_alias,
    create_mailbox,
    headers,
    message,
    update_mailbox,
)


def _marker() -> str:
    return f"v-{uuid.uuid4().hex[:12]}"


def _outside() -> str:
    return f"{uuid.uuid4().hex[:10]}@elsewhere.test"


async def _quiet(hosted: HostedMail, recipient: str, seconds: float = 2.0) -> bool:
    """True when nothing reaches `recipient` at the sink for a while."""
    await asyncio.sleep(seconds)
    return not hosted.sink.messages_for(recipient)


async def test_forward_with_keep_copy_forwards_and_keeps(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    target = _outside()
    account, password = await create_mailbox(hosted.api, "keeper", forwards=[target], keep_copy=True)
    marker = _marker()
    hosted.send_inbound([account["address"]], message(marker, to=account["address"]))
    forwarded = await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, target)
    assert marker.encode() in forwarded[0].data
    await hosted.wait_for_message(account["address"], password, marker)


async def test_forward_without_keep_copy_leaves_nothing_in_the_mailbox(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    target = _outside()
    account, password = await create_mailbox(hosted.api, "passer", forwards=[target], keep_copy=False)
    marker = _marker()
    hosted.send_inbound([account["address"]], message(marker, to=account["address"]))
    await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, target)
    assert not any(marker.encode() in m for m in hosted.folder_messages(account["address"], password))


async def test_autoresponder_answers_each_sender_once_per_period(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, _ = await create_mailbox(hosted.api, "away", autoresponder_enabled=True,
                                      autoresponder_subject="Out of office", autoresponder_body="Back Monday.")
    first, second = _outside(), _outside()
    hosted.send_inbound([account["address"]], message(_marker(), sender=first, to=account["address"]),
                        sender=first)
    reply = (await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, first))[0].parsed()
    assert reply["Subject"] == "Out of office" and "Back Monday." in reply.get_body().get_content()
    hosted.send_inbound([account["address"]], message(_marker(), sender=first, to=account["address"]),
                        sender=first)
    hosted.send_inbound([account["address"]], message(_marker(), sender=second, to=account["address"]),
                        sender=second)
    assert await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, second)
    await asyncio.sleep(1.5)
    assert len(hosted.sink.messages_for(first)) == 1


async def test_autoresponder_replies_are_dkim_signed_and_verify(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, _ = await create_mailbox(hosted.api, "signedaway", autoresponder_enabled=True,
                                      autoresponder_subject="Away", autoresponder_body="Signed reply.")
    sender = _outside()
    hosted.send_inbound([account["address"]], message(_marker(), sender=sender, to=account["address"]),
                        sender=sender)
    [reply] = await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, sender)
    assert reply.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=customer.test;")
    info = (await hosted.api.client.get("/v2/domains/customer.test/info", params={"user_id": "user_123"},
                                        headers=headers(hosted.api))).json()
    [record] = [r for r in info["dns_records"] if r["kind"] == "dkim"]
    assert dkim.verify(reply.data, dnsfunc=lambda name, timeout=5: record["value"].encode())


async def test_the_autoresponder_answers_mail_sent_to_an_alias_of_the_mailbox(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, _ = await create_mailbox(hosted.api, "aliased", autoresponder_enabled=True,
                                      autoresponder_subject="Away", autoresponder_body="Back soon.")
    await create_alias(hosted.api, "sales", [account["address"]])
    sender = _outside()
    # Addressed to the alias only: Pigeonhole answers only mail whose headers name one of :addresses.
    hosted.send_inbound(["sales@customer.test"], message(_marker(), sender=sender, to="sales@customer.test"),
                        sender=sender)
    [reply] = await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, sender)
    assert reply.parsed()["Subject"] == "Away"
    assert reply.parsed()["From"] == account["address"]


async def test_a_spoofed_hosted_from_forwarded_from_outside_is_not_signed(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    # The spoofed From is a real mailbox with its autoresponder on, the case most like a vacation reply.
    boss, _ = await create_mailbox(hosted.api, "boss", autoresponder_enabled=True, autoresponder_body="Away.")
    target = _outside()
    relayer, _ = await create_mailbox(hosted.api, "relayer", forwards=[target], keep_copy=False)
    spoofed = message(_marker(), sender=boss["address"], to=relayer["address"])
    hosted.send_inbound([relayer["address"]], spoofed, sender="outsider@elsewhere.test")
    # Even dressed as a vacation reply (null sender, Auto-Submitted), as redirects of bounces are.
    dressed = message(_marker(), sender=boss["address"], to=relayer["address"],
                      headers="Auto-Submitted: auto-replied (vacation)\r\n")
    hosted.send_inbound([relayer["address"]], dressed, sender="")
    forwarded = await asyncio.to_thread(hosted.sink.wait_for_messages, 2, 15.0, target)
    for copy in forwarded:
        assert b"DKIM-Signature" not in copy.data
    # The redirect of ordinary mail leaves with the forwarding mailbox as its envelope sender.
    assert sorted(copy.mail_from for copy in forwarded) == sorted(["<>", relayer["address"]])


async def test_forwarded_mail_keeps_its_foreign_from_unsigned(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    target = _outside()
    account, _ = await create_mailbox(hosted.api, "relayer", forwards=[target], keep_copy=False)
    hosted.send_inbound([account["address"]], message(_marker(), to=account["address"]))
    [forwarded] = await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, target)
    assert b"DKIM-Signature" not in forwarded.data


async def test_forwarding_goes_on_while_the_milter_is_down(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    target = _outside()
    account, _ = await create_mailbox(hosted.api, "steady", forwards=[target], keep_copy=False)
    services = hosted.api.runtime.mail_services
    assert services is not None
    await services.milter.stop()
    try:
        marker = _marker()
        hosted.send_inbound([account["address"]], message(marker, to=account["address"]))
        [forwarded] = await asyncio.to_thread(hosted.sink.wait_for_messages, 1, 15.0, target)
        assert marker.encode() in forwarded.data
    finally:
        await services.milter.start()


async def test_autoresponder_is_silent_outside_its_dates_and_to_mailing_lists(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    account, password = await create_mailbox(hosted.api, "later", autoresponder_enabled=True,
                                      autoresponder_subject="Away", autoresponder_body="Later.",
                                      autoresponder_intervals_enabled=True, autoresponder_start_date=tomorrow)
    early, marker = _outside(), _marker()
    hosted.send_inbound([account["address"]], message(marker, sender=early, to=account["address"]), sender=early)
    await hosted.wait_for_message(account["address"], password, marker)  # delivered under the dated rule
    await update_mailbox(hosted.api, account["id"], autoresponder_intervals_enabled=False)
    listed = _outside()
    hosted.send_inbound([account["address"]], message(_marker(), sender=listed, to=account["address"],
                                                      headers="List-Id: <news.elsewhere.test>\r\n"), sender=listed)
    assert await _quiet(hosted, early) and await _quiet(hosted, listed, 0.5)


async def test_spam_goes_to_junk_unless_spam_in_inbox(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "filtered")
    spam = _marker()
    hosted.send_inbound([account["address"]], message(spam, to=account["address"], headers="X-Spam-Flag: YES\r\n"))
    await hosted.wait_for_message(account["address"], password, spam, folder="Junk")
    assert not any(spam.encode() in m for m in hosted.folder_messages(account["address"], password))
    await update_mailbox(hosted.api, account["id"], spam_in_inbox=True)
    wanted = _marker()
    hosted.send_inbound([account["address"]], message(wanted, to=account["address"], headers="X-Spam-Flag: YES\r\n"))
    await hosted.wait_for_message(account["address"], password, wanted)
