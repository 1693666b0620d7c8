"""Quota: Dovecot enforces max_email_quota from the store and reports usage back into it."""

from __future__ import annotations

import asyncio
import smtplib

import pytest

from tests.support.hosting import HostedMail, active_domain, create_mailbox, headers


def _message(size: int) -> bytes:
    body = ("x" * 76 + "\r\n") * (size // 78 + 1)
    return (f"From: sender@example.test\r\nTo: small@customer.test\r\nSubject: big\r\n\r\n{body}").encode()


async def test_fifty_megabyte_quota_refuses_a_larger_delivery_and_usage_shows(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, _ = await create_mailbox(hosted.api, "small", max_email_quota=52428800)
    hosted.deliver(account["address"], _message(10_000))
    with pytest.raises((smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)):
        hosted.deliver(account["address"], _message(51 * 1024 * 1024))
    url = f"/v2/email-accounts/{account['id']}"
    for _ in range(100):
        got = (await hosted.api.client.get(url, params={"user_id": "user_123"}, headers=headers(hosted.api))).json()
        if got["account"]["quota"]["used_messages"] == 1:
            break
        await asyncio.sleep(0.1)
    quota = got["account"]["quota"]
    assert quota["limit_bytes"] == 52428800
    assert quota["used_messages"] == 1
    assert 10_000 <= quota["used_bytes"] < 20_000
