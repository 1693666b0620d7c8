"""MSJ Hub email-account routes: hosted mailboxes, with every Qboxmail setting on create and update."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mailyard.dialects.msjhub import render
from mailyard.dialects.msjhub.common import JsonBody, Limit, Offset, Reader, UserId, Writer, runtime
from mailyard.dialects.msjhub.schemas import AccountCreate, AccountDelete, AccountUpdate, PasswordReset, body_doc

router = APIRouter(prefix="/v2", tags=["Email accounts"])


@router.get("/domains/{domain}/email-accounts", summary="List by domain")
async def list_by_domain(domain: str, request: Request, principal: Reader, user_id: UserId = None,
                         limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    rt = runtime(request)
    row = await rt.domains.info(principal, domain, user_id)
    page = await rt.mailboxes.list(principal, user_id, domain=domain, limit=limit, offset=offset)
    return {"domain": {"domain": row.domain, "status": row.status},
            "items": [render.account_summary(view) for view in page.items], "limit": limit, "offset": offset}


@router.post("/email-accounts/create", summary="Create account (the password is returned once)",
             openapi_extra=body_doc(AccountCreate))
async def create_account(body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    created = await runtime(request).mailboxes.create(principal, body)
    reply = render.with_password(render.account_created(created.mailbox), created.password)
    return render.with_otp(reply, created.mailbox)


@router.get("/email-accounts", summary="List accounts")
async def list_accounts(request: Request, principal: Reader, user_id: UserId = None, domain: str | None = None,
                        limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    page = await runtime(request).mailboxes.list(principal, user_id, domain=domain, limit=limit, offset=offset)
    return {"items": [render.account_summary(view) for view in page.items], "limit": limit, "offset": offset}


@router.get("/email-accounts/{account_id}", summary="Get account (with its settings and quota usage)")
async def get_account(account_id: str, request: Request, principal: Reader, user_id: UserId = None) -> dict[str, Any]:
    view = await runtime(request).mailboxes.get(principal, account_id, user_id)
    return {"account": render.account(view)}


@router.put("/email-accounts/{account_id}", summary="Update display name, status, password and settings",
            openapi_extra=body_doc(AccountUpdate))
async def update_account(account_id: str, body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    view = await runtime(request).mailboxes.update(principal, account_id, body)
    return render.with_otp({"account": render.account(view)}, view)


@router.post("/email-accounts/delete", summary="Delete account", openapi_extra=body_doc(AccountDelete))
async def delete_account(body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    view = await runtime(request).mailboxes.delete(principal, body)
    return {"ok": True, "deleted": {"id": view.id, "address": view.address}}


@router.post("/email-accounts/{account_id}/password/reset", summary="Reset password (returned once)",
             openapi_extra=body_doc(PasswordReset))
async def reset_password(account_id: str, body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    reset = await runtime(request).mailboxes.reset_password(principal, account_id, body)
    view = reset.mailbox
    return render.with_password({"id": view.id, "domain": view.domain, "address": view.address}, reset.password)
