"""Request bodies of the MSJ Hub routes, for the API docs only.

The routes read the body as a plain JSON object and the core validates it (so that every error names
the field in this dialect's own shape); these models describe what the core accepts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, create_model

from mailyard.hosting.settings import MailboxSettings


class DomainCreate(BaseModel):
    domain: str
    user_id: str
    organization_id: str | None = None


class DomainDelete(BaseModel):
    domain: str
    user_id: str
    force: bool = False


class DomainStatus(BaseModel):
    user_id: str
    status: Literal["pending", "active", "suspended"]


class AccountDelete(BaseModel):
    id: int
    user_id: str


class PasswordReset(BaseModel):
    user_id: str
    password: str | None = None
    password_confirmation: str | None = None


class AuthCheck(BaseModel):
    address: str
    password: str
    service: Literal["imap", "pop3", "smtp", "submission", "sieve", "webmail", "chat", "activesync", "meeting",
                     "calendar", "dav", "api"]
    remote_ip: str | None = None
    otp: str | None = None


class PasswordChange(BaseModel):
    address: str
    password: str
    new_password: str
    new_password_confirmation: str | None = None
    otp: str | None = None


class RecoveryStart(BaseModel):
    address: str


class RecoveryComplete(BaseModel):
    address: str
    code: str
    new_password: str
    new_password_confirmation: str | None = None


class AliasCreate(BaseModel):
    user_id: str
    name: str
    destinations: list[str]


class RouteUpdate(BaseModel):
    user_id: str
    forward_mode: Literal["store", "webhook_then_store"]
    webhook_url: str | None = None
    webhook_secret: str | None = None


_ACCOUNT_FIELDS: dict[str, Any] = {
    "user_id": (str, ...),
    "display_name": (str | None, None),
    "status": (Literal["active", "disabled"], "active"),
    "password": (str | None, None),
    "password_confirmation": (str | None, None),
}
AccountCreate = create_model("AccountCreate", __base__=MailboxSettings, domain=(str, ...), local_part=(str, ...),
                             **_ACCOUNT_FIELDS)
AccountUpdate = create_model("AccountUpdate", __base__=MailboxSettings, **_ACCOUNT_FIELDS)


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` describing a route's JSON body by `model`."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
