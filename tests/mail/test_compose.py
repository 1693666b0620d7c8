"""Composition of a submit request into a MIME message and its envelope (pure, no server)."""

from __future__ import annotations

import base64
import email
import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from pydantic import ValidationError

from mailyard.api.errors import field_path
from mailyard.errors import MailyardError
from mailyard.mail import compose as compose_module
from mailyard.mail.compose import Composed, SubmitRequest, compose

TO = [{"name": "Bob", "address": "bob@example.test"}]


def build(account_name: str | None = "John Doe", account_email: str | None = "john@example.test",
          **fields: Any) -> Composed:
    fields.setdefault("to", TO)
    return compose(SubmitRequest.model_validate(fields), account_name=account_name, account_email=account_email,
                   now=datetime(2026, 11, 22, 10, 30, tzinfo=UTC))


def text_of(part: EmailMessage | None) -> str:
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def refused_field(**fields: Any) -> str:
    """The field a request is refused for, whether by the model or by compose."""
    fields.setdefault("to", TO)
    try:
        build(**fields)
    except ValidationError as exc:
        return field_path(exc.errors()[0]["loc"])
    except MailyardError as exc:
        assert exc.code == "InputValidationError"
        return exc.errors[0].field
    raise AssertionError(f"accepted: {fields}")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- defaults and headers ---------------------------------------------------------------------------------
def test_defaults_from_the_account() -> None:
    composed = build(subject="Hello", text="Hi Bob")
    message = parse(composed.data)
    assert message["From"] == "John Doe <john@example.test>"
    assert message["To"] == "Bob <bob@example.test>"
    assert message["Subject"] == "Hello"
    assert message["Date"] == "Sun, 22 Nov 2026 10:30:00 +0000"
    assert re.fullmatch(r"<[0-9a-f-]{36}@example\.test>", composed.message_id)
    assert message["Message-ID"] == composed.message_id
    assert message["MIME-Version"] == "1.0"
    assert (composed.sender, composed.recipients) == ("john@example.test", ["bob@example.test"])
    assert message.get_content_type() == "text/plain" and text_of(message) == "Hi Bob\n"


def test_from_overrides_the_account_and_names_the_message_id_domain() -> None:
    composed = build(**{"from": {"address": "sales@shop.test"}})
    assert parse(composed.data)["From"] == "sales@shop.test"
    assert composed.sender == "sales@shop.test"
    assert composed.message_id.endswith("@shop.test>")


def test_every_message_id_is_new() -> None:
    assert build().message_id != build().message_id


def test_message_id_and_date_from_headers_win() -> None:
    composed = build(headers={"Message-ID": "given@example.test", "Date": "Tue, 01 Dec 2026 08:00:00 +0100"})
    message = parse(composed.data)
    assert composed.message_id == message["Message-ID"] == "<given@example.test>"
    assert message["Date"] == "Tue, 01 Dec 2026 08:00:00 +0100"
    assert message.get_all("Message-ID") == ["<given@example.test>"] and len(message.get_all("Date")) == 1


def test_custom_headers_and_reply_to() -> None:
    message = parse(build(headers={"In-Reply-To": "<a@b.test>", "References": "<a@b.test>", "X-Tag": "ünï"},
                          replyTo={"name": "Desk", "address": "desk@example.test"}).data)
    assert message["In-Reply-To"] == "<a@b.test>" and message["References"] == "<a@b.test>"
    assert message["X-Tag"] == "ünï"
    assert message["Reply-To"] == "Desk <desk@example.test>"
    listed = parse(build(replyTo=[{"address": "a@example.test"}, {"address": "b@example.test"}]).data)
    assert listed["Reply-To"] == "a@example.test, b@example.test"


def test_display_names_are_quoted_and_encoded() -> None:
    message = parse(build(to=[{"name": 'Doe, "Jane"', "address": "jane@example.test"},
                              {"name": "Zoë", "address": "zoe@example.test"}], subject="Grüße").data)
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        ('Doe, "Jane"', "jane@example.test"), ("Zoë", "zoe@example.test")]
    assert message["Subject"] == "Grüße"


def test_the_message_is_7bit_with_crlf_lines() -> None:
    composed = build(subject="Ünïcödé", text="Grüße\n" + "x" * 2000, html="<p>ü</p>",
                     attachments=[{"filename": "b.bin", "content": b64(bytes(range(256)))}])
    assert composed.data.isascii()
    lines = composed.data.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    assert b"\n" not in composed.data.replace(b"\r\n", b"")
    assert text_of(parse(composed.data).get_body(("plain",))).startswith("Grüße\n")


