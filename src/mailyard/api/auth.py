"""Token authentication for every route, accepting each form the five dialects use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from mailyard.errors import forbidden, unauthorized
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

# The forms a token may take, for the OpenAPI document (the docs page's "Authorize" button).
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <token> (or bare)"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
    "apiToken": {"type": "apiKey", "in": "header", "name": "X-Api-Token"},
    "accessToken": {"type": "apiKey", "in": "query", "name": "access_token"},
}


def extract_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, rest = header.strip().partition(" ")
        if not rest:
            return scheme or None  # bare `Authorization: <token>` (ONLYOFFICE)
        if scheme.lower() == "bearer":
            return rest.strip() or None
    for name in ("x-api-key", "x-api-token"):
        value = request.headers.get(name)
        if value:
            return value.strip()
    return request.query_params.get("access_token") or None


async def authenticate(request: Request) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = extract_token(request)
    if not token:
        raise unauthorized()
    principal = await request.app.state.runtime.tokens.authenticate(token)
    if principal is None:
        raise unauthorized()
    request.state.principal = principal
    return principal


def require(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits tokens granting `scope` and returns the caller's principal."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.has(scope):
            raise forbidden(f"This token lacks the {scope.value!r} scope")
        return principal

    return dependency
