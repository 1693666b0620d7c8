"""Core hosting views rendered as MSJ Hub JSON."""

from __future__ import annotations

from typing import Any

from mailyard.hosting.aliases import AliasView
from mailyard.hosting.dns_check import RecordCheck
from mailyard.hosting.domains import DomainView
from mailyard.hosting.mailbox_passwords import PASSWORD_NOTE, NewPassword
from mailyard.hosting.mailbox_views import MailboxView
from mailyard.timefmt import iso

OTP_NOTE = "Add this secret to an authenticator app now. It will not be shown again."


def domain(view: DomainView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": view.id, "domain": view.domain, "user_id": view.user_id, "organization_id": view.organization_id,
        "status": view.status, "created_at": iso(view.created_at), "verified_at": iso(view.verified_at),
        "checked_at": iso(view.checked_at),
    }
    if view.mailboxes is not None:
        body["email_accounts"] = view.mailboxes
    body["route"] = {"forward_mode": view.forward_mode, "webhook_url": view.webhook_url,
                     "webhook_secret_set": view.webhook_secret_set}
    return body


def alias(view: AliasView) -> dict[str, Any]:
    return {"id": view.id, "domain": view.domain, "name": view.name, "address": view.address,
            "destinations": view.destinations, "created_at": iso(view.created_at)}


def dns_records(view: DomainView) -> list[dict[str, Any]]:
    """The records to publish, each with the outcome of the last check when there was one."""
    last = {(c["type"], c["name"], c["kind"]): c for c in view.checks or []}
    out = []
    for record in view.records:
        item = record.to_json()
        check = last.get((record.type, record.name, record.kind))
        item["status"] = check["status"] if check else "unchecked"
        out.append(item)
    return out


def checks(results: list[RecordCheck]) -> list[dict[str, Any]]:
    return [result.to_json() for result in results]


def account_summary(view: MailboxView) -> dict[str, Any]:
    return {"id": view.id, "user_id": view.user_id, "domain": view.domain, "local_part": view.local_part,
            "address": view.address, "display_name": view.display_name, "status": view.status,
            "is_default": view.is_default}


def account_created(view: MailboxView) -> dict[str, Any]:
    # The create answer's own spelling (userId, isDefault), as the document shows it.
    return {"id": view.id, "userId": view.user_id, "domain": view.domain, "local_part": view.local_part,
            "address": view.address, "display_name": view.display_name, "status": view.status,
            "isDefault": view.is_default}


def account(view: MailboxView) -> dict[str, Any]:
    return {
        **account_summary(view),
        "password_set_at": iso(view.password_set_at),
        "password_expires_at": iso(view.password_expires_at),
        "quota": view.quota.to_json(),
        "settings": view.settings_json(),
        "created_at": iso(view.created_at),
        "updated_at": iso(view.updated_at),
    }


def with_otp(body: dict[str, Any], view: MailboxView) -> dict[str, Any]:
    if view.otp:
        # The one-time-password secret is shown once, like a password.
        body["otp"] = {**view.otp, "note": OTP_NOTE}
    return body


def with_password(account_body: dict[str, Any], new: NewPassword) -> dict[str, Any]:
    return {"account": account_body, "password": new.plain, "note": PASSWORD_NOTE}
