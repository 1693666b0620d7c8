"""Reading a submitted HTML form (application/x-www-form-urlencoded) without a multipart dependency."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

MAX_FORM_BYTES = 64 * 1024


class FormTooLarge(Exception):
    """The body exceeds MAX_FORM_BYTES."""


async def read_form(request: Request) -> dict[str, str]:
    """The fields of the form; a field sent twice keeps its first value (forms here never repeat one)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields
