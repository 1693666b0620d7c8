"""Every curl example of the MSJ Hub "Email Accounts" document, sent as written (host and key aside; the
document's id 42 becomes the id of a mailbox created first), answers with the documented shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dialects.msjhub.helpers import USER, auth_check, get_account
from tests.servers.dnsmasq import DnsServer
from tests.support.app import Api
from tests.support.hosting import active_domain, create_mailbox, headers, update_mailbox

NOTE = "Save this password now. It will not be shown again."
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def customer(api: Api, dns_records: DnsServer) -> Api:
    """The document's domain, customer.com, verified and active for user_123."""
    await active_domain(api, dns_records, "customer.com", USER)
    return api


async def send(api: Api, method: str, path: str, data: str | None = None) -> httpx.Response:
    """One curl example: its method, path with query, and `-d` body bytes, with the x-api-key header."""
    extra = JSON if data is not None else {}
    return await api.client.request(method, path, content=data, headers={**headers(api), **extra})


def with_id(text: str, mailbox_id: int) -> str:
    """The document's example id 42 replaced by a real one."""
    return text.replace("42", str(mailbox_id))


async def test_create_example_returns_the_account_and_its_password_once(customer: Api) -> None:
    response = await send(customer, "POST", "/v2/email-accounts/create",
                          '{"domain":"customer.com","local_part":"billing","user_id":"user_123"}')
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"account", "password", "note"}
    account = body["account"]
    assert set(account) == {"id", "userId", "domain", "local_part", "address", "display_name", "status", "isDefault"}
    assert isinstance(account["id"], int)
    assert account == {
        "id": account["id"], "userId": "user_123", "domain": "customer.com", "local_part": "billing",
        "address": "billing@customer.com", "display_name": None, "status": "active", "isDefault": True,
    }
    assert body["note"] == NOTE
    assert isinstance(body["password"], str) and len(body["password"]) >= 16
    decision = await auth_check(customer, address="billing@customer.com", password=body["password"], service="imap")
    assert decision["allow"] is True


async def test_create_with_the_documented_request_fields_echoes_display_name_and_password(customer: Api) -> None:
    # The document's request body, with a password that meets the policy instead of the placeholder "optional".
    response = await send(customer, "POST", "/v2/email-accounts/create",
                          '{"domain":"customer.com","local_part":"billing","display_name":"Billing",'
                          '"user_id":"user_123","password":"Billing-pass-42"}')
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "account": {"id": body["account"]["id"], "userId": "user_123", "domain": "customer.com",
                    "local_part": "billing", "address": "billing@customer.com", "display_name": "Billing",
                    "status": "active", "isDefault": True},
        "password": "Billing-pass-42",
        "note": NOTE,
    }


async def test_list_by_domain_example_shows_the_domain_and_its_accounts(customer: Api) -> None:
    support, _ = await create_mailbox(customer, "support", "customer.com")
    response = await send(customer, "GET", "/v2/domains/customer.com/email-accounts?user_id=user_123&limit=50")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["domain"] == {"domain": "customer.com", "status": "active"}
    assert body["limit"] == 50 and body["offset"] == 0
    assert len(body["items"]) == 1
    item = body["items"][0]
    assert {key: item[key] for key in ("id", "domain", "local_part", "address")} == {
        "id": support["id"], "domain": "customer.com", "local_part": "support", "address": "support@customer.com",
    }


async def test_list_example_filters_by_user_and_domain(customer: Api) -> None:
    billing, _ = await create_mailbox(customer, "billing", "customer.com")
    response = await send(customer, "GET", "/v2/email-accounts?user_id=user_123&domain=customer.com")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["limit"] == 50 and body["offset"] == 0
    assert [{key: item[key] for key in ("id", "user_id", "domain", "address")} for item in body["items"]] == [
        {"id": billing["id"], "user_id": "user_123", "domain": "customer.com", "address": "billing@customer.com"},
    ]


async def test_get_example_returns_the_account(customer: Api) -> None:
    billing, _ = await create_mailbox(customer, "billing", "customer.com")
    response = await send(customer, "GET", with_id("/v2/email-accounts/42?user_id=user_123", billing["id"]))
    assert response.status_code == 200, response.text
    account = response.json()["account"]
    assert {key: account[key] for key in ("id", "user_id", "domain", "address")} == {
        "id": billing["id"], "user_id": "user_123", "domain": "customer.com", "address": "billing@customer.com",
    }


async def test_update_example_sets_the_status(customer: Api) -> None:
    billing, _ = await create_mailbox(customer, "billing", "customer.com")
    await update_mailbox(customer, billing["id"], status="disabled")
    response = await send(customer, "PUT", with_id("/v2/email-accounts/42", billing["id"]),
                          with_id('{"user_id":"user_123","status":"active"}', billing["id"]))
    assert response.status_code == 200, response.text
    account = response.json()["account"]
    assert {key: account[key] for key in ("id", "domain", "address", "status")} == {
        "id": billing["id"], "domain": "customer.com", "address": "billing@customer.com", "status": "active",
    }
    assert (await get_account(customer, billing["id"]))["status"] == "active"


async def test_delete_example_answers_ok_with_the_deleted_account(customer: Api) -> None:
    billing, password = await create_mailbox(customer, "billing", "customer.com")
    response = await send(customer, "POST", "/v2/email-accounts/delete",
                          with_id('{"id":42,"user_id":"user_123"}', billing["id"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "deleted": {"id": billing["id"], "address": "billing@customer.com"}}
    gone = await customer.client.get(f"/v2/email-accounts/{billing['id']}", params={"user_id": USER},
                                     headers=headers(customer))
    assert gone.status_code == 404
    assert gone.json() == {"message": "Not found", "errors": []}
    decision = await auth_check(customer, address="billing@customer.com", password=password, service="imap")
    assert decision == {"allow": False, "reason": "invalid credentials"}


async def test_reset_example_returns_a_new_password_once_and_retires_the_old(customer: Api) -> None:
    billing, old = await create_mailbox(customer, "billing", "customer.com")
    response = await send(customer, "POST", with_id("/v2/email-accounts/42/password/reset", billing["id"]),
                          '{"user_id":"user_123"}')
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body == {
        "account": {"id": billing["id"], "domain": "customer.com", "address": "billing@customer.com"},
        "password": body["password"],
        "note": NOTE,
    }
    new = body["password"]
    assert isinstance(new, str) and len(new) >= 16 and new != old
    assert (await auth_check(customer, address="billing@customer.com", password=new, service="imap"))["allow"]
    assert not (await auth_check(customer, address="billing@customer.com", password=old, service="imap"))["allow"]
    assert new not in (await customer.client.get(f"/v2/email-accounts/{billing['id']}", params={"user_id": USER},
                                                 headers=headers(customer))).text
