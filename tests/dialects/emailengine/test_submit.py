"""POST /v1/account/{id}/submit against the real servers: delivery through Postfix into Dovecot mailboxes and
through Dovecot's submission (STARTTLS + AUTH) to the sink, the \\Seen copy in Sent, the messageSent event,
and every refusal: SMTP rejections, wrong credentials, bad input, unknown accounts, other tenants."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import os
import secrets
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import select

from mailyard.events.records import EventRecord
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUser, MailUserFactory
from tests.servers.mailbox import fetch_messages, imap_login, wait_for_messages
from tests.servers.postfix import PostfixServer
from tests.servers.smtp_sink import SmtpSink
from tests.support.accounts import account_body, smtp_body
from tests.support.app import Api

ATTACHMENT = os.urandom(3000) + bytes(range(256))


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _sent_folder(dovecot: DovecotServer, user: MailUser) -> list[tuple[str, bytes]]:
    """(FLAGS text, raw message) of every message in the user's Sent folder."""
    client = imap_login(dovecot, user.username, user.password)
    try:
        status, _ = client.select('"Sent"', readonly=True)
        assert status == "OK"
        _, data = client.search(None, "ALL")
        found: list[tuple[str, bytes]] = []
        for number in data[0].split():
            _, parts = client.fetch(number, "(FLAGS BODY.PEEK[])")
            for part in parts:
                if isinstance(part, tuple):
                    found.append((part[0].decode(), part[1]))
        return found
    finally:
        client.logout()


async def _events(api: Api, account: str) -> list[dict[str, Any]]:
    rows = await api.runtime.db.read(select(EventRecord.event, EventRecord.data).where(EventRecord.account == account))
    return [{"event": row.event, "data": row.data} for row in rows if row.event == "messageSent"]


async def _create(api: Api, body: dict[str, Any]) -> str:
    response = await api.post("/v1/account", body)
    assert response.status_code == 200, response.text
    return str(response.json()["account"])


def _postfix_smtp(postfix: PostfixServer) -> dict[str, Any]:
    return {"host": "localhost", "port": postfix.port, "secure": False}  # Postfix relays for localhost


def _external() -> str:
    return f"ext-{secrets.token_hex(4)}@external.test"


def _assert_no_secret(response: httpx.Response, *secrets_: str) -> None:
    for secret in secrets_:
        assert secret not in response.text


async def test_message_is_delivered_through_postfix_and_copied_to_sent(
        api: Api, dovecot: DovecotServer, postfix: PostfixServer, mail_user: MailUserFactory) -> None:
    sender, to, cc, bcc = mail_user(), mail_user(), mail_user(), mail_user()
    account = await _create(api, account_body(dovecot, sender, "sender1", smtp=_postfix_smtp(postfix)))
    response = await api.post(f"/v1/account/{account}/submit", {
        "to": [{"name": "Zoë Recipient", "address": to.email}],
        "cc": [{"address": cc.email}],
        "bcc": [{"name": "Hidden", "address": bcc.email}],
        "replyTo": {"name": "Replies", "address": "replies@example.test"},
        "subject": "Grüße aus Mailyard",
        "text": "Hello in plain text, ünïcode included.",
        "html": "<p>Hello in <b>HTML</b>, ünïcode included.</p>",
        "headers": {"X-Mailyard-Test": "yes", "In-Reply-To": "<earlier@example.test>"},
        "attachments": [{"filename": "data.bin", "contentType": "application/octet-stream",
                         "content": base64.b64encode(ATTACHMENT).decode()},
                        {"filename": "notes.txt", "content": base64.b64encode(b"some notes\n").decode()}],
    })
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"].startswith("250 ")
    message_id = body["messageId"]
    assert message_id.startswith("<") and message_id.endswith("@example.test>")
    assert body["sentCopy"] == {"stored": True, "path": "Sent"}
    _assert_no_secret(response, sender.password)

    for user in (to, cc, bcc):
        delivered = await asyncio.to_thread(wait_for_messages, dovecot, user.username, user.password)
        assert len(delivered) == 1, user
        message = _parse(delivered[0])
        assert message["Message-ID"] == message_id
        assert "Bcc" not in message and b"Hidden" not in delivered[0] and bcc.email.encode() not in delivered[0]
    message = _parse(delivered[0])
    assert message["From"] == f"John Doe <{sender.email}>"
    assert message["To"] == f"Zoë Recipient <{to.email}>"
    assert message["Cc"] == cc.email
    assert message["Reply-To"] == "Replies <replies@example.test>"
    assert message["Subject"] == "Grüße aus Mailyard"
    assert message["X-Mailyard-Test"] == "yes" and message["In-Reply-To"] == "<earlier@example.test>"
    assert message["Date"]
    assert message.get_content_type() == "multipart/mixed"
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert html is not None and text is not None
    assert html.get_content().strip() == "<p>Hello in <b>HTML</b>, ünïcode included.</p>"
    assert text.get_content().strip() == "Hello in plain text, ünïcode included."
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert attachments["data.bin"].get_content() == ATTACHMENT
    assert attachments["notes.txt"].get_content_type() == "text/plain"
    assert attachments["notes.txt"].get_payload(decode=True) == b"some notes\n"

    sent = await asyncio.to_thread(_sent_folder, dovecot, sender)
    assert len(sent) == 1
    flags, raw = sent[0]
    assert "\\Seen" in flags
    copy = _parse(raw)
    assert copy["Message-ID"] == message_id
    assert copy["Bcc"] == f"Hidden <{bcc.email}>"  # the sender's own record keeps who got a blind copy

    events = await _events(api, account)
    assert events == [{"event": "messageSent", "data": {
        "messageId": message_id, "response": body["response"],
        "envelope": {"from": sender.email, "to": [to.email, cc.email, bcc.email]}}}]
    counters = (await api.get(f"/v1/account/{account}")).json()["counters"]
    assert counters["events"]["messageSent"] == 1


