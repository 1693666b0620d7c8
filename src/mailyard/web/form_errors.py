"""Placing a form's errors: each beside the field it names, and any other at the top of the form.

The core names fields in its own terms (`domain`, `imap.auth.pass`, ...). An error whose field the form does
not show would otherwise vanish, the request refused with no reason given; here it is moved to the form's
top (the `form` key), prefixed with a human name for the field.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailyard.errors import MailyardError

TOP = "form"
_LABELS = {
    "account": "Account id", "name": "Display name", "email": "Email address", "password": "Password",
    "imap_host": "IMAP server", "imap_port": "IMAP port", "imap_user": "IMAP username",
    "smtp_host": "SMTP server", "smtp_port": "SMTP port", "smtp_user": "SMTP username",
    "smtp_pass": "SMTP password", "verify_tls": "Certificate verification", "domain": "Domain",
    "user_id": "User id", "local_part": "Address", "display_name": "Display name",
    "password_confirmation": "Repeated password", "imap": "IMAP settings", "smtp": "SMTP settings",
}


def label(name: str) -> str:
    """A person's name for a field: `imap_port` → "IMAP port", `quota.limit` → "Quota limit"."""
    if name in _LABELS:
        return _LABELS[name]
    words = name.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "Form"


def place(errors: dict[str, str], visible: Iterable[str]) -> dict[str, str]:
    """`errors` by field, with those of fields not in `visible` joined into one message at the top."""
    shown = set(visible)
    placed: dict[str, str] = {}
    top: list[str] = [errors[TOP]] if errors.get(TOP) else []
    for name, message in errors.items():
        if name == TOP:
            continue
        if name in shown:
            placed[name] = message
        else:
            top.append(f"{label(name)} {message}")
    if top:
        placed[TOP] = "; ".join(top)
    return placed


def from_error(exc: MailyardError, visible: Iterable[str]) -> dict[str, str]:
    """A refused operation's errors, placed: the fields it names, else its message at the top."""
    shown = set(visible)
    errors: dict[str, str] = {}
    for error in exc.errors:
        flat = error.field.replace(".", "_")
        if error.field:
            errors.setdefault(flat if flat in shown else error.field, error.message)
    return place(errors, shown) if errors else {TOP: exc.message}
