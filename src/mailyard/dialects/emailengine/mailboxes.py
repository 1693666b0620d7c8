"""EmailEngine dialect: `GET /v1/account/{id}/mailboxes` and `PUT /v1/account/{id}/sync`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from mailyard.accounts.mailboxes import list_mailboxes
from mailyard.accounts.model import ACCOUNT_ID_MAX
from mailyard.api.auth import require
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

router = APIRouter(prefix="/v1", tags=["Mailbox"])
AccountId = Annotated[str, Path(max_length=ACCOUNT_ID_MAX, description="Account ID")]


class Synced(BaseModel):
    sync: bool


@router.get("/account/{account}/mailboxes", summary="List the account's folders")
async def get_mailboxes(account: AccountId, request: Request,
                        principal: Annotated[Principal, Depends(require(Scope.READ))]) -> dict[str, Any]:
    runtime = request.app.state.runtime
    await runtime.accounts.get(account, principal)  # 404 and tenancy
    mailboxes = []
    for box in await list_mailboxes(runtime.db, account):
        entry: dict[str, Any] = {
            "path": box.path, "delimiter": box.delimiter, "parentPath": box.parent_path, "name": box.name,
            "listed": True, "subscribed": box.subscribed, "specialUse": box.special_use,
            "messages": box.messages, "unseen": box.unseen, "uidNext": box.uid_next,
        }
        if box.no_select:
            entry["noSelect"] = True
        mailboxes.append({k: v for k, v in entry.items() if v is not None})
    return {"mailboxes": mailboxes}


@router.put("/account/{account}/sync", response_model=Synced, summary="Resync the account's folders now")
async def sync_account(account: AccountId, request: Request,
                       principal: Annotated[Principal, Depends(require(Scope.WRITE))]) -> Synced:
    await request.app.state.runtime.accounts.request_sync(account, principal)
    return Synced(sync=True)