async def test_submission_port_with_starttls_and_auth_relays_to_the_world(
        api: Api, dovecot: DovecotServer, smtp_sink: SmtpSink, mail_user: MailUserFactory) -> None:
    sender = mail_user()
    to, hidden = _external(), _external()
    account = await _create(api, account_body(dovecot, sender, "sender2"))
    response = await api.post(f"/v1/account/{account}/submit", {
        "from": {"name": "Sales Desk", "address": sender.email},
        "to": [{"address": to}], "bcc": [{"address": hidden}],
        "subject": "Through submission", "html": "<p>only html</p>",
    })
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"].startswith("250 ")
    received = (await asyncio.to_thread(smtp_sink.wait_for_messages, recipient=to))[0]
    assert received.mail_from == sender.email
    assert set(received.rcpt_tos) == {to, hidden}
    message = received.parsed()
    assert "Bcc" not in message and hidden.encode() not in received.data
    assert message["From"] == f"Sales Desk <{sender.email}>"
    assert message["Message-ID"] == body["messageId"]
    assert message.get_content_type() == "text/html"
    assert message.get_content().strip() == "<p>only html</p>"
    sent = await asyncio.to_thread(_sent_folder, dovecot, sender)
    assert len(sent) == 1 and "\\Seen" in sent[0][0]
    assert [e["data"]["envelope"] for e in await _events(api, account)] == [{"from": sender.email,
                                                                             "to": [to, hidden]}]


async def test_refused_recipient_is_a_4xx_and_nothing_is_sent_copied_or_recorded(
        api: Api, dovecot: DovecotServer, smtp_sink: SmtpSink, mail_user: MailUserFactory) -> None:
    sender = mail_user()
    good, refused = _external(), _external()
    smtp_sink.refuse(refused)
    account = await _create(api, account_body(dovecot, sender, "sender3"))
    response = await api.post(f"/v1/account/{account}/submit", {
        "to": [{"address": good}, {"address": refused}], "subject": "Refused", "text": "x"})
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["code"] == "SMTPRejected" and body["statusCode"] == response.status_code
    assert "550" in body["message"] and refused in body["message"]
    _assert_no_secret(response, sender.password)
    await asyncio.sleep(0.3)
    assert smtp_sink.messages_for(good) == []
    assert await asyncio.to_thread(_sent_folder, dovecot, sender) == []
    assert await _events(api, account) == []
    assert "messageSent" not in (await api.get(f"/v1/account/{account}")).json()["counters"]["events"]


