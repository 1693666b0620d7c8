"""EmailEngine dialect: `/v1/tokens`, the admin API for API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from mailyard.api.auth import require
from mailyard.errors import invalid, not_found
from mailyard.security.scopes import Scope, parse_scopes
from mailyard.security.tokens import TokenInfo, TokenNotFound

router = APIRouter(prefix="/v1", tags=["Tokens"])
Admin = Annotated[object, Depends(require(Scope.ADMIN))]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, max_length=1000)
    scopes: list[str] | None = Field(None, description="read, write, admin, metrics; default read + write")
    tenant: str | None = Field(None, max_length=255, description="Bind the token to this user_id")
    roles: list[Annotated[str, Field(max_length=100)]] | None = None


class TokenOut(BaseModel):
    id: str
    scopes: list[str]
    tenant: str | None
    roles: list[str]
    description: str | None
    created: datetime

    @classmethod
    def of(cls, info: TokenInfo) -> TokenOut:
        return cls(id=info.id, scopes=info.scopes, tenant=info.tenant, roles=info.roles,
                   description=info.description, created=info.created_at)


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself; shown only in this response")


class TokenList(BaseModel):
    tokens: list[TokenOut]


class TokenDeleted(BaseModel):
    id: str
    deleted: bool


@router.post("/tokens", response_model=TokenCreated, summary="Create an API token")
async def create_token(body: TokenCreate, request: Request, _: Admin) -> TokenCreated:
    try:
        parse_scopes(body.scopes)
    except ValueError as exc:
        raise invalid("scopes", str(exc)) from None
    info, token = await request.app.state.runtime.tokens.create(
        body.scopes, tenant=body.tenant, roles=body.roles, description=body.description
    )
    return TokenCreated(**TokenOut.of(info).model_dump(), token=token)


@router.get("/tokens", response_model=TokenList, summary="List API tokens (never the tokens themselves)")
async def list_tokens(request: Request, _: Admin) -> TokenList:
    return TokenList(tokens=[TokenOut.of(i) for i in await request.app.state.runtime.tokens.list()])


@router.delete("/tokens/{token_id}", response_model=TokenDeleted, summary="Revoke an API token")
async def revoke_token(token_id: str, request: Request, _: Admin) -> TokenDeleted:
    try:
        await request.app.state.runtime.tokens.revoke(token_id)
    except TokenNotFound:
        raise not_found("Token was not found", "TokenNotFound", title="Token not found") from None
    return TokenDeleted(id=token_id, deleted=True)
