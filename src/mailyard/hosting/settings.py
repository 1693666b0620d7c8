"""The settings of a hosted mailbox (everything Qboxmail's "Update email account" takes except the password).

`apply_settings` merges a request's changes over the stored settings and validates the whole result, reporting
every bad field at once under the request's own field names. The settings are stored as one JSON object.

Defaults are what a provider hands out for a new mailbox:

- every protocol (POP3, IMAP, SMTP, webmail) is open and the collaboration services (chat, ActiveSync, meeting,
  calendar, DAV) are on, because they are part of the mailbox offering and a mailbox without them surprises users;
- `api_enabled` is off: API access with the account's credentials is a power-user feature, granted on request;
- `restrict_from_field` is on, so an account can only send as itself unless an administrator relaxes it;
- `keep_copy` is on, so turning on a forward never silently empties the mailbox;
- `max_email_quota` is 1 GB (null means unlimited, which must be asked for), `outbound_limit` is 0 (the default
  limit), `password_expiration` is -1 (never);
- languages are English, the webmail shows a 24-hour clock and DD/MM/YYYY dates, time zones are null (the
  server's zone);
- every other switch is off, every text null and every list empty.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from types import UnionType
from typing import Annotated, Any, Literal, NoReturn, Union, get_args, get_origin
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from mailyard.errors import FieldError, invalid_fields

Language = Literal["it", "en", "es"]
WebmailLanguage = Literal["it", "en", "nl", "sv", "es", "pt", "de", "gr", "fr"]
TimeFormat = Literal["12h", "24h"]
DateFormat = Literal["YYYY/MM/DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD MMM YYYY", "MMM DD YYYY", "DD.MM.YYYY"]
PasswordExpiration = Literal[-1, 3, 6, 12]
Quota = Literal[
    52428800, 1073741824, 2147483648, 3221225472, 4294967296, 5368709120, 6442450944, 7516192768, 8589934592,
    17179869184, 26843545600, 53687091200, 107374182400,
]

MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MAX_FORWARDS = 20
MAX_ALLOW_NETS = 50
MAX_TEXT_LENGTH = 255
MAX_BOUNCE_MSG_LENGTH = 1000
MAX_AUTORESPONDER_BODY_LENGTH = 10_000
_INT32_MAX = 2**31 - 1

_INVALID = "mailyard_invalid"
_DATE_ORDER = "mailyard_date_order"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and line breaks belong in a body
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# RFC 5322 dot-atom text; quoted local parts are legal but no forwarding target of a real user needs them.
_ATOM_LOCAL = re.compile(r"^[A-Za-z0-9!#%&'*+/=?^_`{|}~$-]+(?:\.[A-Za-z0-9!#%&'*+/=?^_`{|}~$-]+)*$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _fail(message: str, kind: str = _INVALID) -> NoReturn:
    raise PydanticCustomError(kind, message)


def _exact_int(value: Any) -> Any:
    # Strict mode still lets a Literal of ints match 3.0; an enum of integers should take integers only.
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        _fail("must be an integer", "int_type")
    return value


def _single_line(value: str) -> str:
    # Names and subjects end up in headers and address books, where a line break splits or forges a field.
    if _CONTROL.search(value):
        _fail("must not contain line breaks or control characters")
    return value


def _body_text(value: str) -> str:
    if _BODY_CONTROL.search(value):
        _fail("must not contain control characters")
    return value


def _bounce_text(value: str) -> str:
    # It becomes the text of an SMTP reply line: a CR or LF would end the reply early or inject another one.
    if "\r" in value or "\n" in value:
        _fail("must be a single line (no line breaks)")
    return _single_line(value)


def _iso_date(value: str) -> str:
    # date.fromisoformat alone would also take "20240101" and week dates, which the API does not promise.
    if not _ISO_DATE.match(value):
        _fail("must be a date in YYYY-MM-DD format")
    try:
        date.fromisoformat(value)
    except ValueError:
        _fail("is not a real calendar date")
    return value


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _time_zone(value: str) -> str:
    if value not in _zones():
        _fail("is not a known IANA time zone (like Europe/Rome)")
    return value


def normalize_email(value: str) -> str:
    """A valid address with its domain lower-cased and IDNA-encoded; raises a validation error otherwise."""
    # The domain is stored lower-cased and IDNA-encoded, as mail routing compares it.
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        _fail("is not a valid email address")
    if len(local) > 64 or not _ATOM_LOCAL.match(local):
        _fail("is not a valid email address")
    try:
        domain = domain.rstrip(".").lower().encode("idna").decode("ascii")
    except UnicodeError:
        _fail("is not a valid email address")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        _fail("is not a valid email address")
    if labels[-1] == "invalid":  # RFC 6761: never deliverable; hooks.mailyard.invalid is Mailyard's webhook copies
        _fail("is not a deliverable email address (the .invalid domain is reserved)")
    address = f"{local}@{domain}"
    if len(address) > 254:
        _fail("is not a valid email address")
    return address


def _network(value: str) -> str:
    text = value.strip()
    # Zone ids ("fe80::1%eth0") name an interface of one host, not a network anyone can connect from.
    if not text or "%" in text:
        _fail("is not a valid IP address or network")
    try:
        # Not strict: "10.1.2.3/8" is what people type for "10.0.0.0/8"; storing the network form removes doubt.
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        _fail("is not a valid IP address or network")


def _tag(value: str) -> str:
    text = value.strip()
    if not text:
        _fail("must not be empty")
    if len(text) > MAX_TAG_LENGTH:
        _fail(f"must be at most {MAX_TAG_LENGTH} characters")
    return _single_line(text)


def _unique_at_most(limit: int) -> Callable[[list[str]], list[str]]:
    def check(values: list[str]) -> list[str]:
        # Duplicates are dropped before counting so a repeated entry does not cost the caller a slot.
        unique = list(dict.fromkeys(values))
        if len(unique) > limit:
            _fail(f"must have at most {limit} entries")
        return unique

    return check


Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH), AfterValidator(_single_line)]
IsoDate = Annotated[str, AfterValidator(_iso_date)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
Email = Annotated[str, AfterValidator(normalize_email)]
Tags = Annotated[list[Annotated[str, AfterValidator(_tag)]], AfterValidator(_unique_at_most(MAX_TAGS))]
Forwards = Annotated[list[Email], AfterValidator(_unique_at_most(MAX_FORWARDS))]
Nets = Annotated[list[Annotated[str, AfterValidator(_network)]], AfterValidator(_unique_at_most(MAX_ALLOW_NETS))]


class MailboxSettings(BaseModel):
    """Every setting of a hosted mailbox but its password. Strict: JSON types only, no coercion."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    description: Text | None = None
    firstname: Text | None = None
    lastname: Text | None = None
    autoresponder_enabled: bool = False
    autoresponder_subject: Text | None = None
    autoresponder_body: Annotated[str, Field(max_length=MAX_AUTORESPONDER_BODY_LENGTH),
                                  AfterValidator(_body_text)] | None = None
    autoresponder_start_date: IsoDate | None = None
    autoresponder_end_date: IsoDate | None = None
    autoresponder_intervals_enabled: bool = False
    spam_in_inbox: bool = False
    timezone: TimeZone | None = None
    language: Language = "en"
    password_change_disabled: bool = False
    outbound_limit: Annotated[int, Field(ge=0, le=_INT32_MAX)] = 0
    force_new_password: bool = False
    hide_from_addressbook_company: bool = False
    tags: Tags = Field(default_factory=list)
    forwards: Forwards = Field(default_factory=list)
    keep_copy: bool = True
    max_email_quota: Annotated[Quota | None, BeforeValidator(_exact_int)] = 1073741824
    bounce_mail: bool = False
    allow_nets: Nets = Field(default_factory=list)
    pop_disabled: bool = False
    imap_disabled: bool = False
    smtp_disabled: bool = False
    webmail_disabled: bool = False
    bounce_msg: Annotated[str, Field(max_length=MAX_BOUNCE_MSG_LENGTH), AfterValidator(_bounce_text)] | None = None
    secondary_email_account: Email | None = None
    country: Text | None = None
    state: Text | None = None
    zip: Text | None = None
    address: Text | None = None
    company: Text | None = None
    role: Text | None = None
    team_manager: Text | None = None
    telephone: Text | None = None
    mobilephone: Text | None = None
    fax: Text | None = None
    chat: bool = True
    activesync: bool = True
    meeting: bool = True
    calendar: bool = True
    dav: bool = True
    password_expiration: Annotated[PasswordExpiration, BeforeValidator(_exact_int)] = -1
    password_recovery_disabled: bool = False
    block_old_password: bool = False
    api_enabled: bool = False
    force_otp: bool = False
    apply_allow_nets_webmail: bool = False
    webmail_language: WebmailLanguage = "en"
    webmail_time_format: TimeFormat = "24h"
    webmail_date_format: DateFormat = "DD/MM/YYYY"
    webmail_timezone: TimeZone | None = None
    organizational_unit: Text | None = None
    destroy_sessions_on_password_expiration: bool = False
    restrict_from_field: bool = True

    @field_validator("autoresponder_end_date")
    @classmethod
    def _end_not_before_start(cls, end: str | None, info: ValidationInfo) -> str | None:
        # The start date is validated first (field order); it is absent from info.data when it was invalid.
        start = info.data.get("autoresponder_start_date")
        if end is not None and start is not None and end < start:  # ISO dates order as strings
            _fail("must not be before autoresponder_start_date", _DATE_ORDER)
        return end


