"""`/v1/tokens`: admins create (token shown once), list (never the token) and revoke API tokens."""

from tests.support.app import Api


async def test_created_token_is_returned_once_and_works(api: Api) -> None:
    response = await api.client.post("/v1/tokens", headers=api.auth(),
                                     json={"description": "ci", "scopes": ["read"], "tenant": "user_9"})
    assert response.status_code == 200
    created = response.json()
    assert created["scopes"] == ["read"] and created["tenant"] == "user_9"
    listed = (await api.client.get("/v1/tokens", headers=api.auth())).json()["tokens"]
    assert created["id"] in [t["id"] for t in listed]
    assert created["token"] not in str(listed)
    assert all("token" not in t for t in listed)
    assert (await api.client.get("/health", headers=api.auth(created["token"]))).status_code == 200


async def test_revoked_token_disappears_and_stops_working(api: Api) -> None:
    created = (await api.client.post("/v1/tokens", headers=api.auth(), json={"scopes": ["admin"]})).json()
    response = await api.client.delete(f"/v1/tokens/{created['id']}", headers=api.auth())
    assert response.json() == {"id": created["id"], "deleted": True}
    assert (await api.client.get("/v1/tokens", headers=api.auth(created["token"]))).status_code == 401
    again = await api.client.delete(f"/v1/tokens/{created['id']}", headers=api.auth())
    assert again.status_code == 404
    assert again.json()["code"] == "TokenNotFound"


async def test_unknown_scope_is_400_naming_the_field_and_creates_nothing(api: Api) -> None:
    before = (await api.client.get("/v1/tokens", headers=api.auth())).json()
    response = await api.client.post("/v1/tokens", headers=api.auth(), json={"scopes": ["root"]})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InputValidationError"
    assert body["details"][0]["field"] == "scopes"
    assert (await api.client.get("/v1/tokens", headers=api.auth())).json() == before


async def test_wrong_typed_field_is_400_naming_it(api: Api) -> None:
    response = await api.client.post("/v1/tokens", headers=api.auth(), json={"description": 5})
    assert response.status_code == 400
    assert '"description"' in response.json()["message"]


async def test_malformed_json_is_400(api: Api) -> None:
    response = await api.client.post("/v1/tokens", headers={**api.auth(), "content-type": "application/json"},
                                     content=b"{nope")
    assert response.status_code == 400