def test_international_domains_become_idna() -> None:
    composed = build(to=[{"address": "info@bücher.test"}])
    assert composed.recipients == ["info@xn--bcher-kva.test"]
    assert parse(composed.data)["To"] == "info@xn--bcher-kva.test"


# -- recipients and bcc -----------------------------------------------------------------------------------
def test_bcc_is_an_envelope_recipient_but_never_a_header() -> None:
    composed = build(cc=[{"address": "carol@example.test"}], bcc=[{"name": "Hidden", "address": "dan@example.test"}])
    assert composed.recipients == ["bob@example.test", "carol@example.test", "dan@example.test"]
    message = parse(composed.data)
    assert "Bcc" not in message and b"dan@example.test" not in composed.data and b"Hidden" not in composed.data
    assert message["Cc"] == "carol@example.test"
    assert "Bcc" not in composed.message
    copy = parse(composed.sent_copy)
    assert copy["Bcc"] == "Hidden <dan@example.test>"
    assert copy["Message-ID"] == message["Message-ID"]


def test_bcc_only_is_enough_and_recipients_are_unique() -> None:
    composed = build(to=[], bcc=[{"address": "dan@example.test"}])
    assert composed.recipients == ["dan@example.test"]
    assert "To" not in parse(composed.data)
    twice = build(to=[{"address": "Bob@Example.test"}], cc=[{"address": "bob@example.test"}])
    assert twice.recipients == ["Bob@Example.test"]


def test_a_single_address_object_is_accepted_for_lists() -> None:
    assert build(to={"address": "bob@example.test"}).recipients == ["bob@example.test"]


def test_no_recipient_is_refused() -> None:
    assert refused_field(to=[]) == "to"
    assert refused_field(to=[], cc=[], bcc=[]) == "to"


def test_missing_from_without_account_email_is_refused() -> None:
    with pytest.raises(MailyardError) as caught:
        build(account_email=None)
    assert caught.value.errors[0].field == "from"


# -- structure ------------------------------------------------------------------------------------------
def test_html_only_is_text_html() -> None:
    message = parse(build(html="<p>hi</p>").data)
    assert message.get_content_type() == "text/html" and text_of(message) == "<p>hi</p>\n"


def test_text_and_html_are_alternatives() -> None:
    message = parse(build(text="plain", html="<p>rich</p>").data)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


def test_attachments_make_a_mixed_message() -> None:
    pdf = b"%PDF-1.4 binary \x00\xff"
    message = parse(build(text="plain", html="<p>rich</p>", attachments=[
        {"filename": "report.pdf", "content": b64(pdf)},
        {"filename": "naïve notes.txt", "contentType": "text/plain; charset=utf-8", "content": b64(b"hi\n")},
        {"content": b64(b"\x01\x02")},
    ]).data)
    assert message.get_content_type() == "multipart/mixed"
    parts = list(message.iter_parts())
    assert parts[0].get_content_type() == "multipart/alternative"
    attachments = list(message.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("report.pdf", "application/pdf"), ("naïve notes.txt", "text/plain"), (None, "application/octet-stream")]
    assert [a.get_payload(decode=True) for a in attachments] == [pdf, b"hi\n", b"\x01\x02"]
    assert all(a.get_content_disposition() == "attachment" for a in attachments)


def test_attachments_without_a_body() -> None:
    message = parse(build(attachments=[{"filename": "a.bin", "content": b64(b"x")}]).data)
    assert message.get_content_type() == "multipart/mixed"
    assert [a.get_filename() for a in message.iter_attachments()] == ["a.bin"]


def test_a_forwarded_message_is_attached_7bit() -> None:
    inner = b"From: a@example.test\r\nSubject: inner\r\n\r\nhello\r\n"
    composed = build(text="see attached", attachments=[{"filename": "fwd.eml", "contentType": "message/rfc822",
                                                        "content": b64(inner)}])
    attached = next(parse(composed.data).iter_attachments())
    assert attached.get_content_type() == "message/rfc822" and attached["Content-Transfer-Encoding"] == "7bit"
    assert attached.get_content()["Subject"] == "inner"
    assert refused_field(attachments=[{"contentType": "message/rfc822", "content": b64("Subject: é\r\n".encode())}]
                         ) == "attachments[0].content"


