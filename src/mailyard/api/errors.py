"""Turns every failure into the error shape of the dialect that owns the route."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mailyard.dialects.registry import dialect_for
from mailyard.errors import ErrorKind, FieldError, MailyardError, invalid, invalid_fields

log = logging.getLogger(__name__)

_HTTP_KINDS = {
    401: ErrorKind.UNAUTHORIZED,
    403: ErrorKind.FORBIDDEN,
    404: ErrorKind.NOT_FOUND,
    405: ErrorKind.METHOD_NOT_ALLOWED,
    409: ErrorKind.CONFLICT,
}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "imap", "port")` → `imap.port`; list indexes become `[n]`."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "json-or-python")):
            continue  # pydantic's internal validator names
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def _pydantic_message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        return "is not valid JSON"
    if error.get("type") == "missing":
        return "is required"
    if error.get("type") == "extra_forbidden":
        return "is not allowed"
    msg = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if msg.startswith("Input should"):
        msg = "should" + msg.removeprefix("Input should")
    return msg


def validation_to_error(exc: RequestValidationError) -> MailyardError:
    errors = [
        # A JSON syntax error's location is the byte offset, not a field: it is the body that is wrong.
        FieldError("body" if e.get("type") == "json_invalid" else field_path(e.get("loc", ())), _pydantic_message(e))
        for e in exc.errors()
    ]
    return invalid_fields(errors or [FieldError("body", "is invalid")])


def render(request: Request, error: MailyardError) -> Response:
    return dialect_for(request.url.path).render_error(error)


def install(app: FastAPI) -> None:
    @app.exception_handler(MailyardError)
    async def _mailyard(request: Request, exc: MailyardError) -> Response:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return render(request, validation_to_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:
            # FastAPI's own 400s are bodies it could not parse (bad UTF-8, nesting too deep, huge numbers).
            return render(request, invalid("body", f"could not be parsed ({str(exc.detail).rstrip('.')})"))
        kind = _HTTP_KINDS.get(exc.status_code, ErrorKind.VALIDATION)
        message = "Route not found" if exc.status_code == 404 else str(exc.detail)
        code = "NotFound" if exc.status_code == 404 else message.replace(" ", "")
        return render(request, MailyardError(kind, message, code, status=exc.status_code))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Log the type and route only: exception text may echo request data.
        log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__,
                  exc_info=log.isEnabledFor(logging.DEBUG))
        return render(request, MailyardError(ErrorKind.INTERNAL, "Internal error", "InternalError"))
