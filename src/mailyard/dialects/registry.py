"""Which dialect owns a path, so that every error is rendered in that dialect's own shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from fastapi.responses import Response

from mailyard.errors import ErrorKind, MailyardError

DEFAULT_STATUS: dict[ErrorKind, int] = {
    ErrorKind.VALIDATION: 400,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.METHOD_NOT_ALLOWED: 405,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UPSTREAM: 502,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.INTERNAL: 500,
}


def status_of(error: MailyardError, overrides: dict[ErrorKind, int] | None = None) -> int:
    if error.status is not None:
        return error.status
    return (overrides or {}).get(error.kind, DEFAULT_STATUS[error.kind])


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass(frozen=True)
class Dialect:
    name: str
    prefix: str
    render_error: Callable[[MailyardError], Response]


_DIALECTS: list[Dialect] = []
_fallback: Dialect | None = None


def register(dialect: Dialect, *, fallback: bool = False) -> None:
    global _fallback
    _DIALECTS.append(dialect)
    _DIALECTS.sort(key=lambda d: len(d.prefix), reverse=True)
    if fallback:
        _fallback = dialect


def dialect_for(path: str) -> Dialect:
    for dialect in _DIALECTS:
        if path == dialect.prefix or path.startswith(dialect.prefix + "/"):
            return dialect
    assert _fallback is not None, "no fallback dialect registered"
    return _fallback
