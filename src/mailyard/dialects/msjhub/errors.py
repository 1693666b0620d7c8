"""MSJ Hub's error shape, shared with Qboxmail: `{"message", "errors": [{"field", "description"}]}`."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from mailyard.dialects.registry import Dialect, register, status_of
from mailyard.errors import ErrorKind, MailyardError

_STATUS = {ErrorKind.VALIDATION: 422}
# The documented messages for these; other kinds carry the core's own message (a 409 says what clashed).
_MESSAGES = {
    ErrorKind.VALIDATION: "Validation failed",
    ErrorKind.UNAUTHORIZED: "Unauthorized",
    ErrorKind.FORBIDDEN: "Forbidden",
    ErrorKind.NOT_FOUND: "Not found",
}


def render_error(error: MailyardError) -> JSONResponse:
    status = status_of(error, _STATUS)
    body = {
        "message": _MESSAGES.get(error.kind, error.message),
        "errors": [{"field": e.field, "description": e.message} for e in error.errors],
    }
    return JSONResponse(body, status_code=status)


DIALECT = Dialect("msjhub", "/v2", render_error)
register(DIALECT)
