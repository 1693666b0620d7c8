"""API tokens: only their hash is stored, revocation is immediate, the first admin token appears once."""

from pathlib import Path

from sqlalchemy import select

from mailyard.runtime import Runtime
from mailyard.security.scopes import Scope
from mailyard.security.tokens import hash_token
from mailyard.store.models import ApiToken
from mailyard.store.urls import sqlite_path


async def test_created_token_authenticates_with_its_scopes_and_tenant(runtime: Runtime) -> None:
    info, token = await runtime.tokens.create(["read"], tenant="user_1", roles=["EmailAccount-Read"])
    principal = await runtime.tokens.authenticate(token)
    assert principal is not None
    assert principal.token_id == info.id
    assert principal.scopes == {Scope.READ}
    assert principal.tenant == "user_1"
    assert principal.roles == ("EmailAccount-Read",)


async def test_only_the_hash_of_a_token_is_stored(runtime: Runtime) -> None:
    _, token = await runtime.tokens.create(["admin"])
    async with runtime.db.transaction() as session:
        hashes = (await session.scalars(select(ApiToken.token_hash))).all()
    assert hash_token(token) in hashes
    path = sqlite_path(runtime.db.url)
    if path:
        await runtime.db.dispose()  # flush the WAL into the file before reading it raw
        assert token.encode() not in Path(path).read_bytes()


async def test_unknown_token_is_not_authenticated(runtime: Runtime) -> None:
    await runtime.tokens.create()
    assert await runtime.tokens.authenticate("0" * 64) is None


async def test_revoked_token_stops_working_at_once(runtime: Runtime) -> None:
    info, token = await runtime.tokens.create()
    await runtime.tokens.revoke(info.id)
    assert await runtime.tokens.authenticate(token) is None
    assert [t.id for t in await runtime.tokens.list()] == []
    assert [t.id for t in await runtime.tokens.list(include_revoked=True)] == [info.id]


async def test_bootstrap_admin_token_is_created_only_on_a_store_that_never_had_one(runtime: Runtime) -> None:
    token = await runtime.tokens.bootstrap_admin()
    assert token is not None
    principal = await runtime.tokens.authenticate(token)
    assert principal is not None and principal.is_admin
    assert await runtime.tokens.bootstrap_admin() is None


async def test_bootstrap_is_skipped_when_tokens_already_exist(runtime: Runtime) -> None:
    await runtime.tokens.create()
    assert await runtime.tokens.bootstrap_admin() is None