async def test_wrong_stored_smtp_password_is_smtp_auth_failed(api: Api, dovecot: DovecotServer,
                                                              mail_user: MailUserFactory) -> None:
    sender = mail_user()
    wrong = "wrong-" + secrets.token_hex(8)
    body = account_body(dovecot, sender, "sender4")
    body["smtp"]["auth"]["pass"] = wrong
    account = await _create(api, body)
    response = await api.post(f"/v1/account/{account}/submit", {"to": [{"address": _external()}], "text": "x"})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"] == "SMTPAuthFailed"
    assert "535" in response.json()["message"] or "uthentication" in response.json()["message"]
    _assert_no_secret(response, wrong, sender.password)
    assert await asyncio.to_thread(_sent_folder, dovecot, sender) == []
    assert await _events(api, account) == []


async def test_bad_input_is_a_400_naming_the_field(api: Api, dovecot: DovecotServer,
                                                   mail_user: MailUserFactory) -> None:
    sender = mail_user()
    account = await _create(api, account_body(dovecot, sender, "sender5"))
    to = [{"address": _external()}]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"subject": "nobody to send to", "text": "x"}, "to"),
        ({"to": [{"address": "not-an-address"}]}, "to[0].address"),
        ({"to": [{"name": "Eve\r\nBcc: victim@example.test", "address": "eve@example.test"}]}, "to[0].name"),
        ({"to": to, "subject": "Hi\r\nBcc: victim@example.test"}, "subject"),
        ({"to": to, "headers": {"X-Evil": "x\r\nBcc: victim@example.test"}}, "headers.X-Evil"),
        ({"to": to, "headers": {"Bcc": "victim@example.test"}}, "headers.Bcc"),
        ({"to": to, "headers": {"Bad Name": "x"}}, "headers.Bad Name"),
        ({"to": to, "attachments": [{"filename": "a.bin", "content": "not base64!"}]}, "attachments[0].content"),
        ({"to": to, "attachments": [{"filename": "a.bin", "contentType": "nonsense", "content": "eA=="}]},
         "attachments[0].contentType"),
        ({"to": to, "from": {"address": "me@example.test", "extra": 1}}, "from.extra"),
        ({"to": to, "sendAt": "tomorrow"}, "sendAt"),
        ({"to": [{"address": "x@example.test"}] * 1001}, "to"),
    ]
    for payload, field in cases:
        response = await api.post(f"/v1/account/{account}/submit", payload)
        assert response.status_code == 400, (payload, response.text)
        body = response.json()
        assert body["code"] == "InputValidationError", body
        assert body["details"][0]["field"] == field, (field, body)
        assert field in body["message"], body
    assert await _events(api, account) == []
    assert await asyncio.to_thread(_sent_folder, dovecot, sender) == []


