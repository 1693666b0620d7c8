"""Mailbox sync against the real Dovecot: new, deleted and updated messages, folders appearing and
disappearing, resets, path filtering, subconnections, notifyFrom, and no re-announcement on reconnect."""

import asyncio
import imaplib
import smtplib
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUser, MailUserFactory
from tests.servers.mailbox import imap_login
from tests.servers.postfix import PostfixServer
from tests.support.accounts import account_body
from tests.support.app import Api, ApiFactory
from tests.support.events import quiet, wait_events


def message(subject: str, to: str = "bob@example.test") -> bytes:
    return (f"From: Ann Example <ann@example.test>\r\nTo: {to}\r\nCc: Carl <carl@example.test>\r\n"
            f"Subject: {subject}\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n\r\nBody of {subject}\r\n").encode()


async def connect(api: Api, dovecot: DovecotServer, user: MailUser, account: str = "acc", **extra: Any) -> None:
    await api.post("/v1/account", account_body(dovecot, user, account=account, **extra))
    await api.wait_state(account, "connected")


def imap(dovecot: DovecotServer, user: MailUser) -> imaplib.IMAP4:
    return imap_login(dovecot, user.username, user.password)


async def test_delivered_message_is_announced_with_its_details(api: Api, dovecot: DovecotServer,
                                                               mail_user: MailUserFactory) -> None:
    user = mail_user()
    await connect(api, dovecot, user)
    dovecot.deliver(user.username, message("First news", to=user.username))
    [event] = await wait_events(api, "acc", "messageNew")
    data = event.data
    assert (event.path, event.special_use) == ("INBOX", "\\Inbox")
    assert data["uid"] == 1 and data["path"] == "INBOX" and data["id"]
    assert data["subject"] == "First news"
    assert data["from"] == {"name": "Ann Example", "address": "ann@example.test"}
    assert data["to"] == [{"address": user.username}]
    assert data["cc"] == [{"name": "Carl", "address": "carl@example.test"}]
    assert data["messageId"] == "<First-news@example.test>"
    assert data["date"] == "2026-11-22T10:00:00.000Z"
    assert data["flags"] == [] and data["unseen"] is True and data["size"] > 0
    body = (await api.get("/v1/account/acc")).json()
    assert body["counters"]["events"]["messageNew"] == 1


async def test_mail_through_postfix_is_announced(api: Api, dovecot: DovecotServer, postfix: PostfixServer,
                                                 mail_user: MailUserFactory) -> None:
    user = mail_user()
    await connect(api, dovecot, user)
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=10) as smtp:
        smtp.sendmail("ann@example.test", [user.username], message("Via Postfix", to=user.username))
    [event] = await wait_events(api, "acc", "messageNew", timeout=15)
    assert event.data["subject"] == "Via Postfix"


async def test_existing_mail_is_not_announced_on_first_sync_or_reconnect(api: Api, dovecot: DovecotServer,
                                                                         mail_user: MailUserFactory) -> None:
    user = mail_user()
    dovecot.deliver(user.username, message("Old mail"))
    await connect(api, dovecot, user)
    dovecot.deliver(user.username, message("New mail"))
    await wait_events(api, "acc", "messageNew")
    await api.client.put("/v1/account/acc/reconnect", headers=api.auth())
    await api.wait_state("acc", "connected")
    await api.client.put("/v1/account/acc/sync", headers=api.auth())
    found = await quiet(api, "acc")
    assert [e.data["subject"] for e in found if e.event == "messageNew"] == ["New mail"]


async def test_deleted_and_flagged_messages_are_announced(api: Api, dovecot: DovecotServer,
                                                          mail_user: MailUserFactory) -> None:
    user = mail_user()
    for n in range(3):
        dovecot.deliver(user.username, message(f"m{n}"))
    await connect(api, dovecot, user)
    client = imap(dovecot, user)
    client.select("INBOX")
    client.uid("STORE", "2", "+FLAGS", "(\\Seen \\Flagged)")
    [updated] = await wait_events(api, "acc", "messageUpdated")
    assert updated.data["uid"] == 2
    assert sorted(updated.data["changes"]["flags"]["added"]) == ["\\Flagged", "\\Seen"]
    assert updated.data["changes"]["flags"]["removed"] == []
    client.uid("STORE", "2", "-FLAGS", "(\\Flagged)")
    updates = await wait_events(api, "acc", "messageUpdated", 2)
    assert updates[1].data["changes"]["flags"]["removed"] == ["\\Flagged"]
    client.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
    client.expunge()
    client.logout()
    deleted = await wait_events(api, "acc", "messageDeleted")
    assert [e.data["uid"] for e in deleted] == [1]
    boxes = (await api.get("/v1/account/acc/mailboxes")).json()["mailboxes"]
    inbox = next(b for b in boxes if b["path"] == "INBOX")
    assert (inbox["messages"], inbox["unseen"]) == (2, 1)


