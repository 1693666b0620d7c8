"""Validation of the names the hosting side accepts: domain names and mailbox local parts."""

from __future__ import annotations

import re

from mailyard.errors import invalid

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# Dot-atom local parts without the characters that break maildir paths, Sieve or SQL-free lookups;
# what providers accept in practice for new mailboxes.
_LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9_+-])?$")


def domain_name(value: object, field: str = "domain") -> str:
    """A lower-case, IDNA-encoded domain name with at least two labels."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, "is required" if value in (None, "") else "must be a string")
    name = value.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise invalid(field, "is not a valid domain name") from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise invalid(field, "is not a valid domain name")
    if not _TLD.match(labels[-1]):
        raise invalid(field, "is not a valid domain name")
    return name


def local_part(value: object, field: str = "local_part") -> str:
    """A lower-case mailbox name: letters, digits and . _ + -, not starting or ending with a dot."""
    if not isinstance(value, str) or not value:
        raise invalid(field, "is required" if value in (None, "") else "must be a string")
    name = value.strip().lower()
    if len(name) > 64:
        raise invalid(field, "must be at most 64 characters")
    if not _LOCAL_PART.match(name) or ".." in name:
        raise invalid(field, "may only contain letters, digits and . _ + - (not at the start or end, no '..')")
    return name


def login_address(value: str) -> str:
    """An address as mailboxes are stored: lower-case, the domain IDNA-encoded (so `info@Bücher.de` and
    `info@xn--bcher-kva.de` are the same mailbox). Unparseable input comes back lower-cased, to match nothing."""
    local, at, domain = value.strip().lower().rpartition("@")
    if not at:
        return value.strip().lower()
    try:
        domain = domain.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return value.strip().lower()
    return f"{local}@{domain}"
