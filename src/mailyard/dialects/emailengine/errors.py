"""EmailEngine's error shape: `{"statusCode", "error", "message", "code"}` (+ `details` per field)."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from mailyard.dialects.registry import Dialect, reason, register, status_of
from mailyard.errors import MailyardError


def render_error(error: MailyardError) -> JSONResponse:
    status = status_of(error)
    body: dict[str, object] = {
        "statusCode": status,
        "error": error.title or reason(status),
        "message": error.message,
        "code": error.code,
    }
    if error.errors:
        body["details"] = [{"field": e.field, "message": e.message} for e in error.errors]
    return JSONResponse(body, status_code=status)


DIALECT = Dialect("emailengine", "/v1", render_error)
register(DIALECT, fallback=True)
