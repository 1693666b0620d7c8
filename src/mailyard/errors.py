"""Errors of the core. Each carries a kind; every dialect maps kinds to its own status codes and shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ErrorKind(StrEnum):
    VALIDATION = "validation"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    UPSTREAM = "upstream"  # a mail server refused or failed
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass(eq=False)
class MailyardError(Exception):
    """An operation failed for a reason the caller should see. The message never contains a secret."""

    kind: ErrorKind
    message: str
    code: str
    errors: list[FieldError] = field(default_factory=list)
    status: int | None = None  # overrides the dialect's status for this kind (e.g. an SMTP 4xx/5xx)
    title: str | None = None  # a short name of the error where a dialect shows one ("Account not found")

    def __str__(self) -> str:
        return self.message


def invalid(field_name: str, message: str, *, code: str = "InputValidationError") -> MailyardError:
    """Bad input in one field; the message names it."""
    return MailyardError(
        ErrorKind.VALIDATION, f'"{field_name}" {message}', code, [FieldError(field_name, message)]
    )


def invalid_fields(errors: list[FieldError], *, code: str = "InputValidationError") -> MailyardError:
    first = errors[0]
    summary = f'"{first.field}" {first.message}' if first.field else first.message
    if len(errors) > 1:
        summary += f" (and {len(errors) - 1} more)"
    return MailyardError(ErrorKind.VALIDATION, summary, code, errors)


def not_found(message: str, code: str, *, title: str | None = None) -> MailyardError:
    return MailyardError(ErrorKind.NOT_FOUND, message, code, title=title)


def conflict(message: str, code: str) -> MailyardError:
    return MailyardError(ErrorKind.CONFLICT, message, code)


def unauthorized(message: str = "Missing or invalid API token") -> MailyardError:
    return MailyardError(ErrorKind.UNAUTHORIZED, message, "Unauthorized")


def forbidden(message: str = "This token may not do that") -> MailyardError:
    return MailyardError(ErrorKind.FORBIDDEN, message, "Forbidden")
