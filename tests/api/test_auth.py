"""Every route needs a token, accepted in each form the five dialects use."""

import pytest

from tests.support.app import Api


def _forms(token: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    return [
        ({"Authorization": f"Bearer {token}"}, {}),
        ({"Authorization": token}, {}),
        ({"x-api-key": token}, {}),
        ({"X-Api-Token": token}, {}),
        ({}, {"access_token": token}),
    ]


@pytest.mark.parametrize("form", range(5))
async def test_token_is_accepted_in_every_dialect_form(api: Api, form: int) -> None:
    headers, params = _forms(api.admin_token)[form]
    response = await api.client.get("/v1/tokens", headers=headers, params=params)
    assert response.status_code == 200, response.text


async def test_missing_token_is_401_in_the_dialect_shape(api: Api) -> None:
    response = await api.client.get("/v1/tokens")
    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "error": "Unauthorized",
                               "message": "Missing or invalid API token", "code": "Unauthorized"}


async def test_unknown_token_is_401(api: Api) -> None:
    response = await api.client.get("/v1/tokens", headers=api.auth("f" * 64))
    assert response.status_code == 401


async def test_basic_auth_is_not_mistaken_for_a_token(api: Api) -> None:
    response = await api.client.get("/v1/tokens", headers={"Authorization": f"Basic {api.admin_token}"})
    assert response.status_code == 401


async def test_insufficient_scope_is_403(api: Api) -> None:
    _, token = await api.runtime.tokens.create(["read", "write"])
    response = await api.client.get("/v1/tokens", headers=api.auth(token))
    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"


async def test_revoked_token_is_refused_on_the_next_request(api: Api) -> None:
    info, token = await api.runtime.tokens.create(["admin"])
    assert (await api.client.get("/v1/tokens", headers=api.auth(token))).status_code == 200
    await api.runtime.tokens.revoke(info.id)
    assert (await api.client.get("/v1/tokens", headers=api.auth(token))).status_code == 401
