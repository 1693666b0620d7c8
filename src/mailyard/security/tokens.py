"""API tokens: creation, listing, revocation and authentication. Only the SHA-256 of a token is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from mailyard.security.scopes import Scope, grants, parse_scopes
from mailyard.store.base import utcnow
from mailyard.store.db import Database
from mailyard.store.models import ApiToken, Meta

_BOOTSTRAP_KEY = "bootstrap.admin_token"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, scopes, tenant and roles."""

    token_id: str
    scopes: frozenset[Scope]
    tenant: str | None
    roles: tuple[str, ...]

    def has(self, scope: Scope) -> bool:
        return grants(self.scopes, scope)

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.scopes


@dataclass(frozen=True)
class TokenInfo:
    """A token as it may be shown: never the token itself."""

    id: str
    scopes: list[str]
    tenant: str | None
    roles: list[str]
    description: str | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> TokenInfo:
        return cls(row.id, list(row.scopes), row.tenant, list(row.roles or []), row.description,
                   row.created_at, row.revoked_at)


# Built once: constructing a statement costs more than running it on the request path.
_LIVE_TOKEN = select(ApiToken.id, ApiToken.token_hash, ApiToken.scopes, ApiToken.tenant, ApiToken.roles).where(
    ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None)
)


class TokenNotFound(LookupError):
    pass


def _new_token(
    scopes: frozenset[Scope], tenant: str | None, roles: list[str] | None, description: str | None
) -> tuple[ApiToken, str]:
    token = secrets.token_hex(32)
    row = ApiToken(
        id=secrets.token_hex(8),
        token_hash=hash_token(token),
        scopes=sorted(scopes),
        tenant=tenant or None,
        roles=list(roles or []),
        description=description,
        created_at=utcnow(),
    )
    return row, token


class TokenService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        scopes: list[str] | None = None,
        *,
        tenant: str | None = None,
        roles: list[str] | None = None,
        description: str | None = None,
    ) -> tuple[TokenInfo, str]:
        """Create a token; returns its info and the token itself, which is never retrievable again."""
        row, token = _new_token(parse_scopes(scopes), tenant, roles, description)
        async with self.db.transaction() as session:
            session.add(row)
        return TokenInfo.of(row), token

    async def list(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        table = ApiToken.__table__
        query = select(table).order_by(table.c.created_at, table.c.id)
        if not include_revoked:
            query = query.where(table.c.revoked_at.is_(None))
        return [TokenInfo.of(row) for row in await self.db.read(query)]

    async def revoke(self, token_id: str) -> TokenInfo:
        async with self.db.transaction() as session:
            row = await session.get(ApiToken, token_id)
            if row is None or row.revoked_at is not None:
                raise TokenNotFound(token_id)
            row.revoked_at = utcnow()
            return TokenInfo.of(row)

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a live token, or None. Looked up by hash, then compared in constant time."""
        digest = hash_token(token)
        row = await self.db.read_one(_LIVE_TOKEN, {"digest": digest})
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return Principal(row.id, frozenset(Scope(s) for s in row.scopes), row.tenant, tuple(row.roles or ()))

    async def bootstrap_admin(self) -> str | None:
        """On a store that never had a token, create the first admin token and return it (once, ever)."""
        try:
            async with self.db.transaction() as session:
                if await session.get(Meta, _BOOTSTRAP_KEY) is not None:
                    return None
                if (await session.scalar(select(func.count()).select_from(ApiToken))) != 0:
                    return None
                row, token = _new_token(frozenset({Scope.ADMIN}), None, None, "created on first start")
                # The marker's primary key makes a second process starting at the same moment fail here.
                session.add(Meta(key=_BOOTSTRAP_KEY, value=utcnow().isoformat()))
                session.add(row)
        except IntegrityError:
            return None
        return token
