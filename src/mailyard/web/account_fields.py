"""The IMAP/SMTP settings form shared by the dashboard and the hosted form: fields ↔ account settings.

Field names are flat (`imap_host`, `smtp_port`, ...). On the add form `password` serves both servers unless
`smtp_pass` gives SMTP its own. On the edit form an empty password field keeps that server's stored password
(and only that server's), while a changed username is taken either way. Validation is the core's
(`AccountCreate`); its error locations are mapped back to the form field that caused them, so each error can
be shown beside its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mailyard.accounts.autoconfig import DetectedSettings
from mailyard.accounts.config import AccountConfig, AccountView
from mailyard.accounts.model import AccountCreate, AccountUpdate
from mailyard.engine.failures import FailureCode
from mailyard.engine.net import NetOptions
from mailyard.engine.verify import CheckResult, verify

SERVER_FIELDS = ("imap_host", "imap_port", "imap_user", "smtp_host", "smtp_port", "smtp_user")
FLAGS = ("imap_secure", "smtp_secure", "verify_tls")
# The fields each form shows: an error naming any other field is shown at the top of the form.
HOSTED_FORM_FIELDS = ("email", "password", *SERVER_FIELDS, "smtp_pass", *FLAGS)
EDIT_FORM_FIELDS = ("name", *HOSTED_FORM_FIELDS)
ADD_FORM_FIELDS = ("account", *EDIT_FORM_FIELDS)
_CONNECTION_CODES = {FailureCode.CONNECTION_REFUSED, FailureCode.TIMED_OUT, FailureCode.NOT_FOUND,
                     FailureCode.TLS, FailureCode.CONNECTION_LOST, FailureCode.PROTOCOL}


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass
class ServerForm:
    """What the form shows: values (never a password) and an error per field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def detected_values(detected: DetectedSettings, email: str) -> dict[str, str]:
    return {
        "imap_host": detected.imap.host, "imap_port": str(detected.imap.port),
        "imap_secure": "on" if detected.imap.secure else "", "imap_user": email,
        "smtp_host": detected.smtp.host, "smtp_port": str(detected.smtp.port),
        "smtp_secure": "on" if detected.smtp.secure else "", "smtp_user": email, "verify_tls": "on",
    }


def view_values(view: AccountView) -> dict[str, str]:
    """The stored settings of an account, for its edit form (secrets are not in the view at all)."""
    values = {"name": view.name or "", "email": view.email or "", "verify_tls": "on"}
    for prefix, section in (("imap", view.imap), ("smtp", view.smtp)):
        section = section or {}
        values[f"{prefix}_host"] = str(section.get("host") or "")
        values[f"{prefix}_port"] = str(section.get("port") or "")
        values[f"{prefix}_secure"] = "on" if section.get("secure") else ""
        values[f"{prefix}_user"] = str((section.get("auth") or {}).get("user") or "")
        if (section.get("tls") or {}).get("rejectUnauthorized") is False:
            values["verify_tls"] = ""
    return values


def shown_values(fields: dict[str, str]) -> dict[str, str]:
    """The submitted fields to show again: every field but the passwords."""
    return {k: v for k, v in fields.items() if k not in {"password", "smtp_pass", "csrf_token"}}


