"""EmailEngine dialect: `POST /v1/account/{id}/submit` sends a message through the account's SMTP server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from mailyard.accounts.model import ACCOUNT_ID_MAX
from mailyard.api.auth import require
from mailyard.mail.compose import SubmitRequest
from mailyard.mail.submit import submit
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

router = APIRouter(prefix="/v1", tags=["Submit"])
Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
AccountId = Annotated[str, Path(max_length=ACCOUNT_ID_MAX, description="Account ID")]


class SentCopyOut(BaseModel):
    stored: bool = Field(description="Whether a copy was stored in the Sent folder")
    path: str | None = Field(None, description="The Sent folder")
    reason: str | None = Field(None, description="Why no copy was stored (the message was sent all the same)")


class SubmitResponse(BaseModel):
    response: str = Field(description="The SMTP server's final reply")
    messageId: str = Field(description="The Message-ID header of the sent message")
    sentCopy: SentCopyOut


@router.post("/account/{account}/submit", response_model=SubmitResponse, response_model_exclude_none=True,
             summary="Submit a message for delivery")
async def submit_message(account: AccountId, body: SubmitRequest, request: Request,
                         principal: Writer) -> SubmitResponse:
    result = await submit(request.app.state.runtime, account, body, principal)
    copy = result.sent_copy
    return SubmitResponse(response=result.response, messageId=result.message_id,
                          sentCopy=SentCopyOut(stored=copy.stored, path=copy.path, reason=copy.reason))
