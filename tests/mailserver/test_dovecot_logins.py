"""Dovecot, configured by `mailyard mailserver config` and run by Mailyard, serves hosted mailboxes
straight from the store: logins over IMAP, POP3 and submission follow every login rule."""

from __future__ import annotations

import imaplib
import poplib
import smtplib

import pytest

from tests.support.hosting import HostedMail, active_domain, create_mailbox, headers, update_mailbox


async def test_new_mailbox_logs_in_over_imap_pop3_and_submission(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "billing")
    hosted.imap_login(account["address"], password)
    hosted.pop3_login(account["address"], password)
    await hosted.submission_login(account["address"], password)
    with pytest.raises(imaplib.IMAP4.error):
        hosted.imap_login(account["address"], password + "x")


async def test_password_reset_retires_the_old_password(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, old = await create_mailbox(hosted.api, "reset")
    response = await hosted.api.client.post(f"/v2/email-accounts/{account['id']}/password/reset",
                                            json={"user_id": "user_123"}, headers=headers(hosted.api))
    new = response.json()["password"]
    assert new != old
    with pytest.raises(imaplib.IMAP4.error):
        hosted.imap_login(account["address"], old)
    hosted.imap_login(account["address"], new)


async def test_imap_disabled_refuses_imap_but_pop3_still_works(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "popper")
    await update_mailbox(hosted.api, account["id"], imap_disabled=True)
    with pytest.raises(imaplib.IMAP4.error):
        hosted.imap_login(account["address"], password)
    hosted.pop3_login(account["address"], password)
    await hosted.submission_login(account["address"], password)


async def test_pop_and_smtp_switches_refuse_their_protocols(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "imaponly", pop_disabled=True, smtp_disabled=True)
    with pytest.raises(poplib.error_proto):
        hosted.pop3_login(account["address"], password)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        await hosted.submission_login(account["address"], password)
    hosted.imap_login(account["address"], password)


async def test_allow_nets_without_loopback_refuses_and_with_it_admits(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "office", allow_nets=["192.0.2.0/24"])
    with pytest.raises(imaplib.IMAP4.error):
        hosted.imap_login(account["address"], password)
    await update_mailbox(hosted.api, account["id"], allow_nets=["192.0.2.0/24", "127.0.0.1"])
    hosted.imap_login(account["address"], password)


async def test_disabled_mailbox_cannot_log_in_anywhere(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "gone")
    await update_mailbox(hosted.api, account["id"], status="disabled")
    with pytest.raises(imaplib.IMAP4.error):
        hosted.imap_login(account["address"], password)
    with pytest.raises(poplib.error_proto):
        hosted.pop3_login(account["address"], password)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        await hosted.submission_login(account["address"], password)
    await update_mailbox(hosted.api, account["id"], status="active")
    hosted.imap_login(account["address"], password)


async def test_suspended_domain_refuses_logins(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "suspended")
    response = await hosted.api.client.put("/v2/domains/customer.test/status",
                                           json={"user_id": "user_123", "status": "suspended"},
                                           headers=headers(hosted.api))
    assert response.status_code == 200, response.text
    with pytest.raises(imaplib.IMAP4.error):
        hosted.imap_login(account["address"], password)


async def test_expired_password_is_refused(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "stale", password_expiration=3)
    got = (await hosted.api.client.get(f"/v2/email-accounts/{account['id']}", params={"user_id": "user_123"},
                                       headers=headers(hosted.api))).json()["account"]
    assert got["password_expires_at"] is not None
    hosted.imap_login(account["address"], password)
    await expire_password(hosted, account["id"])
    with pytest.raises(imaplib.IMAP4.error):
        hosted.imap_login(account["address"], password)


async def expire_password(hosted: HostedMail, mailbox_id: int) -> None:
    """Three months pass: the stored expiry moves into the past."""
    from datetime import timedelta

    from mailyard.hosting.records import HostedMailboxRecord
    from mailyard.store.base import utcnow

    async with hosted.api.runtime.db.transaction() as session:
        record = await session.get(HostedMailboxRecord, mailbox_id)
        assert record is not None
        record.password_expires_at = utcnow() - timedelta(minutes=1)


async def test_user_with_an_expired_password_gets_back_in_by_changing_it(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "renew", password_expiration=6)
    await expire_password(hosted, account["id"])
    with pytest.raises(imaplib.IMAP4.error):
        hosted.imap_login(account["address"], password)
    response = await hosted.api.client.post("/v2/auth/password", headers=headers(hosted.api), json={
        "address": account["address"], "password": password, "new_password": "renewed-pass-7"})
    assert response.status_code == 200, response.text
    assert response.json()["password_expires_at"] is not None
    hosted.imap_login(account["address"], "renewed-pass-7")
