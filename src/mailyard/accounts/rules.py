"""Rules an account's settings must satisfy beyond field types (applied when an account is created)."""

from __future__ import annotations

from mailyard.accounts.codec import Section
from mailyard.errors import MailyardError, invalid


def _server_complete(name: str, section: Section) -> MailyardError | None:
    if section.get("useAuthServer") or (name == "imap" and section.get("disabled")):
        return None
    for key in ("host", "port"):
        if section.get(key) is None:
            return invalid(f"{name}.{key}", "is required")
    return None


def check_new_account(imap: Section | None, smtp: Section | None, oauth2: Section | None) -> None:
    """A new account must be able to connect somewhere: IMAP settings or an OAuth2 provider."""
    if imap is None and oauth2 is None:
        raise invalid("imap", "is required unless oauth2 is given")
    for name, section in (("imap", imap), ("smtp", smtp)):
        if section is not None and (error := _server_complete(name, section)):
            raise error
    if oauth2 is not None and not oauth2.get("provider") and imap is None:
        raise invalid("oauth2.provider", "is required")