async def test_new_and_deleted_folders_are_announced(api: Api, dovecot: DovecotServer,
                                                     mail_user: MailUserFactory) -> None:
    user = mail_user()
    await connect(api, dovecot, user)
    client = imap(dovecot, user)
    client.create("Projects")
    [new] = await wait_events(api, "acc", "mailboxNew")
    assert new.data["path"] == "Projects"
    client.append("Projects", "", None, message("In projects"))
    [arrived] = await wait_events(api, "acc", "messageNew")
    assert arrived.path == "Projects"
    client.delete("Projects")
    client.logout()
    [gone] = await wait_events(api, "acc", "mailboxDeleted")
    assert gone.data["path"] == "Projects"
    boxes = (await api.get("/v1/account/acc/mailboxes")).json()["mailboxes"]
    assert "Projects" not in [b["path"] for b in boxes]


async def test_recreated_folder_gives_one_reset_and_no_flood(api: Api, dovecot: DovecotServer,
                                                            mail_user: MailUserFactory) -> None:
    user = mail_user()
    client = imap(dovecot, user)
    client.create("Archive2")
    for n in range(5):
        client.append("Archive2", "", None, message(f"a{n}"))
    await connect(api, dovecot, user)
    client.delete("Archive2")
    client.create("Archive2")
    for n in range(5):
        client.append("Archive2", "", None, message(f"b{n}"))
    client.logout()
    await wait_events(api, "acc", "mailboxReset")
    found = await quiet(api, "acc", 1.0)
    assert [e.event for e in found].count("mailboxReset") == 1
    assert not [e for e in found if e.event == "messageNew"]


async def test_folder_outside_path_raises_nothing(api: Api, dovecot: DovecotServer,
                                                  mail_user: MailUserFactory) -> None:
    user = mail_user()
    client = imap(dovecot, user)
    client.create("Ignored")
    await connect(api, dovecot, user, path=["INBOX"])
    client.append("Ignored", "", None, message("not watched"))
    client.append("Sent", "", None, message("not watched either"))
    dovecot.deliver(user.username, message("watched"))
    await wait_events(api, "acc", "messageNew")
    await api.client.put("/v1/account/acc/sync", headers=api.auth())
    found = await quiet(api, "acc", 1.0)
    assert [e.data["subject"] for e in found if e.event == "messageNew"] == ["watched"]
    client.logout()


async def test_special_use_path_entries_select_folders(api: Api, dovecot: DovecotServer,
                                                       mail_user: MailUserFactory) -> None:
    user = mail_user()
    await connect(api, dovecot, user, path=["\\Sent"])
    client = imap(dovecot, user)
    client.append("Sent", "", None, message("sent copy"))
    dovecot.deliver(user.username, message("inbox mail"))
    client.logout()
    [event] = await wait_events(api, "acc", "messageNew")
    assert (event.path, event.special_use) == ("Sent", "\\Sent")
    found = await quiet(api, "acc", 1.0)
    assert [e.data["subject"] for e in found if e.event == "messageNew"] == ["sent copy"]


async def test_subconnection_folder_is_pushed_without_waiting_for_resync(api: Api, dovecot: DovecotServer,
                                                 mail_user: MailUserFactory) -> None:
    user = mail_user()
    client = imap(dovecot, user)
    client.create("Important")
    await connect(api, dovecot, user, subconnections=["Important"])
    client.append("Important", "", None, message("urgent"))
    client.logout()
    # Pushed by the subconnection's IDLE: the interval resync (MAILYARD_RESYNC_INTERVAL, 900 s) is far off.
    [event] = await wait_events(api, "acc", "messageNew", timeout=10)
    assert event.path == "Important"


