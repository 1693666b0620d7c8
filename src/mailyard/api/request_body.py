"""Guards every request body before any route sees it: a size cap, and JSON that cannot be stored.

JSON may carry `"\\ud800"`, a lone UTF-16 surrogate: valid JSON, but no UTF-8 encoding exists for it, so
the store, the password hasher or a mail header would fail on it far from where it came in. Refusing it
here, once, answers with a 4xx naming the field in the route's own dialect, before anything changes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailyard.dialects.registry import dialect_for
from mailyard.errors import ErrorKind, FieldError, MailyardError, invalid

_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A `\u` escape of a surrogate code point, or Python's non-standard constants (json.loads takes them, and
# a NaN stored would make every later response unrenderable); only bodies containing one are parsed here.
_SUSPECT = re.compile(rb"\\u[dD][89abcdefABCDEF]|NaN|Infinity")


def _is_surrogate(char: str) -> bool:
    return 0xD800 <= ord(char) <= 0xDFFF


def _path(parts: list[str | int]) -> str:
    """`["imap", "auth", "user"]` → `imap.auth.user`, `["tags", 1]` → `tags[1]` (as validation errors)."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out or "body"


def unstorable_field(value: Any, parts: list[str | int] | None = None) -> str | None:
    """The path of the first string (or object key) in parsed JSON holding a lone surrogate, else None.
    (json.loads joins well-formed surrogate pairs into one character, so any surrogate left is lone.)"""
    parts = parts or []
    if isinstance(value, str):
        return _path(parts) if any(_is_surrogate(c) for c in value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if any(_is_surrogate(c) for c in key):
                return _path(parts)
            found = unstorable_field(item, [*parts, key])
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_field(item, [*parts, index])
            if found:
                return found
    return None


def too_large(limit: int) -> MailyardError:
    return MailyardError(ErrorKind.VALIDATION, f"The request body is larger than {limit} bytes",
                         "PayloadTooLarge", [FieldError("body", f"must be at most {limit} bytes")], status=413)


class RequestBodyGuard:
    """ASGI middleware: reads bodies of at most `limit` bytes (413 beyond), refuses unstorable JSON text,
    then hands the body on unchanged."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(too_large(self.limit), path, scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(too_large(self.limit), path, scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _SUSPECT.search(body) and b"json" in _header(scope, b"content-type"):
            error = _unstorable(body)
            if error:
                await self._refuse(error, path, scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _refuse(error: MailyardError, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        response = dialect_for(path).render_error(error)
        await response(scope, receive, send)


class _NotJson(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _NotJson(name)


def _unstorable(body: bytes) -> MailyardError | None:
    try:
        parsed = json.loads(body, parse_constant=_no_constants)
    except _NotJson as constant:
        return invalid("body", f"is not valid JSON ({constant} is not a JSON value)")
    except ValueError:
        return None  # not JSON at all: the route's own parsing says so
    field = unstorable_field(parsed)
    return invalid(field, "contains an invalid character (a lone UTF-16 surrogate)") if field else None


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).lower()
    return b""


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value.isdigit() else None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields the buffered body once, then waits on the real one (disconnects)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