# -- refused input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fields", "field"), [
    ({"subject": "Hi\r\nBcc: victim@example.test"}, "subject"),
    ({"subject": "Hi\nthere"}, "subject"),
    ({"to": [{"name": "Eve\rX-Injected: 1", "address": "eve@example.test"}]}, "to[0].name"),
    ({"from": {"name": "Me\n", "address": "me@example.test"}}, "from.name"),
    ({"headers": {"X-Evil": "a\r\nBcc: victim@example.test"}}, "headers.X-Evil"),
    ({"headers": {"X-Evil": "a\x00b"}}, "headers.X-Evil"),
    ({"headers": {"X-Evil\r\nBcc": "victim@example.test"}}, "headers.X-Evil\r\nBcc"),
    ({"headers": {"Bad Name": "x"}}, "headers.Bad Name"),
    ({"headers": {"Colon:Name": "x"}}, "headers.Colon:Name"),
    ({"headers": {"Bcc": "victim@example.test"}}, "headers.Bcc"),
    ({"headers": {"to": "x@example.test"}}, "headers.to"),
    ({"headers": {"Content-Type": "text/html"}}, "headers.Content-Type"),
    ({"headers": {"Message-ID": "<has space@example.test>"}}, "headers.Message-ID"),
    ({"headers": {"Date": "not a date"}}, "headers.Date"),
    ({"headers": {"X-Value": 5}}, "headers.X-Value"),
    ({"attachments": [{"filename": "a.txt\n", "content": "eA=="}]}, "attachments[0].filename"),
])
def test_header_injection_and_bad_headers_are_refused(fields: dict[str, Any], field: str) -> None:
    assert refused_field(**fields) == field


@pytest.mark.parametrize("address", [
    "plain", "@example.test", "bob@", "bob smith@example.test", "bob@exa mple.test", "<bob@example.test>",
    "bob@example.test\r\nRCPT TO:<x@y.test>", "bob..smith@example.test", ".bob@example.test", "bob@-bad-.test",
    "bob@example..test", "jöhn@example.test", "a" * 65 + "@example.test", "b@" + "x" * 300,
])
def test_bad_addresses_are_refused(address: str) -> None:
    assert refused_field(to=[{"address": address}]) == "to[0].address"
    assert refused_field(**{"from": {"address": address}}) == "from.address"


@pytest.mark.parametrize(("attachment", "field"), [
    ({"content": "not base64!"}, "attachments[0].content"),
    ({"content": "eA="}, "attachments[0].content"),
    ({"content": 12}, "attachments[0].content"),
    ({"filename": "a"}, "attachments[0].content"),
    ({"content": "eA==", "contentType": "nonsense"}, "attachments[0].contentType"),
    ({"content": "eA==", "contentType": "multipart/mixed"}, "attachments[0].contentType"),
    ({"content": "eA==", "encoding": "base64"}, "attachments[0].encoding"),
])
def test_bad_attachments_are_refused(attachment: dict[str, Any], field: str) -> None:
    assert refused_field(attachments=[attachment]) == field


def test_base64_may_be_wrapped_in_lines() -> None:
    wrapped = "\r\n".join(re.findall(".{1,76}", b64(bytes(range(200)))))
    attached = next(parse(build(attachments=[{"content": wrapped}]).data).iter_attachments())
    assert attached.get_payload(decode=True) == bytes(range(200))


def test_unknown_fields_are_refused() -> None:
    assert refused_field(sendAt="tomorrow") == "sendAt"
    assert refused_field(to=[{"address": "bob@example.test", "email": "x"}]) == "to[0].email"
    assert refused_field(from_={"address": "bob@example.test"}) == "from_"


def test_size_limit_names_the_biggest_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_module, "MAX_MESSAGE_BYTES", 1000)
    assert refused_field(text="x" * 500, attachments=[{"content": b64(b"y" * 600)}]) == "attachments"
    assert refused_field(text="x" * 400, html="y" * 700) == "html"
    build(text="x" * 400, attachments=[{"content": b64(b"y" * 500)}])


def test_too_many_recipients_are_refused() -> None:
    assert refused_field(to=[{"address": f"r{i}@example.test"} for i in range(1001)]) == "to"
    many = [{"address": f"r{i}@example.test"} for i in range(600)]
    assert refused_field(to=many, cc=[{"address": f"c{i}@example.test"} for i in range(600)]) == "to"
