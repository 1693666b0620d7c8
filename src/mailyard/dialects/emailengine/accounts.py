"""EmailEngine dialect: the `/v1` account routes (add, get, list, update, reconnect, delete, verify)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mailyard.accounts.codec import incoming
from mailyard.accounts.model import ACCOUNT_ID_MAX, AccountCreate, AccountUpdate, ImapSettings, SmtpSettings
from mailyard.accounts.service import AccountService
from mailyard.api.auth import require
from mailyard.dialects.emailengine import render
from mailyard.engine.verify import CheckResult, verify
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

router = APIRouter(prefix="/v1", tags=["Account"])
Reader = Annotated[Principal, Depends(require(Scope.READ))]
Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
AccountId = Annotated[str, Path(max_length=ACCOUNT_ID_MAX, description="Account ID")]


def _service(request: Request) -> AccountService:
    return request.app.state.runtime.accounts


class AccountCreated(BaseModel):
    account: str
    state: str = Field(description='"new" or "existing"')


class AccountRef(BaseModel):
    account: str


class AccountDeleted(BaseModel):
    account: str
    deleted: bool


class Reconnected(BaseModel):
    reconnect: bool


class ReconnectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reconnect: bool = True


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    imap: ImapSettings | None = None
    smtp: SmtpSettings | None = None
    mailboxes: bool = Field(False, description="Also list the folders")


@router.post("/account", response_model=AccountCreated, summary="Register an account")
async def create_account(body: AccountCreate, request: Request, principal: Writer) -> AccountCreated:
    account_id, created = await _service(request).upsert(body, principal)
    return AccountCreated(account=account_id, state="new" if created else "existing")


@router.get("/account/{account}", summary="Get account info", response_class=JSONResponse,
            responses={200: {"model": render.AccountOut}})
async def get_account(account: AccountId, request: Request, principal: Reader) -> JSONResponse:
    # Rendered straight to JSON: the hot read path skips response-model validation (see bench/accounts_api.py).
    return JSONResponse(render.account(await _service(request).get(account, principal)))


@router.get("/accounts", summary="List accounts", response_class=JSONResponse,
            responses={200: {"model": render.AccountListOut}})
async def list_accounts(
    request: Request,
    principal: Reader,
    state: Annotated[str | None, Query(description="Only accounts in this state")] = None,
    query: Annotated[str | None, Query(max_length=256, description="Substring of id, name or email")] = None,
    page: Annotated[int, Query(ge=0, le=10_000_000, description="Page number, from 0")] = 0,
    pageSize: Annotated[int, Query(ge=1, le=1000, description="Accounts per page")] = 20,
) -> JSONResponse:
    result = await _service(request).list(state=state, query=query, page=page, page_size=pageSize,
                                          principal=principal)
    return JSONResponse({"accounts": [render.summary(a) for a in result.accounts], "total": result.total,
                         "page": result.page, "pages": result.pages})


@router.put("/account/{account}", response_model=AccountRef, summary="Update account info")
async def update_account(account: AccountId, body: AccountUpdate, request: Request,
                         principal: Writer) -> AccountRef:
    return AccountRef(account=await _service(request).update(account, body, principal))


@router.put("/account/{account}/reconnect", response_model=Reconnected, summary="Request reconnect")
async def reconnect_account(account: AccountId, request: Request, principal: Writer,
                            body: Annotated[ReconnectRequest | None, Body()] = None) -> Reconnected:
    await _service(request).reconnect(account, principal)
    return Reconnected(reconnect=True)


@router.delete("/account/{account}", response_model=AccountDeleted, summary="Remove account")
async def delete_account(account: AccountId, request: Request, principal: Writer) -> AccountDeleted:
    await _service(request).delete(account, principal)
    return AccountDeleted(account=account, deleted=True)


def _check(result: CheckResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"success": True} if result.success else {"success": False, "error": result.error, "code": result.code}


@router.post("/verifyAccount", tags=["Account"], summary="Verify IMAP and SMTP settings")
async def verify_account(body: VerifyRequest, request: Request, _: Writer) -> dict[str, Any]:
    result = await verify(
        incoming(body.imap) if body.imap else None,
        incoming(body.smtp) if body.smtp else None,
        mailboxes=body.mailboxes,
        net=request.app.state.runtime.net,
    )
    response: dict[str, Any] = {k: v for k, v in {"imap": _check(result.imap), "smtp": _check(result.smtp)}.items()
                                if v is not None}
    if result.mailboxes is not None:
        response["mailboxes"] = [
            {k: v for k, v in {
                "path": f.path, "delimiter": f.delimiter, "parentPath": f.parent_path, "name": f.name,
                "listed": f.listed, "subscribed": f.subscribed, "specialUse": f.special_use,
                "specialUseSource": f.special_use_source,
            }.items() if v is not None}
            for f in result.mailboxes
        ]
    return response
