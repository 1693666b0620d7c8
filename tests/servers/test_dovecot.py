"""End-to-end checks of the Dovecot fixture: logins on every port, TLS, mechanisms, LMTP, quota, relay."""

from __future__ import annotations

import base64
import imaplib
import poplib
import smtplib
import socket
import ssl
from collections.abc import Callable
from typing import BinaryIO

import pytest

from .dovecot import DovecotServer
from .fixtures import MailUserFactory
from .mailbox import fetch_messages, imap_login
from .smtp_sink import SmtpSink
from .tls import ThrowawayCA


def _message(subject: str, body: str = "hello") -> bytes:
    return f"From: sender@example.test\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()


def _sasl_once(initial: bytes) -> Callable[[bytes], bytes]:
    """An imaplib authenticator answering the first challenge, then aborting on an error challenge."""
    answers = [initial]
    return lambda _challenge: answers.pop() if answers else b""


def test_imap_login_on_plain_port(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    client = imap_login(dovecot, user.username, user.password)
    assert client.select("INBOX")[0] == "OK"
    client.logout()


def test_imap_starttls_verifies_against_test_ca(
    dovecot: DovecotServer, mail_user: MailUserFactory, test_ca: ThrowawayCA
) -> None:
    user = mail_user()
    client = imaplib.IMAP4(dovecot.host, dovecot.ports.imap, timeout=10)
    client.starttls(ssl_context=test_ca.client_context())
    assert client.login(user.username, user.password)[0] == "OK"
    client.logout()


def test_imaps_implicit_tls_verifies_against_test_ca(
    dovecot: DovecotServer, mail_user: MailUserFactory, test_ca: ThrowawayCA
) -> None:
    user = mail_user()
    client = imaplib.IMAP4_SSL(dovecot.host, dovecot.ports.imaps, ssl_context=test_ca.client_context())
    assert client.login(user.username, user.password)[0] == "OK"
    client.logout()


def test_imaps_certificate_is_rejected_by_the_system_trust_store(dovecot: DovecotServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(dovecot.host, dovecot.ports.imaps, ssl_context=ssl.create_default_context())


def test_wrong_password_is_refused(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    client = imaplib.IMAP4(dovecot.host, dovecot.ports.imap, timeout=10)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(user.username, user.password + "x")
    client.logout()


def test_cram_md5_login(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    client = imaplib.IMAP4(dovecot.host, dovecot.ports.imap, timeout=10)
    assert client.login_cram_md5(user.username, user.password)[0] == "OK"
    client.logout()


def test_xoauth2_login_with_the_password_as_bearer_token(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user(password="ya29.test-access-token")
    sasl = f"user={user.username}\x01auth=Bearer {user.password}\x01\x01".encode()
    client = imaplib.IMAP4(dovecot.host, dovecot.ports.imap, timeout=10)
    assert client.authenticate("XOAUTH2", _sasl_once(sasl))[0] == "OK"
    client.logout()


def test_xoauth2_with_a_wrong_token_is_refused(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    sasl = f"user={user.username}\x01auth=Bearer not-the-token\x01\x01".encode()
    client = imaplib.IMAP4(dovecot.host, dovecot.ports.imap, timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        client.authenticate("XOAUTH2", _sasl_once(sasl))
    client.logout()


def test_oauthbearer_login_with_the_password_as_bearer_token(
    dovecot: DovecotServer, mail_user: MailUserFactory
) -> None:
    user = mail_user()
    port = dovecot.ports.imap
    sasl = f"n,a={user.username},\x01host=127.0.0.1\x01port={port}\x01auth=Bearer {user.password}\x01\x01"
    client = imaplib.IMAP4(dovecot.host, port, timeout=10)
    assert client.authenticate("OAUTHBEARER", _sasl_once(sasl.encode()))[0] == "OK"
    client.logout()


def test_password_change_and_removal_take_effect_at_once(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    dovecot.set_password(user.username, "new-secret")
    imap_login(dovecot, user.username, "new-secret").logout()
    dovecot.remove_user(user.username)
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(dovecot, user.username, "new-secret")


def test_pop3_login_plain_and_stls(dovecot: DovecotServer, mail_user: MailUserFactory, test_ca: ThrowawayCA) -> None:
    user = mail_user()
    plain = poplib.POP3(dovecot.host, dovecot.ports.pop3, timeout=10)
    plain.user(user.username)
    assert plain.pass_(user.password).startswith(b"+OK")
    plain.quit()
    secure = poplib.POP3(dovecot.host, dovecot.ports.pop3, timeout=10)
    secure.stls(context=test_ca.client_context())
    secure.user(user.username)
    assert secure.pass_(user.password).startswith(b"+OK")
    secure.quit()


def test_pop3s_reads_a_delivered_message(
    dovecot: DovecotServer, mail_user: MailUserFactory, test_ca: ThrowawayCA
) -> None:
    user = mail_user()
    dovecot.deliver(user.email, _message("over pop3"))
    client = poplib.POP3_SSL(dovecot.host, dovecot.ports.pop3s, context=test_ca.client_context(), timeout=10)
    client.user(user.username)
    client.pass_(user.password)
    _, lines, _ = client.retr(1)
    assert b"Subject: over pop3" in lines
    client.quit()


def test_lmtp_delivery_is_readable_over_imap(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    dovecot.deliver(user.email, _message("via lmtp", "body text"))
    [message] = fetch_messages(dovecot, user.username, user.password)
    assert b"Subject: via lmtp" in message
    assert b"body text" in message


def test_message_larger_than_the_remaining_quota_is_refused(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user(quota_bytes=2000)
    dovecot.deliver(user.email, _message("fits", "x" * 1000))
    with pytest.raises(smtplib.SMTPDataError) as refused:
        dovecot.deliver(user.email, _message("too big", "y" * 3000))
    assert refused.value.smtp_code == 552
    assert b"Quota exceeded" in refused.value.smtp_error


def test_user_already_over_quota_is_refused_at_rcpt(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    dovecot.deliver(user.email, _message("fills the box", "x" * 2000))
    dovecot.set_quota(user.username, 1000)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        dovecot.deliver(user.email, _message("one more"))
    code, text = refused.value.recipients[user.email]
    assert code == 552
    assert b"Quota exceeded" in text


def test_sieve_script_files_lmtp_delivery_into_a_folder(dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    dovecot.install_sieve(
        user.username,
        'require ["fileinto", "mailbox"];\n'
        'if header :contains "subject" "invoice" { fileinto :create "Invoices"; stop; }\n',
    )
    dovecot.deliver(user.email, _message("Your invoice"))
    assert len(fetch_messages(dovecot, user.username, user.password, "Invoices")) == 1
    assert fetch_messages(dovecot, user.username, user.password) == []


def test_submission_relays_authenticated_mail_to_the_sink(
    dovecot: DovecotServer, mail_user: MailUserFactory, smtp_sink: SmtpSink, test_ca: ThrowawayCA
) -> None:
    user = mail_user()
    recipient = f"outside-{user.username.split('@')[0]}@elsewhere.test"
    with smtplib.SMTP(dovecot.host, dovecot.ports.submission, timeout=10) as smtp:
        smtp.starttls(context=test_ca.client_context())
        smtp.login(user.username, user.password)
        smtp.sendmail(user.email, [recipient], _message("relayed"))
    [received] = smtp_sink.wait_for_messages(1, recipient=recipient)
    assert received.mail_from == user.email
    assert b"Subject: relayed" in received.data


def test_submission_accepts_xoauth2(dovecot: DovecotServer, mail_user: MailUserFactory, smtp_sink: SmtpSink) -> None:
    user = mail_user()
    recipient = f"xoauth2-{user.username.split('@')[0]}@elsewhere.test"
    sasl = f"user={user.username}\x01auth=Bearer {user.password}\x01\x01"
    with smtplib.SMTP(dovecot.host, dovecot.ports.submission, timeout=10) as smtp:
        smtp.ehlo()
        assert "XOAUTH2" in smtp.esmtp_features["auth"].split()
        code, _ = smtp.auth("XOAUTH2", lambda challenge=None: sasl)
        assert code == 235
        smtp.sendmail(user.email, [recipient], _message("sent with a token"))
    assert smtp_sink.wait_for_messages(1, recipient=recipient)


def test_submission_refuses_sending_without_login(dovecot: DovecotServer) -> None:
    with smtplib.SMTP(dovecot.host, dovecot.ports.submission, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused):
            smtp.sendmail("anyone@example.test", ["x@elsewhere.test"], _message("nope"))


def test_script_uploaded_over_managesieve_filters_lmtp_delivery(
    dovecot: DovecotServer, mail_user: MailUserFactory
) -> None:
    user = mail_user()
    token = base64.b64encode(f"\0{user.username}\0{user.password}".encode()).decode()
    script = (
        b'require ["fileinto", "mailbox"];\r\nif header :contains "subject" "news" { fileinto :create "News"; }\r\n'
    )
    with socket.create_connection((dovecot.host, dovecot.ports.managesieve), timeout=10) as sock:
        stream = sock.makefile("rwb")
        greeting = _read_until_ok(stream)
        assert b'"IMPLEMENTATION"' in greeting
        for command in (
            f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode(),
            b'PUTSCRIPT "filters" {%d+}\r\n%s\r\n' % (len(script), script),
            b'SETACTIVE "filters"\r\n',
        ):
            stream.write(command)
            stream.flush()
            assert _read_until_ok(stream).startswith(b"OK"), command
    dovecot.deliver(user.email, _message("Weekly news"))
    assert len(fetch_messages(dovecot, user.username, user.password, "News")) == 1


def _read_until_ok(stream: BinaryIO) -> bytes:
    """Read a ManageSieve response up to its final OK/NO/BYE line."""
    lines: list[bytes] = []
    while True:
        line = stream.readline()
        lines.append(line)
        if not line or line.startswith((b"OK", b"NO", b"BYE")):
            return b"".join(lines)
