"""MSJ Hub alias and route routes: aliases of a domain, and its message route (store or webhook_then_store)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mailyard.dialects.msjhub import render
from mailyard.dialects.msjhub.common import JsonBody, Limit, Offset, Reader, UserId, Writer, runtime
from mailyard.dialects.msjhub.schemas import AliasCreate, RouteUpdate, body_doc

router = APIRouter(prefix="/v2", tags=["Aliases and routes"])


@router.post("/domains/{domain}/aliases", summary="Create an alias (up to 20 destinations)",
             openapi_extra=body_doc(AliasCreate))
async def create_alias(domain: str, body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    view = await runtime(request).aliases.create(principal, domain, body)
    return {"alias": render.alias(view)}


@router.get("/domains/{domain}/aliases", summary="List a domain's aliases")
async def list_aliases(domain: str, request: Request, principal: Reader, user_id: UserId = None,
                       limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    views = await runtime(request).aliases.list(principal, domain, user_id, limit=limit, offset=offset)
    return {"items": [render.alias(view) for view in views], "limit": limit, "offset": offset}


@router.delete("/domains/{domain}/aliases/{name}", summary="Delete an alias")
async def delete_alias(domain: str, name: str, request: Request, principal: Writer,
                       user_id: UserId = None) -> dict[str, Any]:
    view = await runtime(request).aliases.delete(principal, domain, name, user_id)
    return {"ok": True, "deleted": {"id": view.id, "address": view.address}}


@router.put("/domains/{domain}/route", summary="Store mail, or POST each message to a webhook and store it",
            openapi_extra=body_doc(RouteUpdate))
async def set_route(domain: str, body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    view = await runtime(request).routes.set_route(principal, domain, body)
    return {"domain": render.domain(view)}
