"""Checks of the recording SMTP sink: what it records, whom it refuses, AUTH and STARTTLS."""

from __future__ import annotations

import smtplib

import pytest

from .smtp_sink import SmtpSink
from .tls import ThrowawayCA

MESSAGE = b"From: a@example.test\r\nSubject: sink test\r\n\r\nhello\r\n"


def test_records_envelope_and_raw_message(smtp_sink: SmtpSink) -> None:
    recipients = ["one-sink-record@elsewhere.test", "two-sink-record@elsewhere.test"]
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as smtp:
        smtp.sendmail("a@example.test", recipients, MESSAGE)
    [received] = smtp_sink.wait_for_messages(1, recipient=recipients[0])
    assert received.mail_from == "a@example.test"
    assert list(received.rcpt_tos) == recipients
    assert received.data.replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n")
    assert received.parsed()["Subject"] == "sink test"
    assert received.auth_login is None


def test_refused_recipient_gets_550_and_others_still_deliver(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse("refused-by-sink@elsewhere.test")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as smtp:
        refused = smtp.sendmail(
            "a@example.test", ["refused-by-sink@elsewhere.test", "accepted-by-sink@elsewhere.test"], MESSAGE
        )
    assert refused["refused-by-sink@elsewhere.test"][0] == 550
    [received] = smtp_sink.wait_for_messages(1, recipient="accepted-by-sink@elsewhere.test")
    assert received.rcpt_tos == ("accepted-by-sink@elsewhere.test",)


def test_auth_plain_and_login_record_the_login_used() -> None:
    with SmtpSink(users={"relay-user": "relay-pass"}) as sink:
        for mechanism in ("PLAIN", "LOGIN"):
            recipient = f"{mechanism.lower()}@elsewhere.test"
            with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
                smtp.ehlo()
                assert mechanism in smtp.esmtp_features["auth"].split()
                # smtplib's SASL helpers read the credentials from these attributes.
                smtp.user, smtp.password = "relay-user", "relay-pass"
                smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"))
                smtp.sendmail("a@example.test", [recipient], MESSAGE)
            [received] = sink.wait_for_messages(1, recipient=recipient)
            assert received.auth_login == "relay-user"


def test_wrong_password_is_refused_with_535() -> None:
    with SmtpSink(users={"relay-user": "relay-pass"}) as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
                smtp.login("relay-user", "wrong")
        assert failed.value.smtp_code == 535


def test_auth_required_refuses_anonymous_mail() -> None:
    with SmtpSink(users={"relay-user": "relay-pass"}, auth_required=True) as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                smtp.sendmail("a@example.test", ["x@elsewhere.test"], MESSAGE)
        assert refused.value.smtp_code == 530


def test_starttls_verifies_against_test_ca(smtp_sink: SmtpSink, test_ca: ThrowawayCA) -> None:
    recipient = "over-tls-sink@elsewhere.test"
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as smtp:
        smtp.starttls(context=test_ca.client_context())
        smtp.sendmail("a@example.test", [recipient], MESSAGE)
    assert smtp_sink.wait_for_messages(1, recipient=recipient)


def test_wait_for_messages_times_out_clearly(smtp_sink: SmtpSink) -> None:
    with pytest.raises(TimeoutError, match=r"never-sent@elsewhere\.test"):
        smtp_sink.wait_for_messages(1, timeout=0.2, recipient="never-sent@elsewhere.test")


def test_clear_forgets_received_messages() -> None:
    with SmtpSink() as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.sendmail("a@example.test", ["x@elsewhere.test"], MESSAGE)
        sink.wait_for_messages(1)
        sink.clear()
        assert sink.messages == []