async def test_unknown_and_foreign_accounts_are_404_and_read_tokens_are_refused(
        api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    payload = {"to": [{"address": _external()}], "text": "x"}
    response = await api.post("/v1/account/nobody/submit", payload)
    assert response.status_code == 404 and response.json()["code"] == "AccountNotFound"
    account = await _create(api, account_body(dovecot, mail_user(), "sender6"))
    _, tenant_token = await api.runtime.tokens.create(["read", "write"], tenant="other-tenant")
    _, reader = await api.runtime.tokens.create(["read"])
    url = f"/v1/account/{account}/submit"
    response = await api.client.post(url, json=payload, headers=api.auth(tenant_token))
    assert response.status_code == 404 and response.json()["code"] == "AccountNotFound"
    response = await api.client.post(url, json=payload, headers=api.auth(reader))
    assert response.status_code == 403
    await api.put(f"/v1/account/{account}", {"disabled": True})
    response = await api.post(url, payload)
    assert response.status_code == 409 and response.json()["code"] == "AccountDisabled"
    assert await _events(api, account) == []


async def test_account_without_smtp_is_a_400_naming_smtp(api: Api, dovecot: DovecotServer,
                                                         mail_user: MailUserFactory) -> None:
    body = account_body(dovecot, mail_user(), "sender7")
    del body["smtp"]
    account = await _create(api, body)
    response = await api.post(f"/v1/account/{account}/submit", {"to": [{"address": _external()}], "text": "x"})
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["field"] == "smtp"


async def test_without_imap_or_sent_folder_the_message_is_sent_without_a_copy(
        api: Api, dovecot: DovecotServer, postfix: PostfixServer, mail_user: MailUserFactory) -> None:
    sender, recipient = mail_user(), mail_user()
    no_imap = await _create(api, {"account": "noimap", "email": sender.email, "imap": {"disabled": True},
                                  "smtp": _postfix_smtp(postfix)})
    response = await api.post(f"/v1/account/{no_imap}/submit", {"to": [{"address": recipient.email}], "text": "1"})
    assert response.status_code == 200, response.text
    assert response.json()["sentCopy"] == {"stored": False, "reason": "IMAP is disabled for this account"}
    assert len(await _events(api, no_imap)) == 1

    # A Sent folder that does not exist: the APPEND fails after the mail is gone; the answer is still a success.
    body = account_body(dovecot, sender, "badsent", smtp=_postfix_smtp(postfix))
    body["imap"]["sentMailPath"] = "Nowhere"
    bad_sent = await _create(api, body)
    response = await api.post(f"/v1/account/{bad_sent}/submit", {"to": [{"address": recipient.email}], "text": "2"})
    assert response.status_code == 200, response.text
    copy = response.json()["sentCopy"]
    assert copy["stored"] is False and copy["path"] == "Nowhere" and "Nowhere" in copy["reason"]
    _assert_no_secret(response, sender.password)
    assert len(await _events(api, bad_sent)) == 1
    # A refused IMAP login: same.
    body = account_body(dovecot, sender, "badimap", smtp=_postfix_smtp(postfix))
    body["imap"]["auth"]["pass"] = wrong = "wrong-" + secrets.token_hex(6)
    bad_imap = await _create(api, body)
    response = await api.post(f"/v1/account/{bad_imap}/submit", {"to": [{"address": recipient.email}], "text": "3"})
    assert response.status_code == 200, response.text
    copy = response.json()["sentCopy"]
    assert copy["stored"] is False and copy["reason"].startswith("IMAP login failed")
    _assert_no_secret(response, sender.password, wrong)
    assert len(await _events(api, bad_imap)) == 1

    delivered = await asyncio.to_thread(wait_for_messages, dovecot, recipient.username, recipient.password, 3)
    assert sorted(_parse(m).get_content().strip() for m in delivered) == ["1", "2", "3"]
    assert fetch_messages(dovecot, sender.username, sender.password, "Sent") == []


async def test_smtp_login_with_password_on_the_sink(api: Api, dovecot: DovecotServer, smtp_sink: SmtpSink,
                                                    mail_user: MailUserFactory) -> None:
    """Implicit settings of a third-party server: STARTTLS offered, AUTH PLAIN with the stored password."""
    sender = mail_user()
    login, password = f"login-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    assert smtp_sink.users is not None
    smtp_sink.users[login] = password
    try:
        to = _external()
        body = account_body(dovecot, sender, "sender8", smtp={
            **smtp_body(dovecot, sender), "port": smtp_sink.port, "auth": {"user": login, "pass": password}})
        account = await _create(api, body)
        response = await api.post(f"/v1/account/{account}/submit", {"to": [{"address": to}], "text": "hello"})
        assert response.status_code == 200, response.text
        assert response.json()["response"] == "250 2.0.0 Message accepted by the test sink"
        received = (await asyncio.to_thread(smtp_sink.wait_for_messages, recipient=to))[0]
        assert received.auth_login == login
        _assert_no_secret(response, password)
    finally:
        smtp_sink.users.pop(login, None)


async def test_oauth2_access_token_logs_in_to_smtp_and_imap_with_xoauth2(
        api: Api, dovecot: DovecotServer, smtp_sink: SmtpSink, mail_user: MailUserFactory) -> None:
    token = "token-" + secrets.token_hex(8)
    sender = mail_user(password=token)  # the test Dovecot takes a user's password as the XOAUTH2 bearer token
    imap = {"host": "localhost", "port": dovecot.ports.imaps, "secure": True}
    smtp = {"host": "localhost", "port": dovecot.ports.submission, "secure": False}
    account = await _create(api, {"account": "oauth", "email": sender.email, "imap": imap, "smtp": smtp,
                                  "oauth2": {"accessToken": token, "auth": {"user": sender.username}}})
    to = _external()
    response = await api.post(f"/v1/account/{account}/submit", {"to": [{"address": to}], "text": "via oauth"})
    assert response.status_code == 200, response.text
    assert response.json()["sentCopy"] == {"stored": True, "path": "Sent"}
    _assert_no_secret(response, token)
    received = (await asyncio.to_thread(smtp_sink.wait_for_messages, recipient=to))[0]
    assert received.mail_from == sender.email
