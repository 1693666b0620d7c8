"""EmailEngine dialect: `POST /v1/authentication/form`, a signed link to the hosted authentication form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel

from mailyard.api.auth import require
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

router = APIRouter(prefix="/v1", tags=["Account"])


class FormUrl(BaseModel):
    url: str


@router.post("/authentication/form", response_model=FormUrl,
             summary="Make a link to the hosted form (valid 24 hours, works once)",
             openapi_extra={"requestBody": {"content": {"application/json": {"example": {
                 "account": "user123", "email": "john@gmail.com", "name": "John Doe",
                 "redirectUrl": "https://myapp.com/settings"}}}}})
async def authentication_form(body: Annotated[dict[str, Any], Body()], request: Request,
                              principal: Annotated[Principal, Depends(require(Scope.WRITE))]) -> FormUrl:
    return FormUrl(url=request.app.state.runtime.form_links.create(body, principal.tenant))
