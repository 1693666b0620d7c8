"""From a submit request (EmailEngine's field names) to the MIME message and its SMTP envelope.

The request models validate each field where it is (an address, a base64 body, a line break in a
subject), so a bad value is refused by name; `compose` checks what spans fields (recipients, total size,
custom headers) and builds the message. Everything is encoded 7-bit (quoted-printable or base64 bodies,
RFC 2047 words in headers), so no server needs 8BITMIME or SMTPUTF8. Bcc recipients are in the envelope
only; the copy for the sender's Sent folder carries the Bcc header, as mail clients keep it.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy, utils
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from mailyard.errors import invalid

MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # text + html + decoded attachments
MAX_RECIPIENTS = 1000
MAX_HEADERS = 100
MAX_HEADER_VALUE = 8000
# SMTP line endings, and every body encoded 7-bit (quoted-printable or base64 where needed).
POLICY = policy.SMTP.clone(cte_type="7bit")

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*\Z")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_FIELD_NAME = re.compile(r"[!-9;-~]{1,76}\Z")  # printable ASCII without the colon (RFC 5322 ftext)
_RESTRICTED_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*"
_MEDIA_TYPE = re.compile(rf"{_RESTRICTED_NAME}/{_RESTRICTED_NAME}\Z")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>\Z")
# Headers the request's own fields, or the MIME structure, produce.
_RESERVED = {
    "from": "from", "to": "to", "cc": "cc", "bcc": "bcc", "reply-to": "replyTo", "subject": "subject",
    "content-type": None, "content-transfer-encoding": None, "content-disposition": None, "mime-version": None,
}


# -- field validators (a ValueError names the field through pydantic's location) -------------------------
def _email_address(value: str) -> str:
    """The address in its ASCII form (an internationalised domain becomes IDNA), or ValueError."""
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError("is not a valid email address")
    if not local.isascii():
        raise ValueError("has a non-ASCII local part, which is not supported")
    if len(local) > 64 or not _LOCAL_PART.match(local):
        raise ValueError("is not a valid email address")
    try:
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("has an invalid domain") from None
    if not all(_LABEL.match(label) for label in ascii_domain.split(".")):
        raise ValueError("has an invalid domain")
    address = f"{local}@{ascii_domain}"
    if len(address) > 254:
        raise ValueError("is too long")
    return address


def _no_control(value: str | None) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError("must not contain line breaks or control characters")
    return value


def _single_line(value: str | None) -> str | None:
    if value is not None and _CONTROL_BUT_TAB.search(value):
        raise ValueError("must not contain line breaks or control characters")
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("should be a base64 string")
    if len(value) > MAX_MESSAGE_BYTES * 4 // 3 + 4096:
        raise ValueError(f"is larger than the {MAX_MESSAGE_BYTES // (1024 * 1024)} MB limit")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


def _media_type(value: str | None) -> str | None:
    if value is None:
        return None
    media = value.split(";", 1)[0].strip().lower()  # parameters (a charset) do not apply to base64 bytes
    if not _MEDIA_TYPE.match(media):
        raise ValueError("should be a media type like application/pdf")
    if media.startswith("multipart/") or (media.startswith("message/") and media != "message/rfc822"):
        raise ValueError(f"{media} is not supported for attachments")
    return media


AddressText = Annotated[str, Field(max_length=320), AfterValidator(_email_address)]
Base64Bytes = Annotated[bytes, BeforeValidator(_base64),
                        WithJsonSchema({"type": "string", "contentEncoding": "base64"})]


# -- request models ------------------------------------------------------------------------------------
class EmailAddress(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str | None, Field(max_length=256), AfterValidator(_no_control)] = None
    address: AddressText


AddressList = Annotated[list[EmailAddress], BeforeValidator(_as_list), Field(max_length=MAX_RECIPIENTS)]


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: Annotated[str | None, Field(max_length=255), AfterValidator(_no_control)] = None
    contentType: Annotated[str | None, Field(max_length=255), AfterValidator(_media_type)] = Field(
        None, description="Guessed from the filename when not given")
    content: Base64Bytes = Field(description="The file, base64 encoded")


class SubmitRequest(BaseModel):
    """A message to send, in EmailEngine's names."""

    model_config = ConfigDict(extra="forbid")
    from_: EmailAddress | None = Field(None, alias="from", description="Defaults to the account's name and email")
    to: AddressList = Field(default_factory=list)
    cc: AddressList = Field(default_factory=list)
    bcc: AddressList = Field(default_factory=list, description="Receives the message; never in its headers")
    replyTo: AddressList = Field(default_factory=list, description="An address or a list of addresses")
    subject: Annotated[str | None, Field(max_length=MAX_HEADER_VALUE), AfterValidator(_single_line)] = None
    text: str | None = None
    html: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers, e.g. In-Reply-To")
    attachments: list[Attachment] = Field(default_factory=list, max_length=250)


# -- composing -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Composed:
    message: EmailMessage  # as transmitted (no Bcc header)
    message_id: str
    sender: str  # envelope MAIL FROM
    recipients: list[str]  # envelope RCPT TO: to, cc and bcc, each once
    data: bytes  # what is transmitted
    sent_copy: bytes  # what is stored in the Sent folder: the same message with its Bcc header


