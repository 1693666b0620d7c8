"""Tenancy on /v2: a tenant's token acts only for its own user_id (403 otherwise), never sees another tenant's
domains or mailboxes (404, as if they did not exist), and lists only its own; admin tokens act for anyone."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.dialects.msjhub.helpers import (
    activate_without_dns,
    assert_domain_not_found,
    assert_error,
    auth_check,
    get_account,
)
from tests.support.app import Api
from tests.support.hosting import create_mailbox, headers, tenant_token

A, B = "tenant_a", "tenant_b"
A_DOMAIN, B_DOMAIN = "alpha-corp.com", "beta-corp.com"


@dataclass
class Tenants:
    api: Api
    a_token: str
    a_mailbox: dict[str, Any]
    b_mailbox: dict[str, Any]
    b_password: str

    async def as_a(self, method: str, path: str, *, json: Any = None, params: Any = None) -> httpx.Response:
        return await self.api.client.request(method, path, json=json, params=params,
                                             headers=headers(self.api, self.a_token))


@pytest.fixture
async def tenants(api: Api) -> Tenants:
    """Two tenants, each with an active domain and one mailbox, set up by the admin."""
    await activate_without_dns(api, A_DOMAIN, A)
    await activate_without_dns(api, B_DOMAIN, B)
    a_mailbox, _ = await create_mailbox(api, "info", A_DOMAIN, A)
    b_mailbox, b_password = await create_mailbox(api, "info", B_DOMAIN, B)
    return Tenants(api, await tenant_token(api, A), a_mailbox, b_mailbox, b_password)


async def test_another_tenants_domain_is_not_found(tenants: Tenants) -> None:
    for method, path, json, params in [
        ("GET", f"/v2/domains/{B_DOMAIN}/info", None, {"user_id": A}),
        ("GET", f"/v2/domains/{B_DOMAIN}/email-accounts", None, {"user_id": A}),
        ("POST", f"/v2/domains/{B_DOMAIN}/verify", {"user_id": A}, None),
    ]:
        assert_error(await tenants.as_a(method, path, json=json, params=params), 404, "Not found")
    # Named in the body or query, the 404 also names the field: exactly as for a domain nobody has.
    for method, path, json, params in [
        ("POST", "/v2/domains/delete", {"domain": B_DOMAIN, "user_id": A, "force": True}, None),
        ("GET", "/v2/email-accounts", None, {"user_id": A, "domain": B_DOMAIN}),
        ("POST", "/v2/email-accounts/create", {"domain": B_DOMAIN, "local_part": "intruder", "user_id": A}, None),
    ]:
        assert_domain_not_found(await tenants.as_a(method, path, json=json, params=params))
        nobodys = {**json, "domain": "nobodys-shop.com"} if json else {**params, "domain": "nobodys-shop.com"}
        assert_domain_not_found(await tenants.as_a(method, path, json=json and nobodys,
                                                   params=params and nobodys))
    # B's domain and mailbox are untouched.
    shown = await tenants.api.client.get(f"/v2/domains/{B_DOMAIN}/info", params={"user_id": B},
                                         headers=headers(tenants.api))
    assert shown.json()["domain"]["status"] == "active" and shown.json()["domain"]["email_accounts"] == 1


async def test_another_tenants_mailbox_is_not_found_and_stays_unchanged(tenants: Tenants) -> None:
    theirs = tenants.b_mailbox["id"]
    before = await get_account(tenants.api, theirs, B)
    for method, path, json, params in [
        ("GET", f"/v2/email-accounts/{theirs}", None, {"user_id": A}),
        ("PUT", f"/v2/email-accounts/{theirs}", {"user_id": A, "status": "disabled"}, None),
        ("POST", f"/v2/email-accounts/{theirs}/password/reset", {"user_id": A}, None),
        ("POST", "/v2/email-accounts/delete", {"id": theirs, "user_id": A}, None),
    ]:
        assert_error(await tenants.as_a(method, path, json=json, params=params), 404, "Not found")
    assert await get_account(tenants.api, theirs, B) == before
    # Nor can A's token check logins of B's mailbox: to it, the address does not exist.
    response = await tenants.as_a("POST", "/v2/auth/check", json={
        "address": tenants.b_mailbox["address"], "password": tenants.b_password, "service": "imap"})
    assert response.status_code == 200
    assert response.json() == {"allow": False, "reason": "invalid credentials"}
    decision = await auth_check(tenants.api, address=tenants.b_mailbox["address"], password=tenants.b_password,
                                service="imap")
    assert decision["allow"] is True


async def test_acting_for_another_user_id_is_forbidden(tenants: Tenants) -> None:
    theirs = tenants.b_mailbox["id"]
    for method, path, json, params in [
        ("GET", "/v2/domains", None, {"user_id": B}),
        ("GET", f"/v2/domains/{B_DOMAIN}/info", None, {"user_id": B}),
        ("GET", f"/v2/domains/{B_DOMAIN}/email-accounts", None, {"user_id": B}),
        ("POST", "/v2/domain", {"domain": "gamma-corp.com", "user_id": B}, None),
        ("POST", f"/v2/domains/{B_DOMAIN}/verify", {"user_id": B}, None),
        ("POST", "/v2/domains/delete", {"domain": B_DOMAIN, "user_id": B, "force": True}, None),
        ("GET", "/v2/email-accounts", None, {"user_id": B}),
        ("GET", f"/v2/email-accounts/{theirs}", None, {"user_id": B}),
        ("POST", "/v2/email-accounts/create", {"domain": B_DOMAIN, "local_part": "intruder", "user_id": B}, None),
        ("PUT", f"/v2/email-accounts/{theirs}", {"user_id": B, "status": "disabled"}, None),
        ("POST", f"/v2/email-accounts/{theirs}/password/reset", {"user_id": B}, None),
        ("POST", "/v2/email-accounts/delete", {"id": theirs, "user_id": B}, None),
    ]:
        response = await tenants.as_a(method, path, json=json, params=params)
        assert_error(response, 403, "Forbidden")
    listed = await tenants.api.client.get("/v2/domains", params={"user_id": B}, headers=headers(tenants.api))
    assert [d["domain"] for d in listed.json()["items"]] == [B_DOMAIN]
    assert (await get_account(tenants.api, theirs, B))["status"] == "active"


async def test_tenant_lists_only_its_own_and_works_on_them(tenants: Tenants) -> None:
    domains = await tenants.as_a("GET", "/v2/domains", params={"user_id": A})
    assert [d["domain"] for d in domains.json()["items"]] == [A_DOMAIN]
    accounts = await tenants.as_a("GET", "/v2/email-accounts", params={"user_id": A})
    assert [(i["id"], i["user_id"]) for i in accounts.json()["items"]] == [(tenants.a_mailbox["id"], A)]
    by_domain = await tenants.as_a("GET", f"/v2/domains/{A_DOMAIN}/email-accounts", params={"user_id": A})
    assert [i["address"] for i in by_domain.json()["items"]] == [f"info@{A_DOMAIN}"]
    created = await tenants.as_a("POST", "/v2/email-accounts/create",
                                 json={"domain": A_DOMAIN, "local_part": "sales", "user_id": A})
    assert created.status_code == 200, created.text
    assert created.json()["account"]["userId"] == A
    mailbox_id = created.json()["account"]["id"]
    updated = await tenants.as_a("PUT", f"/v2/email-accounts/{mailbox_id}", json={"user_id": A, "chat": False})
    assert updated.status_code == 200 and updated.json()["account"]["settings"]["chat"] is False
    deleted = await tenants.as_a("POST", "/v2/email-accounts/delete", json={"id": mailbox_id, "user_id": A})
    assert deleted.status_code == 200


async def test_admin_acts_for_any_user_id(tenants: Tenants) -> None:
    api = tenants.api
    for user, domain in ((A, A_DOMAIN), (B, B_DOMAIN)):
        listed = await api.client.get("/v2/domains", params={"user_id": user}, headers=headers(api))
        assert [d["domain"] for d in listed.json()["items"]] == [domain]
    theirs = tenants.b_mailbox["id"]
    updated = await api.client.put(f"/v2/email-accounts/{theirs}", json={"user_id": B, "display_name": "Beta"},
                                   headers=headers(api))
    assert updated.status_code == 200 and updated.json()["account"]["display_name"] == "Beta"
    # The user_id still has to be the owner's: the admin sees B's mailbox only when acting for B.
    wrong_owner = await api.client.get(f"/v2/email-accounts/{theirs}", params={"user_id": A}, headers=headers(api))
    assert_error(wrong_owner, 404, "Not found")
    created = await api.client.post("/v2/domain", json={"domain": "gamma-corp.com", "user_id": "tenant_c"},
                                    headers=headers(api))
    assert created.status_code == 200 and created.json()["domain"]["user_id"] == "tenant_c"


async def test_read_only_tenant_token_can_read_but_not_write(tenants: Tenants) -> None:
    api = tenants.api
    reader = headers(api, await tenant_token(api, A, ["read"]))
    assert (await api.client.get("/v2/domains", params={"user_id": A}, headers=reader)).status_code == 200
    assert (await api.client.get("/v2/email-accounts", params={"user_id": A}, headers=reader)).status_code == 200
    mine = tenants.a_mailbox["id"]
    for method, path, json in [
        ("POST", "/v2/domain", {"domain": "gamma-corp.com", "user_id": A}),
        ("POST", "/v2/email-accounts/create", {"domain": A_DOMAIN, "local_part": "new", "user_id": A}),
        ("PUT", f"/v2/email-accounts/{mine}", {"user_id": A, "status": "disabled"}),
        ("POST", "/v2/email-accounts/delete", {"id": mine, "user_id": A}),
        ("POST", f"/v2/email-accounts/{mine}/password/reset", {"user_id": A}),
        ("POST", "/v2/domains/delete", {"domain": A_DOMAIN, "user_id": A, "force": True}),
    ]:
        response = await api.client.request(method, path, json=json, headers=reader)
        assert_error(response, 403, "Forbidden")
    listed = await api.client.get("/v2/email-accounts", params={"user_id": A}, headers=headers(api))
    assert [(i["id"], i["status"]) for i in listed.json()["items"]] == [(mine, "active")]
    domains = await api.client.get("/v2/domains", params={"user_id": A}, headers=headers(api))
    assert [d["domain"] for d in domains.json()["items"]] == [A_DOMAIN]


async def test_without_a_valid_token_every_route_is_401(tenants: Tenants) -> None:
    api = tenants.api
    mine = tenants.a_mailbox["id"]
    revoked_info, revoked = await api.runtime.tokens.create(["read", "write"], tenant=A)
    await api.runtime.tokens.revoke(revoked_info.id)
    no_token: list[dict[str, str]] = [{}, {"x-api-key": ""}, {"x-api-key": "not-a-real-token"},
                                      {"x-api-key": revoked}]
    routes: list[tuple[str, str, Any]] = [
        ("GET", f"/v2/domains?user_id={A}", None),
        ("POST", "/v2/domain", {"domain": "gamma-corp.com", "user_id": A}),
        ("GET", f"/v2/email-accounts?user_id={A}", None),
        ("GET", f"/v2/email-accounts/{mine}?user_id={A}", None),
        ("POST", "/v2/email-accounts/create", {"domain": A_DOMAIN, "local_part": "new", "user_id": A}),
        ("PUT", f"/v2/email-accounts/{mine}", {"user_id": A, "status": "disabled"}),
        ("POST", "/v2/auth/check", {"address": f"info@{A_DOMAIN}", "password": "x", "service": "imap"}),
    ]
    for sent, (method, path, json) in itertools.product(no_token, routes):
        response = await api.client.request(method, path, json=json, headers=sent)
        assert response.status_code == 401, (sent, method, path)
        assert response.json() == {"message": "Unauthorized", "errors": []}
    assert (await get_account(api, mine, A))["status"] == "active"
