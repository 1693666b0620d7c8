"""MSJ Hub domain routes: register, list, info, verify DNS, set status (admin), delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mailyard.dialects.msjhub import render
from mailyard.dialects.msjhub.common import JsonBody, Limit, Offset, Reader, UserId, Writer, runtime
from mailyard.dialects.msjhub.schemas import DomainCreate, DomainDelete, DomainStatus, body_doc

router = APIRouter(prefix="/v2", tags=["Domains"])


@router.post("/domain", summary="Register a domain (pending) and get the DNS records to publish",
             openapi_extra=body_doc(DomainCreate))
async def create_domain(body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    view = await runtime(request).domains.create(principal, body)
    return {"domain": render.domain(view), "dns_records": render.dns_records(view)}


@router.get("/domains", summary="List domains")
async def list_domains(request: Request, principal: Reader, user_id: UserId = None, limit: Limit = 50,
                       offset: Offset = 0) -> dict[str, Any]:
    views = await runtime(request).domains.list(principal, user_id, limit=limit, offset=offset)
    return {"items": [render.domain(view) for view in views], "limit": limit, "offset": offset}


@router.get("/domains/{domain}/info", summary="A domain, its DNS records and their last check")
async def domain_info(domain: str, request: Request, principal: Reader, user_id: UserId = None) -> dict[str, Any]:
    view = await runtime(request).domains.info(principal, domain, user_id)
    return {"domain": render.domain(view), "dns_records": render.dns_records(view)}


@router.post("/domains/{domain}/verify", summary="Check the domain's DNS records now")
async def verify_domain(domain: str, request: Request, principal: Writer,
                        body: JsonBody | None = None, user_id: UserId = None) -> dict[str, Any]:
    acting = (body or {}).get("user_id", user_id)
    result = await runtime(request).domains.verify(principal, domain, acting)
    return {"domain": render.domain(result.domain), "verified": result.verified,
            "records": render.checks(result.checks)}


@router.put("/domains/{domain}/status", summary="Set a domain active, suspended or pending (admin token)",
            openapi_extra=body_doc(DomainStatus))
async def set_domain_status(domain: str, body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    view = await runtime(request).domains.set_status(principal, domain, body)
    return {"domain": render.domain(view)}


@router.post("/domains/delete", summary="Delete a domain (409 while it has email accounts, unless force)",
             openapi_extra=body_doc(DomainDelete))
async def delete_domain(body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    view = await runtime(request).domains.delete(principal, body)
    return {"ok": True, "deleted": {"id": view.id, "domain": view.domain}}
