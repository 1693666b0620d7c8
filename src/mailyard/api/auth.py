"""Token authentication for every route, accepting each form the five dialects use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPBearer

from mailyard.errors import forbidden, unauthorized
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

# Declared for the OpenAPI document (the "Authorize" button); `extract_token` does the real parsing.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <token> (or a bare token)")
_api_key = APIKeyHeader(name="x-api-key", auto_error=False)
_api_token = APIKeyHeader(name="X-Api-Token", auto_error=False)
_query = APIKeyQuery(name="access_token", auto_error=False)


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

    async def dependency(
        request: Request,
        _b: object = Security(_bearer),
        _k: object = Security(_api_key),
        _t: object = Security(_api_token),
        _q: object = Security(_query),
    ) -> Principal:
        principal = await authenticate(request)
        if not principal.has(scope):
            raise forbidden(f"This token lacks the {scope.value!r} scope")
        return principal

    return dependency
