"""Mailbox commands against the real Dovecot: status listing, EXAMINE with CONDSTORE/QRESYNC, UID SEARCH
and FETCH, IDLE pushes, NOTIFY and APPEND."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from mailyard.engine.imap import Credentials, ImapConnection, ImapEndpoint
from mailyard.engine.net import NetOptions
from mailyard.engine.uidset import UidSet
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUser, MailUserFactory

MESSAGE = (b"From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nSubject: Hello\r\n"
           b"Message-ID: <m1@example.test>\r\n\r\nHi\r\n")


@pytest.fixture
def user(mail_user: MailUserFactory) -> MailUser:
    return mail_user()


@pytest.fixture
async def conn(dovecot: DovecotServer, user: MailUser) -> AsyncIterator[ImapConnection]:
    connection = await ImapConnection.open(ImapEndpoint("127.0.0.1", dovecot.ports.imap, starttls=False),
                                           NetOptions(connect_timeout=5))
    await connection.authenticate(Credentials(user.username, user.password))
    yield connection
    await connection.logout()


async def test_list_with_status_reports_every_folder(conn: ImapConnection, dovecot: DovecotServer,
                                                     user: MailUser) -> None:
    dovecot.deliver(user.username, MESSAGE)
    folders, statuses = await conn.list_with_status()
    assert {"INBOX", "Sent", "Drafts", "Trash", "Junk"} <= {f.path for f in folders}
    assert statuses["INBOX"].messages == 1 and statuses["INBOX"].unseen == 1
    assert statuses["INBOX"].uidnext == 2 and statuses["INBOX"].highestmodseq


async def test_examine_search_and_fetch(conn: ImapConnection, dovecot: DovecotServer, user: MailUser) -> None:
    for _ in range(3):
        dovecot.deliver(user.username, MESSAGE)
    info = await conn.examine("INBOX", condstore=True)
    assert info.exists == 3 and info.uidnext == 4 and info.uidvalidity and info.highestmodseq
    assert await conn.uid_search_all() == UidSet.parse("1:3")
    messages, _ = await conn.uid_fetch(
        UidSet.parse("2:3"), "UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]")
    assert [m.uid for m in messages] == [2, 3]
    assert messages[0].headers is not None and b"Subject: Hello" in messages[0].headers
    assert messages[0].size and messages[0].internaldate


async def test_qresync_reports_vanished_and_changed_flags(conn: ImapConnection, dovecot: DovecotServer,
                                                          user: MailUser) -> None:
    from tests.servers.mailbox import imap_login

    for _ in range(3):
        dovecot.deliver(user.username, MESSAGE)
    await conn.enable("QRESYNC")
    first = await conn.examine("INBOX", condstore=True)
    assert first.uidvalidity and first.highestmodseq
    other = imap_login(dovecot, user.username, user.password)
    other.select("INBOX")
    other.uid("STORE", "2", "+FLAGS", "(\\Flagged)")
    other.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
    other.expunge()
    other.logout()
    await conn.command("UNSELECT")
    info = await conn.examine("INBOX", qresync=(first.uidvalidity, first.highestmodseq, UidSet.parse("1:3")))
    assert info.vanished == UidSet.parse("1")
    assert "\\Flagged" in info.changed[2]


async def test_idle_returns_when_mail_arrives(conn: ImapConnection, dovecot: DovecotServer, user: MailUser) -> None:
    await conn.examine("INBOX")
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, dovecot.deliver, user.username, MESSAGE)
    started = loop.time()
    pushed = await conn.idle(10)
    assert loop.time() - started < 5
    assert any(b"EXISTS" in line for line in pushed)
    await conn.noop()  # the connection is usable again after IDLE


async def test_idle_times_out_quietly(conn: ImapConnection) -> None:
    await conn.examine("INBOX")
    assert await conn.idle(0.3) == []
    await conn.noop()


async def test_notify_reports_other_folders_during_idle(conn: ImapConnection, dovecot: DovecotServer,
                                                        user: MailUser) -> None:
    assert await conn.notify("(selected (MessageNew (UID) MessageExpunge FlagChange)) "
                             "(personal (MessageNew MessageExpunge FlagChange MailboxName))")
    await conn.examine("INBOX")
    loop = asyncio.get_running_loop()
    from tests.servers.mailbox import imap_login

    def append_to_sent() -> None:
        other = imap_login(dovecot, user.username, user.password)
        other.append("Sent", "", None, MESSAGE)
        other.logout()

    loop.call_later(0.3, append_to_sent)
    pushed = await conn.idle(10)
    assert any(b"STATUS" in line and b"Sent" in line for line in pushed), pushed


async def test_append_stores_the_message(conn: ImapConnection, dovecot: DovecotServer, user: MailUser) -> None:
    await conn.append("Sent", MESSAGE)
    info = await conn.examine("Sent")
    assert info.exists == 1
    messages, _ = await conn.uid_fetch(UidSet.parse("1"), "UID FLAGS")
    assert messages[0].flags == ["\\Seen"]
