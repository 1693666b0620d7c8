"""Request bodies are guarded before any route: JSON text that cannot be stored (a lone UTF-16 surrogate)
is a 4xx naming the field in the route's dialect, bodies past the size cap are 413, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from mailyard.api.request_body import unstorable_field
from tests.dialects.msjhub.helpers import USER, activate_without_dns, auth_check, get_account, validation_fields
from tests.support.app import Api, ApiFactory
from tests.support.hosting import create_mailbox, headers

DOMAIN = "customer.com"
JSON = {"Content-Type": "application/json"}


def test_unstorable_field_names_the_path_of_a_lone_surrogate() -> None:
    assert unstorable_field({"a": "fine", "b": ["ok", "bad\ud800"]}) == "b[1]"
    assert unstorable_field({"imap": {"auth": {"user": "\udfff"}}}) == "imap.auth.user"
    assert unstorable_field({"k\ud800": 1}) == "body"
    # A well-formed pair (an emoji written as two escapes) is one ordinary character once parsed.
    assert unstorable_field({"name": "\U0001f600", "n": 5, "x": None}) is None


@pytest.fixture
async def customer(api: Api) -> Api:
    await activate_without_dns(api, DOMAIN)
    return api


# Written as raw JSON text: the escape must reach the server as the six characters `\ud800`.
SURROGATE = "\\ud800"


@pytest.mark.parametrize("field, raw", [
    ("tags[0]", '{"user_id": "user_123", "tags": ["%s"]}'),
    ("display_name", '{"user_id": "user_123", "display_name": "Bil%sling"}'),
    ("password", '{"user_id": "user_123", "password": "abc12345%s"}'),
    ("user_id", '{"user_id": "user%s"}'),
])
async def test_lone_surrogate_in_a_mailbox_update_is_422_and_changes_nothing(
        customer: Api, field: str, raw: str) -> None:
    created, password = await create_mailbox(customer, "billing", DOMAIN, display_name="Billing")
    before = await get_account(customer, created["id"])
    response = await customer.client.put(f"/v2/email-accounts/{created['id']}", content=raw.replace("%s", SURROGATE),
                                         headers={**headers(customer), **JSON})
    assert validation_fields(response) == [field]
    assert await get_account(customer, created["id"]) == before
    assert (await auth_check(customer, address=created["address"], password=password, service="imap"))["allow"]


async def test_lone_surrogate_on_create_routes_creates_nothing(customer: Api) -> None:
    send = {**headers(customer), **JSON}
    mailbox = '{"domain": "customer.com", "local_part": "billing", "user_id": "user_123", "display_name": "%s"}'
    response = await customer.client.post("/v2/email-accounts/create", content=mailbox.replace("%s", SURROGATE),
                                          headers=send)
    assert validation_fields(response) == ["display_name"]
    domain = '{"domain": "other-shop.com", "user_id": "user_123", "organization_id": "org%s"}'
    response = await customer.client.post("/v2/domain", content=domain.replace("%s", SURROGATE), headers=send)
    assert validation_fields(response) == ["organization_id"]
    listed = await customer.client.get("/v2/email-accounts", params={"user_id": USER}, headers=headers(customer))
    assert listed.json()["items"] == []
    domains = await customer.client.get("/v2/domains", params={"user_id": USER}, headers=headers(customer))
    assert [d["domain"] for d in domains.json()["items"]] == [DOMAIN]


async def test_lone_surrogate_in_the_auth_check_address_is_422(customer: Api) -> None:
    raw = '{"address": "a%s@customer.com", "password": "x", "service": "imap"}'.replace("%s", SURROGATE)
    response = await customer.client.post("/v2/auth/check", content=raw, headers={**headers(customer), **JSON})
    assert validation_fields(response) == ["address"]


async def test_lone_surrogate_in_the_emailengine_dialect_is_400_in_its_shape(api: Api) -> None:
    raw = '{"account": "acc1", "name": "x%s", "imap": {"host": "127.0.0.1", "port": 1}}'.replace("%s", SURROGATE)
    response = await api.client.post("/v1/account", content=raw, headers={**api.auth(), **JSON})
    assert response.status_code == 400
    body: dict[str, Any] = response.json()
    assert body["code"] == "InputValidationError" and '"name"' in body["message"]
    assert (await api.get("/v1/account/acc1")).status_code == 404


async def test_well_formed_escapes_pass_through(customer: Api) -> None:
    created, _ = await create_mailbox(customer, "billing", DOMAIN)
    # \u00e9 and an escaped surrogate pair (😀) are ordinary text.
    raw = '{"user_id": "user_123", "display_name": "Caf\\u00e9 \\ud83d\\ude00"}'
    response = await customer.client.put(f"/v2/email-accounts/{created['id']}", content=raw,
                                         headers={**headers(customer), **JSON})
    assert response.status_code == 200, response.text
    assert (await get_account(customer, created["id"]))["display_name"] == "Café 😀"


async def test_a_body_over_the_limit_is_413_and_changes_nothing(api_factory: ApiFactory) -> None:
    api = await api_factory(max_body_bytes=2048)
    await activate_without_dns(api, DOMAIN)
    body = {"domain": DOMAIN, "local_part": "billing", "user_id": USER, "description": "x" * 4000}
    response = await api.client.post("/v2/email-accounts/create", json=body, headers=headers(api))
    assert response.status_code == 413
    assert response.json()["errors"] == [{"field": "body", "description": "must be at most 2048 bytes"}]
    # Without a declared length (chunked), the cap holds as the body streams in.

    async def chunks() -> Any:
        for _ in range(4):
            yield b"x" * 1000

    streamed = await api.client.post("/v2/email-accounts/create", content=chunks(),
                                     headers={**headers(api), **JSON})
    assert streamed.status_code == 413
    listed = await api.client.get("/v2/email-accounts", params={"user_id": USER}, headers=headers(api))
    assert listed.json()["items"] == []
    small = await api.client.post("/v2/email-accounts/create", headers=headers(api),
                                  json={"domain": DOMAIN, "local_part": "billing", "user_id": USER})
    assert small.status_code == 200, small.text


@pytest.mark.parametrize("raw", [b"[" * 5000 + b"]" * 5000, b'{"user_id": ' + b"9" * 5000 + b"}",
                                 b'{"user_id": "\xff"}', b'{"user_id": "u", "domain": NaN}',
                                 b'{"user_id": "u", "limit": -Infinity}'])
async def test_unparseable_json_is_a_4xx_naming_body_in_each_dialect(api: Api, raw: bytes) -> None:
    hosted = await api.client.post("/v2/domain", content=raw, headers={**headers(api), **JSON})
    assert validation_fields(hosted) == ["body"]
    connected = await api.client.post("/v1/account", content=raw, headers={**api.auth(), **JSON})
    assert connected.status_code == 400
    assert connected.json()["code"] == "InputValidationError" and connected.json()["details"][0]["field"] == "body"
