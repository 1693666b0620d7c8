"""Settings of a connected account as clients send them (EmailEngine's field names are the canonical ones).

Validation here is the core's: every dialect that creates or updates accounts goes through these models.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

ACCOUNT_ID_MAX = 256
_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")

def _flag(value: Any) -> Any:
    # Like EmailEngine: true/false, or the strings "true"/"false"; not "yes", "on" or 1.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ValueError("must be a boolean")


Flag = Annotated[bool, BeforeValidator(_flag)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=16384)]
FolderPath = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


def check_hostname(value: str) -> str:
    value = value.strip()
    if ":" in value:
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            raise ValueError("must be a valid hostname or IP address (without a port)") from None
        return value
    if _HOSTNAME.match(value):
        return value
    raise ValueError("must be a valid hostname or IP address")


class Strict(BaseModel):
    """Unknown fields are refused by name, as EmailEngine does."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Auth(Strict):
    user: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    pass_: Secret | None = Field(None, alias="pass")
    accessToken: Secret | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> Auth:
        if self.pass_ and self.accessToken:
            raise ValueError("give either pass or accessToken, not both")
        if not self.pass_ and not self.accessToken:
            raise ValueError("pass or accessToken is required")
        return self


class Tls(Strict):
    rejectUnauthorized: Flag = True
    minVersion: Literal["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] | None = None
    servername: Annotated[str, StringConstraints(max_length=255)] | None = None


class ServerSettings(Strict):
    """What IMAP and SMTP settings share. Fields are optional so a partial update can carry any subset."""

    partial: Flag = Field(False, description="Merge the given fields into the stored ones instead of replacing")
    host: Annotated[str, StringConstraints(max_length=255)] | None = None
    port: int | None = Field(None, ge=1, le=65535)
    secure: Flag | None = Field(None, description="Implicit TLS; otherwise STARTTLS when the server offers it")
    auth: Auth | None = None
    useAuthServer: Flag | None = None
    doSTARTTLS: Flag | None = Field(None, description="true: require STARTTLS; false: never; unset: when offered")
    tls: Tls | None = None

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else check_hostname(value)


class ImapSettings(ServerSettings):
    sentMailPath: FolderPath | None = None
    draftsMailPath: FolderPath | None = None
    junkMailPath: FolderPath | None = None
    trashMailPath: FolderPath | None = None
    archiveMailPath: FolderPath | None = None
    resyncDelay: int | None = Field(None, ge=10, le=86400 * 7, description="Seconds between full resyncs")
    disabled: Flag | None = Field(None, description="Do not connect to IMAP (send-only account)")


class SmtpSettings(ServerSettings):
    pass


class OAuth2Auth(Strict):
    user: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class OAuth2Settings(Strict):
    partial: Flag = False
    provider: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    accessToken: Secret | None = None
    refreshToken: Secret | None = None
    expires: datetime | None = None
    auth: OAuth2Auth | None = None


PathSetting = str | list[FolderPath]


class AccountFields(Strict):
    """Fields an account create or update may carry."""

    name: Annotated[str, StringConstraints(max_length=256)] | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    imap: ImapSettings | None = None
    smtp: SmtpSettings | None = None
    oauth2: OAuth2Settings | None = None
    path: PathSetting | None = Field(None, description='"*" (all folders) or a list of folder paths')
    subconnections: list[FolderPath] | None = Field(None, max_length=32)
    webhooks: AnyHttpUrl | Literal[""] | None = None
    notifyFrom: datetime | None = None
    disabled: Flag | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value.strip()):
            raise ValueError("must be a valid email address")
        return None if value is None else value.strip()

    @field_validator("path")
    @classmethod
    def _path(cls, value: PathSetting | None) -> PathSetting | None:
        if isinstance(value, str) and value != "*" and not value.strip():
            raise ValueError('must be "*" or a list of folder paths')
        if isinstance(value, list) and not value:
            raise ValueError("must list at least one folder")
        return value


class AccountCreate(AccountFields):
    account: Annotated[str, StringConstraints(min_length=1, max_length=ACCOUNT_ID_MAX)] | None = Field(
        ..., description="Account id; null generates one"
    )
    email: Annotated[str, StringConstraints(max_length=320)]  # type: ignore[assignment]

    @field_validator("account")
    @classmethod
    def _account_id(cls, value: str | None) -> str | None:
        if value is not None and ("/" in value or any(ord(c) < 32 for c in value)):
            raise ValueError("must not contain '/' or control characters")
        return value


class AccountUpdate(AccountFields):
    pass


def present(model: BaseModel) -> dict[str, Any]:
    """The fields the client actually sent (so `null` clears and absence keeps)."""
    return {name: getattr(model, name) for name in model.model_fields_set}
