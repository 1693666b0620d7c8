"""Aliases (`/v2/domains/{domain}/aliases`) and message routes (`PUT /v2/domains/{domain}/route`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dialects.msjhub.helpers import USER, activate_without_dns, validation_fields
from tests.support.app import Api
from tests.support.hosting import create_mailbox, headers, tenant_token

DOMAIN = "aliases.test"


async def _create(api: Api, token: str | None = None, **body: Any) -> httpx.Response:
    return await api.client.post(f"/v2/domains/{DOMAIN}/aliases", json={"user_id": USER, **body},
                                 headers=headers(api, token))


async def _names(api: Api) -> list[str]:
    response = await api.client.get(f"/v2/domains/{DOMAIN}/aliases", params={"user_id": USER}, headers=headers(api))
    assert response.status_code == 200
    return [item["name"] for item in response.json()["items"]]


async def test_alias_is_created_listed_and_deleted(api: Api) -> None:
    await activate_without_dns(api, DOMAIN)
    created = await _create(api, name="Team", destinations=["a@aliases.test", "B@Elsewhere.test", "a@aliases.test"])
    assert created.status_code == 200, created.text
    alias = created.json()["alias"]
    assert alias["address"] == "team@aliases.test"
    assert alias["destinations"] == ["a@aliases.test", "B@elsewhere.test"]
    assert await _names(api) == ["team"]
    deleted = await api.client.delete(f"/v2/domains/{DOMAIN}/aliases/team", params={"user_id": USER},
                                      headers=headers(api))
    assert deleted.json() == {"ok": True, "deleted": {"id": alias["id"], "address": "team@aliases.test"}}
    assert await _names(api) == []
    again = await api.client.delete(f"/v2/domains/{DOMAIN}/aliases/team", params={"user_id": USER},
                                    headers=headers(api))
    assert again.status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x y", "destinations": ["a@b.test"]}, "name"),
    ({"name": "ok", "destinations": []}, "destinations"),
    ({"name": "ok", "destinations": "a@b.test"}, "destinations"),
    ({"name": "ok", "destinations": ["not-an-address"]}, "destinations.0"),
    ({"name": "ok", "destinations": [f"u{i}@b.test" for i in range(21)]}, "destinations"),
    ({"name": "ok", "destinations": ["a@b.test"], "colour": "red"}, "colour"),
])
async def test_bad_alias_input_is_422_naming_the_field_and_creates_nothing(api: Api, body: dict[str, Any],
                                                                         field: str) -> None:
    await activate_without_dns(api, DOMAIN)
    response = await _create(api, **body)
    assert response.status_code == 422
    assert field in validation_fields(response)
    assert await _names(api) == []


async def test_alias_may_not_take_a_mailbox_address_nor_a_mailbox_an_alias_address(api: Api) -> None:
    await activate_without_dns(api, DOMAIN)
    await create_mailbox(api, "sales", DOMAIN)
    assert (await _create(api, name="sales", destinations=["a@b.test"])).status_code == 409
    assert (await _create(api, name="info", destinations=["a@b.test"])).status_code == 200
    clash = await api.client.post("/v2/email-accounts/create", headers=headers(api),
                                  json={"domain": DOMAIN, "local_part": "info", "user_id": USER})
    assert clash.status_code == 409


async def test_another_tenant_cannot_see_or_touch_the_aliases(api: Api) -> None:
    await activate_without_dns(api, DOMAIN)
    assert (await _create(api, name="team", destinations=["a@b.test"])).status_code == 200
    other = await tenant_token(api, "user_999")
    listed = await api.client.get(f"/v2/domains/{DOMAIN}/aliases", params={"user_id": "user_999"},
                                  headers=headers(api, other))
    assert listed.status_code == 404
    assert (await _create(api, other, name="x", destinations=["a@b.test"])).status_code == 403
    deleted = await api.client.delete(f"/v2/domains/{DOMAIN}/aliases/team", params={"user_id": "user_999"},
                                      headers=headers(api, other))
    assert deleted.status_code == 404
    assert await _names(api) == ["team"]


@pytest.mark.parametrize(("body", "field"), [
    ({"forward_mode": "post"}, "forward_mode"),
    ({"forward_mode": "webhook_then_store"}, "webhook_url"),
    ({"forward_mode": "webhook_then_store", "webhook_url": "ftp://x.test/"}, "webhook_url"),
    ({"forward_mode": "webhook_then_store", "webhook_url": "https://x.test/", "webhook_secret": 5}, "webhook_secret"),
])
async def test_bad_route_is_422_naming_the_field_and_keeps_the_route(api: Api, body: dict[str, Any],
                                                                   field: str) -> None:
    await activate_without_dns(api, DOMAIN)
    response = await api.client.put(f"/v2/domains/{DOMAIN}/route", json={"user_id": USER, **body},
                                    headers=headers(api))
    assert response.status_code == 422 and field in validation_fields(response)
    info = await api.client.get(f"/v2/domains/{DOMAIN}/info", params={"user_id": USER}, headers=headers(api))
    assert info.json()["domain"]["route"]["forward_mode"] == "store"


async def test_route_secret_is_write_only(api: Api) -> None:
    await activate_without_dns(api, DOMAIN)
    response = await api.client.put(f"/v2/domains/{DOMAIN}/route", headers=headers(api), json={
        "user_id": USER, "forward_mode": "webhook_then_store", "webhook_url": "https://hooks.example.test/in",
        "webhook_secret": "very-secret-value"})
    assert response.status_code == 200
    info = await api.client.get(f"/v2/domains/{DOMAIN}/info", params={"user_id": USER}, headers=headers(api))
    assert "very-secret-value" not in info.text and "very-secret-value" not in response.text
    assert info.json()["domain"]["route"]["webhook_secret_set"] is True
    back = await api.client.put(f"/v2/domains/{DOMAIN}/route", json={"user_id": USER, "forward_mode": "store"},
                                headers=headers(api))
    assert back.json()["domain"]["route"] == {"forward_mode": "store", "webhook_url": None,
                                              "webhook_secret_set": False}
