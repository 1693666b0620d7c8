"""Small helpers shared by the MSJ Hub tests: reading accounts back, asking /v2/auth/check, checking error shapes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.app import Api
from tests.support.hosting import headers

USER = "user_123"


async def activate_without_dns(api: Api, domain: str, user_id: str = USER) -> None:
    """Register `domain` and let the admin set it active (no DNS needed, for tests about other things)."""
    created = await api.client.post("/v2/domain", json={"domain": domain, "user_id": user_id}, headers=headers(api))
    assert created.status_code == 200, created.text
    status = await api.client.put(f"/v2/domains/{domain}/status", json={"user_id": user_id, "status": "active"},
                                  headers=headers(api))
    assert status.status_code == 200, status.text
    assert status.json()["domain"]["status"] == "active"


async def get_account(api: Api, mailbox_id: int, user_id: str = USER, token: str | None = None) -> dict[str, Any]:
    response = await api.client.get(f"/v2/email-accounts/{mailbox_id}", params={"user_id": user_id},
                                    headers=headers(api, token))
    assert response.status_code == 200, response.text
    account: dict[str, Any] = response.json()["account"]
    return account


async def list_accounts(api: Api, token: str | None = None, **params: Any) -> list[dict[str, Any]]:
    response = await api.client.get("/v2/email-accounts", params={"user_id": USER, **params},
                                    headers=headers(api, token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def auth_check(api: Api, token: str | None = None, **body: Any) -> dict[str, Any]:
    """The decision of POST /v2/auth/check for `body`."""
    response = await api.client.post("/v2/auth/check", json=body, headers=headers(api, token))
    assert response.status_code == 200, response.text
    decision: dict[str, Any] = response.json()
    return decision


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    """An MSJ Hub error without field errors: `{"message": ..., "errors": []}`."""
    assert response.status_code == status, response.text
    assert response.json() == {"message": message, "errors": []}


def assert_domain_not_found(response: httpx.Response) -> None:
    """The 404 for a domain named in the body or query: it names the field (and says nothing about
    whether the domain exists for another user)."""
    assert response.status_code == 404, response.text
    assert response.json() == {"message": "Not found", "errors": [{"field": "domain", "description": "was not found"}]}


def validation_fields(response: httpx.Response) -> list[str]:
    """The fields a 422 names (asserting the documented shape on the way)."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["message"] == "Validation failed", body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"field", "description"}, body
        assert isinstance(error["description"], str) and error["description"], body
    return [error["field"] for error in body["errors"]]
