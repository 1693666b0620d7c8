"""End-to-end checks of the Postfix fixture: hosted mail reaches Dovecot, other mail reaches the sink."""

from __future__ import annotations

import smtplib
import time
from pathlib import Path

import pytest

from .dovecot import DovecotServer
from .fixtures import MailUserFactory
from .mailbox import wait_for_messages
from .postfix import PostfixServer
from .smtp_sink import SmtpSink
from .tls import ThrowawayCA


def _message(subject: str) -> bytes:
    return f"From: someone@remote.test\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()


def test_smtp_mail_for_a_hosted_user_is_readable_over_imap(
    postfix: PostfixServer, dovecot: DovecotServer, mail_user: MailUserFactory
) -> None:
    user = mail_user()
    with smtplib.SMTP(postfix.host, postfix.port, timeout=10) as smtp:
        smtp.sendmail("someone@remote.test", [user.email], _message("through postfix"))
    [message] = wait_for_messages(dovecot, user.username, user.password, count=1)
    assert b"Subject: through postfix" in message
    assert b"with LMTP" in message


def test_unknown_hosted_recipient_is_refused_at_rcpt(postfix: PostfixServer) -> None:
    with smtplib.SMTP(postfix.host, postfix.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("someone@remote.test", ["nobody-here@example.test"], _message("lost"))
    code, _ = refused.value.recipients["nobody-here@example.test"]
    assert code == 550


def test_mail_for_other_domains_is_relayed_to_the_sink(postfix: PostfixServer, smtp_sink: SmtpSink) -> None:
    recipient = "friend-of-postfix-test@elsewhere.test"
    with smtplib.SMTP(postfix.host, postfix.port, timeout=10) as smtp:
        smtp.sendmail("user@example.test", [recipient], _message("outbound"))
    [received] = smtp_sink.wait_for_messages(1, recipient=recipient)
    assert received.mail_from == "user@example.test"
    assert b"Subject: outbound" in received.data
    postfix.wait_until_queue_empty()


def test_starttls_verifies_against_test_ca(postfix: PostfixServer, test_ca: ThrowawayCA) -> None:
    with smtplib.SMTP(postfix.host, postfix.port, timeout=10) as smtp:
        code, _ = smtp.starttls(context=test_ca.client_context())
        assert code == 220
        assert smtp.noop()[0] == 250


def test_deferred_mail_is_delivered_by_flush_once_the_relay_is_up(
    mail_servers_dir: Path, dovecot: DovecotServer, test_ca: ThrowawayCA
) -> None:
    # A second, private instance: its relay (a sink not started yet) refuses connections at first.
    sink = SmtpSink(tls=test_ca)
    server = PostfixServer(
        mail_servers_dir / "postfix-flush",
        lmtp_port=dovecot.ports.lmtp,
        relay_host=sink.host,
        relay_port=sink.port,
        settings={"queue_run_delay": "1h", "minimal_backoff_time": "1h", "maximal_backoff_time": "1h"},
    )
    with server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as smtp:
            smtp.sendmail("user@example.test", ["later@elsewhere.test"], _message("deferred"))
        deadline = time.monotonic() + 10
        while "Connection refused" not in server.queue_listing() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.queued_ids()) == 1
        with sink:
            server.flush()
            [received] = sink.wait_for_messages(1, recipient="later@elsewhere.test")
            server.wait_until_queue_empty()
    assert b"Subject: deferred" in received.data
