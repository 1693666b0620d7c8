"""The ASGI app: mounts every dialect, health, metrics and the API docs on one FastAPI application."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response

from mailyard import __version__
from mailyard.api import errors
from mailyard.api.auth import SECURITY_SCHEMES, authenticate
from mailyard.api.request_body import RequestBodyGuard
from mailyard.dialects.emailengine import accounts as emailengine_accounts
from mailyard.dialects.emailengine import auth_form as emailengine_auth_form
from mailyard.dialects.emailengine import autoconfig as emailengine_autoconfig
from mailyard.dialects.emailengine import changes as emailengine_changes
from mailyard.dialects.emailengine import errors as _emailengine_errors  # noqa: F401  registers the dialect
from mailyard.dialects.emailengine import mailboxes as emailengine_mailboxes
from mailyard.dialects.emailengine import settings as emailengine_settings
from mailyard.dialects.emailengine import submit as emailengine_submit
from mailyard.dialects.emailengine import tokens as emailengine_tokens
from mailyard.dialects.msjhub import aliases as msjhub_aliases
from mailyard.dialects.msjhub import auth_check as msjhub_auth_check
from mailyard.dialects.msjhub import domains as msjhub_domains
from mailyard.dialects.msjhub import email_accounts as msjhub_email_accounts
from mailyard.dialects.msjhub import errors as _msjhub_errors  # noqa: F401  registers the dialect
from mailyard.errors import forbidden
from mailyard.observability.metrics import MetricsMiddleware
from mailyard.runtime import Runtime
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal
from mailyard.web import router as web


def announce_bootstrap_token(token: str, docs_url: str) -> None:
    # Printed to the console once, never logged: it is the only copy of the first admin token.
    print(
        "\n  Mailyard created the first admin API token (it will not be shown again):\n\n"
        f"    {token}\n\n  API docs: {docs_url}\n",
        file=sys.stdout,
        flush=True,
    )


async def _metrics_principal(request: Request) -> Principal:
    principal = await authenticate(request)
    if not (principal.has(Scope.METRICS) or principal.has(Scope.ADMIN)):
        raise forbidden("This token lacks the 'metrics' scope")
    return principal


def create_app(runtime: Runtime, *, owns_runtime: bool = False) -> FastAPI:
    """Build the app around an opened runtime; `owns_runtime` closes it when the app shuts down."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        token = await runtime.tokens.bootstrap_admin()
        if token:
            announce_bootstrap_token(token, f"{runtime.settings.base_url}/docs")
        await runtime.start_services()
        try:
            yield
        finally:
            if owns_runtime:
                await runtime.close()
            else:
                await runtime.stop_services()

    app = FastAPI(
        title="Mailyard",
        version=__version__,
        description="Connected email accounts and hosted mailboxes behind one API.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    errors.install(app)
    app.add_middleware(RequestBodyGuard, limit=runtime.settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=runtime.metrics)

    @app.get("/health", tags=["Service"], summary="Liveness and store reachability (no token needed)")
    async def health() -> JSONResponse:
        reachable = await runtime.db.ping()
        body: dict[str, Any] = {
            "status": "ok" if reachable else "unavailable",
            "version": __version__,
            "store": {"backend": runtime.db.backend, "reachable": reachable},
        }
        return JSONResponse(body, status_code=200 if reachable else 503)

    @app.get("/metrics", tags=["Service"], summary="Prometheus metrics (scope metrics or admin)")
    async def metrics(_: Annotated[Principal, Depends(_metrics_principal)]) -> Response:
        runtime.metrics.set_account_states(await runtime.accounts.count_by_state())
        runtime.metrics.engine_workers.set(runtime.engine.running if runtime.engine else 0)
        return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.include_router(emailengine_accounts.router)
    app.include_router(emailengine_mailboxes.router)
    app.include_router(emailengine_submit.router)
    app.include_router(emailengine_settings.router)
    app.include_router(emailengine_changes.router)
    app.include_router(emailengine_tokens.router)
    app.include_router(emailengine_auth_form.router)
    app.include_router(emailengine_autoconfig.router)
    for router in (msjhub_domains.router, msjhub_email_accounts.router, msjhub_aliases.router,
                   msjhub_auth_check.router):
        app.include_router(router)
    web.install(app)
    app.openapi = lambda: _openapi_with_security(app)  # type: ignore[method-assign]
    return app


_PUBLIC_PATHS = frozenset({"/health"})


def _openapi_with_security(app: FastAPI) -> dict[str, Any]:
    """The generated document plus the token forms every route (but the public ones) accepts."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        requirement = [{name: []} for name in SECURITY_SCHEMES]
        for path, operations in schema.get("paths", {}).items():
            if path not in _PUBLIC_PATHS:
                for operation in operations.values():
                    operation["security"] = requirement
        app.openapi_schema = schema
    return app.openapi_schema