def _server(fields: dict[str, str], prefix: str, password: str, stored: dict[str, Any] | None, *,
            partial: bool) -> dict[str, Any]:
    """One server's section. `stored` is the account's saved section (secrets included) when editing."""
    section: dict[str, Any] = {"host": fields.get(f"{prefix}_host", "").strip(),
                               "secure": fields.get(f"{prefix}_secure") == "on"}
    port = fields.get(f"{prefix}_port", "").strip()
    section["port"] = int(port) if port.isdigit() else port
    user = fields.get(f"{prefix}_user", "").strip() or fields.get("email", "").strip()
    stored_auth = (stored or {}).get("auth")
    if password:
        section["auth"] = {"user": user, "pass": password}
    elif isinstance(stored_auth, dict):
        if stored_auth.get("user") != user:
            # `auth` is replaced whole by an update, so with a new username the stored secret is carried
            # over explicitly (an unchanged one is left out, and the partial update keeps it as stored).
            section["auth"] = {**stored_auth, "user": user}
    elif not partial:
        section["auth"] = {"user": user}  # refused by validation as "pass is required", beside the password
    section["tls"] = {"rejectUnauthorized": fields.get("verify_tls") == "on"}
    if partial:
        section["partial"] = True
    return section


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    if parts[:1] in (["imap"], ["smtp"]) and len(parts) > 1:
        if parts[1] == "auth":
            if parts[-1] == "user":
                return f"{parts[0]}_user"
            return "password" if parts[0] == "imap" else "smtp_pass"
        if parts[1] == "tls":
            return "verify_tls"
        return f"{parts[0]}_{parts[1]}"
    return parts[0] if parts else "form"


def _errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        errors.setdefault(_field_name(tuple(error.get("loc", ()))), message)
    return errors


def _stored_password(section: dict[str, Any] | None) -> str:
    auth = (section or {}).get("auth")
    return str(auth.get("pass") or "") if isinstance(auth, dict) else ""


def sections(fields: dict[str, str], stored: AccountConfig | None = None, *, partial: bool = False) -> dict[str, Any]:
    """`imap` and `smtp` (when an SMTP host is given) in the API's JSON form, not yet validated. With
    `stored`, empty password fields mean each server's stored password."""
    password = fields.get("password", "")
    stored_imap, stored_smtp = (stored.imap, stored.smtp) if stored else (None, None)
    body: dict[str, Any] = {"imap": _server(fields, "imap", password, stored_imap, partial=partial)}
    if fields.get("smtp_host", "").strip():
        smtp_pass = fields.get("smtp_pass", "")
        if not smtp_pass and not isinstance((stored_smtp or {}).get("auth"), dict):
            # No SMTP password of its own, typed or stored: SMTP logs in like IMAP (typed, else stored).
            smtp_pass = password or _stored_password(stored_imap)
        body["smtp"] = _server(fields, "smtp", smtp_pass, stored_smtp, partial=partial)
    elif partial:
        body["smtp"] = None
    return body


def account_create(fields: dict[str, str], account: str | None) -> AccountCreate:
    body = {"account": account, "name": fields.get("name", "").strip() or None,
            "email": fields.get("email", "").strip(), **sections(fields)}
    try:
        return AccountCreate.model_validate(body)
    except ValidationError as exc:
        raise FormErrors(_errors(exc)) from None


def account_update(fields: dict[str, str], stored: AccountConfig) -> AccountUpdate:
    """An update of the account `stored` is; empty password fields keep each server's stored password."""
    body = {"name": fields.get("name", "").strip() or None, "email": fields.get("email", "").strip() or None,
            **sections(fields, stored, partial=True)}
    try:
        return AccountUpdate.model_validate(body)
    except ValidationError as exc:
        raise FormErrors(_errors(exc)) from None


async def live_check(imap: dict[str, Any] | None, smtp: dict[str, Any] | None,
                     net: NetOptions) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Real IMAP and SMTP logins with these settings, nothing stored: (errors by field, outcome by server)."""
    result = await verify(imap, smtp, mailboxes=False, net=net)
    outcome = {name: {"success": check.success, "error": check.error}
               for name, check in (("imap", result.imap), ("smtp", result.smtp)) if check is not None}
    return {**check_errors("imap", result.imap), **check_errors("smtp", result.smtp)}, outcome


def check_errors(prefix: str, result: CheckResult | None) -> dict[str, str]:
    """A failed live check, as an error beside the field most likely at fault."""
    if result is None or result.success:
        return {}
    message = f"{prefix.upper()} check failed: {result.error or result.code}"
    if result.code in {c.value for c in _CONNECTION_CODES}:
        return {f"{prefix}_host": message}
    return {"password" if prefix == "imap" else "smtp_pass": message}
