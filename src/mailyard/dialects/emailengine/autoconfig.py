"""EmailEngine dialect: `GET /v1/autoconfig?email=`, the IMAP and SMTP settings detected for an address."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mailyard.accounts.autoconfig import Endpoint, detect
from mailyard.api.auth import require
from mailyard.engine.net import make_resolver
from mailyard.errors import invalid
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

router = APIRouter(prefix="/v1", tags=["Account"])


class ServerAuthOut(BaseModel):
    user: str


class ServerOut(BaseModel):
    auth: ServerAuthOut
    host: str
    port: int
    secure: bool = Field(description="true: implicit TLS; false: STARTTLS when the server offers it")


class AutoconfigOut(BaseModel):
    imap: ServerOut
    smtp: ServerOut
    source: str = Field(alias="_source", description='"builtin", "srv", "mx" or "guess"')


def _server(endpoint: Endpoint, email: str) -> dict[str, Any]:
    return {"auth": {"user": email}, "host": endpoint.host, "port": endpoint.port, "secure": endpoint.secure}


@router.get("/autoconfig", summary="Detect IMAP and SMTP settings for an email address",
            response_class=JSONResponse, responses={200: {"model": AutoconfigOut}})
async def autoconfig(request: Request, _: Annotated[Principal, Depends(require(Scope.READ))],
                     email: Annotated[str, Query(max_length=320, description="Email address")]) -> JSONResponse:
    address = email.strip()
    resolver = make_resolver(request.app.state.runtime.settings.dns_resolver)
    try:
        detected = await detect(address, resolver)
    except ValueError:
        raise invalid("email", "must be a valid email address") from None
    return JSONResponse({"imap": _server(detected.imap, address), "smtp": _server(detected.smtp, address),
                         "_source": detected.source})