SETTING_FIELDS: frozenset[str] = frozenset(MailboxSettings.model_fields)


def _literal_values(annotation: Any) -> list[Any]:
    """The values of a Literal annotation, with None when it is optional; [] for any other annotation."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    if get_origin(annotation) in (Union, UnionType):
        parts = [_literal_values(arg) for arg in get_args(annotation) if arg is not type(None)]
        if len(parts) == 1 and parts[0]:
            return [*parts[0], None]
    return []


_CHOICES: dict[str, list[Any]] = {
    name: values for name, info in MailboxSettings.model_fields.items() if (values := _literal_values(info.annotation))
}


def _choices_phrase(name: str) -> str:
    values = _CHOICES.get(name, [])
    listed = ", ".join(str(value) for value in values if value is not None)
    if None in values:
        return f"must be one of {listed}, or null"
    return f"must be one of {listed}"


_TYPE_PHRASES = {
    "bool_type": "must be a boolean (true or false)",
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "list_type": "must be a list",
}


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in (_INVALID, _DATE_ORDER):
        return error["msg"]
    if kind == "literal_error":
        return _choices_phrase(str(error["loc"][0]))
    if kind in _TYPE_PHRASES:
        return _TYPE_PHRASES[kind]
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    message = error["msg"]
    return message[:1].lower() + message[1:]


def _field_errors(exc: ValidationError, changed: Mapping[str, Any]) -> list[FieldError]:
    found: dict[str, str] = {}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        message = _describe(error)
        if (error["type"] == _DATE_ORDER and "autoresponder_end_date" not in changed
                and "autoresponder_start_date" in changed):
            # Only the start date was sent: blame it, not the stored end date the caller never touched.
            field, message = "autoresponder_start_date", "must not be after autoresponder_end_date"
        found.setdefault(field, message)
    return [FieldError(field, message) for field, message in found.items()]


def apply_settings(changes: Mapping[str, Any], current: MailboxSettings | None = None) -> MailboxSettings:
    """`current` (or the defaults) with `changes` applied, validated as a whole.

    Keys outside SETTING_FIELDS are ignored (the caller deals with them). Raises an InputValidationError naming
    every bad field, list elements as e.g. "forwards.1".
    """
    base = (current or MailboxSettings()).model_dump()
    relevant = {key: value for key, value in changes.items() if key in SETTING_FIELDS}
    try:
        return MailboxSettings.model_validate({**base, **relevant})
    except ValidationError as exc:
        raise invalid_fields(_field_errors(exc, relevant), code="InputValidationError") from None


def settings_to_json(s: MailboxSettings) -> dict[str, Any]:
    """The settings as a JSON-ready dict for storage."""
    return s.model_dump(mode="json")


def settings_from_json(data: dict[str, Any]) -> MailboxSettings:
    """Stored settings back; keys missing from older rows take their defaults and unknown keys are ignored.

    A stored value that no longer validates raises (pydantic's ValidationError, a ValueError): quietly resetting
    it could, for instance, drop an allow_nets restriction.
    """
    return MailboxSettings.model_validate({key: value for key, value in data.items() if key in SETTING_FIELDS})
