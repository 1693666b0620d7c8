"""Aliases (`/v2/domains/{domain}/aliases`) and message routes (`PUT /v2/domains/{domain}/route`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mailyard.hosting.records import HostedMailboxRecord
from tests.dialects.msjhub.helpers import USER, activate_without_dns, validation_fields
from tests.support.app import Api
from tests.support.hosting import create_mailbox, headers, tenant_token, update_mailbox

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
    # An alias delivering to itself would loop in Postfix until its recursion limit, then bounce.
    ({"name": "loop", "destinations": ["a@b.test", "LOOP@aliases.test"]}, "destinations"),
    # The webhook copies' domain (and every .invalid one) is no destination.
    ({"name": "ok", "destinations": ["domain-1-0123@hooks.mailyard.invalid"]}, "destinations.0"),
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


_HOOK = {"forward_mode": "webhook_then_store"}


@pytest.mark.parametrize(("body", "field"), [
    ({"forward_mode": "post"}, "forward_mode"),
    ({**_HOOK, "webhook_secret": "s"}, "webhook_url"),
    ({**_HOOK, "webhook_url": "ftp://x.test/", "webhook_secret": "s"}, "webhook_url"),
    ({**_HOOK, "webhook_url": "https://x.test/", "webhook_secret": 5}, "webhook_secret"),
    ({**_HOOK, "webhook_url": "https://x.test/", "webhook_secret": ""}, "webhook_secret"),
    # No secret given and none stored: the posts could not be signed.
    ({**_HOOK, "webhook_url": "https://x.test/"}, "webhook_secret"),
    ({**_HOOK, "webhook_url": "https://x.test/", "webhook_secret": None}, "webhook_secret"),
    ({"forward_mode": "store", "webhook_url": "https://x.test/"}, "webhook_url"),
    ({"forward_mode": "store", "webhook_secret": "s"}, "webhook_secret"),
])
async def test_bad_route_is_422_naming_the_field_and_keeps_the_route(api: Api, body: dict[str, Any],
                                                                   field: str) -> None:
    await activate_without_dns(api, DOMAIN)
    response = await api.client.put(f"/v2/domains/{DOMAIN}/route", json={"user_id": USER, **body},
                                    headers=headers(api))
    assert response.status_code == 422 and field in validation_fields(response)
    info = await api.client.get(f"/v2/domains/{DOMAIN}/info", params={"user_id": USER}, headers=headers(api))
    assert info.json()["domain"]["route"]["forward_mode"] == "store"


@pytest.mark.parametrize("url", [
    "http://[::1", "http://[::1]:99999/", "http://x.test:0/", "http://x.test:70000/", "http://x.test:port/",
    "http://exa mple.test/", "http://x.test/ in", " http://x.test/", "http://x.test/\x07", "http://x.test/\u0085",
    "http://user:pw@x.test/", "https://x.test/" + "a" * 2048, "http://-bad-.test/", "http://1.2.3/", "http:///path",
    "http://[fe80::1%25eth0]/", "http://[1.2.3.4]/", "mailto:a@b.test", "//x.test/", "x.test",
])
async def test_bad_webhook_url_is_422_naming_webhook_url(api: Api, url: str) -> None:
    await activate_without_dns(api, DOMAIN)
    response = await api.client.put(f"/v2/domains/{DOMAIN}/route", headers=headers(api), json={
        "user_id": USER, **_HOOK, "webhook_url": url, "webhook_secret": "s"})
    assert validation_fields(response) == ["webhook_url"]


@pytest.mark.parametrize("url", ["http://[::1]:8080/in", "https://127.0.0.1/in", "https://bücher.example/in?x=1",
                                 "http://localhost:3000", "https://hooks.example.test:443/a/b#frag"])
async def test_good_webhook_urls_are_taken_as_given(api: Api, url: str) -> None:
    await activate_without_dns(api, DOMAIN)
    response = await api.client.put(f"/v2/domains/{DOMAIN}/route", headers=headers(api), json={
        "user_id": USER, **_HOOK, "webhook_url": url, "webhook_secret": "s"})
    assert response.status_code == 200, response.text
    assert response.json()["domain"]["route"]["webhook_url"] == url


async def test_a_route_put_without_the_secret_keeps_the_stored_one(api: Api) -> None:
    await activate_without_dns(api, DOMAIN)

    async def put(**body: Any) -> httpx.Response:
        return await api.client.put(f"/v2/domains/{DOMAIN}/route", headers=headers(api),
                                    json={"user_id": USER, **_HOOK, **body})

    assert (await put(webhook_url="https://one.example.test/", webhook_secret="first-secret")).status_code == 200
    # The secret is write-only, so a client re-sending what it read back has no secret to send.
    again = await put(webhook_url="https://two.example.test/")
    assert again.status_code == 200, again.text
    assert again.json()["domain"]["route"] == {"forward_mode": "webhook_then_store",
                                               "webhook_url": "https://two.example.test/", "webhook_secret_set": True}
    route = await api.runtime.routes.route(DOMAIN)
    assert route is not None and (route.url, route.secret) == ("https://two.example.test/", "first-secret")
    # An explicit null cannot remove the secret of a route that posts; the stored one stays.
    assert validation_fields(await put(webhook_url="https://two.example.test/", webhook_secret=None)) == \
        ["webhook_secret"]
    assert (await put(webhook_url="https://two.example.test/", webhook_secret="second-secret")).status_code == 200
    route = await api.runtime.routes.route(DOMAIN)
    assert route is not None and route.secret == "second-secret"


async def test_another_tenants_route_put_is_404_and_changes_nothing(api: Api) -> None:
    await activate_without_dns(api, DOMAIN)
    other = await tenant_token(api, "user_999")
    response = await api.client.put(f"/v2/domains/{DOMAIN}/route", headers=headers(api, other), json={
        "user_id": "user_999", **_HOOK, "webhook_url": "https://evil.example.test/", "webhook_secret": "s"})
    assert response.status_code == 404, response.text
    info = await api.client.get(f"/v2/domains/{DOMAIN}/info", params={"user_id": USER}, headers=headers(api))
    assert info.json()["domain"]["route"] == {"forward_mode": "store", "webhook_url": None,
                                              "webhook_secret_set": False}
    assert await api.runtime.routes.route(DOMAIN) is None


async def test_a_forward_to_the_webhook_copies_domain_is_refused(api: Api) -> None:
    await activate_without_dns(api, DOMAIN)
    response = await api.client.post("/v2/email-accounts/create", headers=headers(api), json={
        "domain": DOMAIN, "local_part": "fwd", "user_id": USER, "forwards": ["domain-1-00@hooks.mailyard.invalid"]})
    assert "forwards.0" in validation_fields(response)


async def _script(api: Api, address: str) -> str:
    script = await api.runtime.db.read_scalar(
        select(HostedMailboxRecord.sieve_script).where(HostedMailboxRecord.address == address))
    assert isinstance(script, str)
    return script


async def test_the_autoresponder_addresses_follow_the_aliases_that_reach_the_mailbox(api: Api) -> None:
    await activate_without_dns(api, DOMAIN)
    # An alias made before its mailbox exists counts from the mailbox's creation on.
    assert (await _create(api, name="early", destinations=["away@aliases.test"])).status_code == 200
    account, _ = await create_mailbox(api, "away", DOMAIN, autoresponder_enabled=True, autoresponder_body="Away.")
    assert '"away@aliases.test", "early@aliases.test"' in await _script(api, account["address"])
    # Created: the mailbox's script is re-rendered; aliases of aliases count too (Postfix expands them).
    assert (await _create(api, name="sales", destinations=[account["address"], "x@elsewhere.test"])).status_code == 200
    assert (await _create(api, name="all", destinations=["sales@aliases.test"])).status_code == 200
    script = await _script(api, account["address"])
    assert ':addresses ["away@aliases.test", "all@aliases.test", "early@aliases.test", "sales@aliases.test"]' \
        in script
    # An update of the mailbox keeps them.
    await update_mailbox(api, account["id"], user_id=USER, autoresponder_subject="Gone")
    assert '"sales@aliases.test"' in await _script(api, account["address"])
    # Deleted: gone from the script, and from the one of the alias that led through it.
    deleted = await api.client.delete(f"/v2/domains/{DOMAIN}/aliases/sales", params={"user_id": USER},
                                      headers=headers(api))
    assert deleted.status_code == 200
    assert ':addresses ["away@aliases.test", "early@aliases.test"]' in await _script(api, account["address"])


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
