"""Open sessions end when access is taken away: disabling, a reset, an expired password (when asked)."""

from __future__ import annotations

import asyncio
import imaplib

from tests.mailserver.test_dovecot_logins import expire_password
from tests.support.hosting import LOOPBACK, HostedMail, active_domain, create_mailbox, headers, update_mailbox


def _open_session(hosted: HostedMail, address: str, password: str) -> imaplib.IMAP4:
    imap = imaplib.IMAP4(LOOPBACK, hosted.ports.imap, timeout=10)
    imap.login(address, password)
    imap.select("INBOX")
    return imap


async def _ended(imap: imaplib.IMAP4, timeout: float = 10.0) -> bool:
    """True once the server has closed the session (NOOP then fails)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            await asyncio.to_thread(imap.noop)
        except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_disabling_a_mailbox_ends_its_open_imap_session(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "kicked")
    imap = _open_session(hosted, account["address"], password)
    await update_mailbox(hosted.api, account["id"], display_name="Still here")
    assert imap.noop()[0] == "OK"  # a change that keeps access leaves the session alone
    await update_mailbox(hosted.api, account["id"], status="disabled")
    assert await _ended(imap)


async def test_password_reset_ends_open_sessions(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, password = await create_mailbox(hosted.api, "resetme")
    imap = _open_session(hosted, account["address"], password)
    response = await hosted.api.client.post(f"/v2/email-accounts/{account['id']}/password/reset",
                                            json={"user_id": "user_123"}, headers=headers(hosted.api))
    assert response.status_code == 200
    assert await _ended(imap)


async def test_expired_password_ends_sessions_only_when_the_mailbox_asks_for_it(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    strict, strict_pw = await create_mailbox(hosted.api, "strict", password_expiration=3,
                                             destroy_sessions_on_password_expiration=True)
    lenient, lenient_pw = await create_mailbox(hosted.api, "lenient", password_expiration=3)
    strict_imap = _open_session(hosted, strict["address"], strict_pw)
    lenient_imap = _open_session(hosted, lenient["address"], lenient_pw)
    await expire_password(hosted, strict["id"])
    await expire_password(hosted, lenient["id"])
    assert await hosted.api.runtime.expiry_watch.run_once() == [strict["address"]]
    assert await _ended(strict_imap)
    assert lenient_imap.noop()[0] == "OK"
    assert await hosted.api.runtime.expiry_watch.run_once() == []  # once per expiry


async def test_deleted_mailbox_loses_its_mail_so_a_new_one_of_that_address_starts_empty(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    account, _ = await create_mailbox(hosted.api, "reborn")
    hosted.deliver(account["address"], b"From: a@example.test\r\nSubject: old\r\n\r\nold mail\r\n")
    home = hosted.mail_root / "customer.test" / "reborn"
    assert home.is_dir()
    response = await hosted.api.client.post("/v2/email-accounts/delete", headers=headers(hosted.api),
                                            json={"id": account["id"], "user_id": "user_123"})
    assert response.status_code == 200
    for _ in range(100):
        if not home.exists():
            break
        await asyncio.sleep(0.05)
    assert not home.exists()
    again, password = await create_mailbox(hosted.api, "reborn")
    with imaplib.IMAP4(LOOPBACK, hosted.ports.imap, timeout=10) as imap:
        imap.login(again["address"], password)
        status, data = imap.select("INBOX")
        assert status == "OK" and data == [b"0"]