def _header_address(value: EmailAddress) -> Address:
    return Address(display_name=value.name or "", addr_spec=value.address)


def _unique(addresses: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return out


def _check_size(request: SubmitRequest) -> None:
    sizes = {"text": len((request.text or "").encode()), "html": len((request.html or "").encode()),
             "attachments": sum(len(a.content) for a in request.attachments)}
    if sum(sizes.values()) > MAX_MESSAGE_BYTES:
        biggest = max(sizes, key=lambda name: sizes[name])
        raise invalid(biggest, f"makes the message larger than the {MAX_MESSAGE_BYTES // (1024 * 1024)} MB limit")


def _custom_headers(headers: dict[str, str]) -> tuple[dict[str, str], str | None, str | None]:
    """(headers to add, Message-ID, Date) after checking every name and value."""
    if len(headers) > MAX_HEADERS:
        raise invalid("headers", f"should have at most {MAX_HEADERS} entries")
    extra: dict[str, str] = {}
    message_id = date = None
    for name, value in headers.items():
        where = f"headers.{name}"
        if not _FIELD_NAME.match(name):
            raise invalid(where, "is not a valid header name")
        lower = name.lower()
        if lower in _RESERVED:
            field = _RESERVED[lower]
            raise invalid(where, f'is set from the "{field}" field' if field else "is set from the message body")
        if _CONTROL_BUT_TAB.search(value):
            raise invalid(where, "must not contain line breaks or control characters")
        if len(value) > MAX_HEADER_VALUE:
            raise invalid(where, f"should have at most {MAX_HEADER_VALUE} characters")
        value = value.strip()
        if lower == "message-id":
            message_id = value if value.startswith("<") else f"<{value}>"
            if not _MESSAGE_ID.match(message_id):
                raise invalid(where, "should look like <id@domain>")
        elif lower == "date":
            try:
                utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                raise invalid(where, "is not a valid RFC 5322 date") from None
            date = value
        else:
            extra[name] = value
    return extra, message_id, date


def _add_body(message: EmailMessage, request: SubmitRequest) -> None:
    if request.text and request.html:
        message.set_content(request.text)
        message.add_alternative(request.html, subtype="html")
    elif request.html:
        message.set_content(request.html, subtype="html")
    elif request.text or not request.attachments:
        message.set_content(request.text or "")
    for index, attachment in enumerate(request.attachments):
        media = attachment.contentType or (mimetypes.guess_type(attachment.filename or "")[0]
                                           or "application/octet-stream")
        maintype, subtype = media.split("/", 1)
        cte = "base64"
        if media == "message/rfc822":  # RFC 2046: a message part is never base64-encoded
            if not attachment.content.isascii() or any(len(line) > 998 for line in attachment.content.splitlines()):
                raise invalid(f"attachments[{index}].content", "is not a 7-bit message; attach it as "
                              "application/octet-stream")
            cte = "7bit"
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, cte=cte,
                               filename=attachment.filename)


def compose(request: SubmitRequest, *, account_name: str | None, account_email: str | None,
            now: datetime | None = None) -> Composed:
    """The message and its envelope; raises MailyardError (400, naming the field) on bad input."""
    sender = request.from_
    if sender is None:
        if not account_email:
            raise invalid("from", "is required: the account has no email address")
        try:
            sender = EmailAddress(name=account_name, address=account_email)
        except ValueError:
            raise invalid("from", "is required: the account's email address cannot be used as a sender") from None
    recipients = _unique([a.address for a in [*request.to, *request.cc, *request.bcc]])
    if not recipients:
        raise invalid("to", "needs at least one recipient (to, cc or bcc)")
    if len(recipients) > MAX_RECIPIENTS:
        raise invalid("to", f"should have at most {MAX_RECIPIENTS} recipients in all (to, cc and bcc)")
    _check_size(request)
    extra, message_id, date = _custom_headers(request.headers)
    message_id = message_id or f"<{uuid.uuid4()}@{sender.address.rpartition('@')[2]}>"

    message = EmailMessage(policy=POLICY)
    message["From"] = _header_address(sender)
    if request.to:
        message["To"] = [_header_address(a) for a in request.to]
    if request.cc:
        message["Cc"] = [_header_address(a) for a in request.cc]
    if request.bcc:  # for the Sent copy only; removed before the message is transmitted
        message["Bcc"] = [_header_address(a) for a in request.bcc]
    if request.replyTo:
        message["Reply-To"] = [_header_address(a) for a in request.replyTo]
    if request.subject is not None:
        message["Subject"] = request.subject
    message["Date"] = date or utils.format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id
    _add_body(message, request)
    for name, value in extra.items():
        try:
            message[name] = value
        except (ValueError, TypeError, IndexError):  # the stdlib's parser of a structured header gave up
            raise invalid(f"headers.{name}", "is not a valid value for this header") from None
    sent_copy = message.as_bytes()
    if request.bcc:
        del message["Bcc"]
        data = message.as_bytes()
    else:
        data = sent_copy
    return Composed(message, message_id, sender.address, recipients, data, sent_copy)