async def test_notify_from_suppresses_older_mail(api: Api, dovecot: DovecotServer,
                                                 mail_user: MailUserFactory) -> None:
    user = mail_user()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await connect(api, dovecot, user, notifyFrom=future)
    dovecot.deliver(user.username, message("too early"))
    await api.client.put("/v1/account/acc/sync", headers=api.auth())
    found = await quiet(api, "acc", 1.0)
    assert not [e for e in found if e.event == "messageNew"]


async def test_forced_sync_updates_sync_time(api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    await connect(api, dovecot, user)
    before = (await api.get("/v1/account/acc")).json()["syncTime"]
    await asyncio.sleep(0.01)
    response = await api.client.put("/v1/account/acc/sync", headers=api.auth())
    assert response.json() == {"sync": True}
    await api.wait_for("/v1/account/acc", lambda b: b["syncTime"] > before)
    missing = await api.client.put("/v1/account/nobody/sync", headers=api.auth())
    assert missing.status_code == 404


async def test_mailboxes_show_special_use_and_counts(api: Api, dovecot: DovecotServer,
                                                     mail_user: MailUserFactory) -> None:
    user = mail_user()
    client = imap(dovecot, user)
    client.create('"Sent Items"')
    client.logout()
    dovecot.deliver(user.username, message("one"))
    await connect(api, dovecot, user)
    boxes = {b["path"]: b for b in (await api.get("/v1/account/acc/mailboxes")).json()["mailboxes"]}
    assert boxes["INBOX"]["specialUse"] == "\\Inbox" and boxes["INBOX"]["messages"] == 1
    assert boxes["INBOX"]["unseen"] == 1 and boxes["INBOX"]["uidNext"] == 2
    assert boxes["Sent"]["specialUse"] == "\\Sent"
    assert boxes["Drafts"]["specialUse"] == "\\Drafts" and boxes["Junk"]["specialUse"] == "\\Junk"
    assert "specialUse" not in boxes["Sent Items"]
    assert next(iter(boxes)) == "INBOX"
    await api.put("/v1/account/acc", {"imap": {"partial": True, "sentMailPath": "Sent Items"}})
    await api.wait_state("acc", "connected")
    boxes = {b["path"]: b for b in (await api.get("/v1/account/acc/mailboxes")).json()["mailboxes"]}
    assert boxes["Sent Items"]["specialUse"] == "\\Sent"
    assert "specialUse" not in boxes["Sent"]


async def test_restart_does_not_reannounce(api_factory: ApiFactory, dovecot: DovecotServer,
                                           mail_user: MailUserFactory) -> None:
    first = await api_factory()
    user = mail_user()
    await connect(first, dovecot, user)
    dovecot.deliver(user.username, message("before restart"))
    await wait_events(first, "acc", "messageNew")
    await first.runtime.stop_services()
    dovecot.deliver(user.username, message("while down"))
    second = await api_factory()
    await second.wait_state("acc", "connected")
    news = await wait_events(second, "acc", "messageNew", 2)
    found = await quiet(second, "acc", 1.0)
    assert [e.data["subject"] for e in found if e.event == "messageNew"] == ["before restart", "while down"]
    assert len(news) == 2


async def test_fallback_without_condstore_or_notify(api: Api, basic_dovecot: DovecotServer,
                                                    basic_mail_user: MailUserFactory) -> None:
    user = basic_mail_user()
    client = imap(basic_dovecot, user)
    assert "CONDSTORE" not in client.capabilities and "NOTIFY" not in client.capabilities
    dovecot_user_messages = [message(f"x{n}") for n in range(2)]
    for raw in dovecot_user_messages:
        basic_dovecot.deliver(user.username, raw)
    await connect(api, basic_dovecot, user)
    basic_dovecot.deliver(user.username, message("new one"))
    [new] = await wait_events(api, "acc", "messageNew")
    assert new.data["subject"] == "new one"
    client.select("INBOX")
    client.uid("STORE", "1", "+FLAGS", "(\\Seen)")
    client.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
    client.expunge()
    client.append("Sent", "", None, message("sent elsewhere"))
    client.logout()
    await api.client.put("/v1/account/acc/sync", headers=api.auth())
    updated = await wait_events(api, "acc", "messageUpdated")
    assert updated[0].data["changes"]["flags"]["added"] == ["\\Seen"]
    assert [e.data["uid"] for e in await wait_events(api, "acc", "messageDeleted")] == [2]
    sent = await wait_events(api, "acc", "messageNew", 2)
    assert sent[1].data["subject"] == "sent elsewhere"
