"""`/v1/settings`: the webhook settings in EmailEngine's shape, admin only, validated as a whole, and the
serviceSecret never shown."""

import pytest

from tests.support.app import Api

SECRET = "very-secret-signing-key-4711"


async def test_defaults(api: Api) -> None:
    response = await api.get("/v1/settings")
    assert response.status_code == 200
    assert response.json() == {"webhooksEnabled": False, "webhooks": None, "webhookEvents": ["*"],
                               "serviceUrl": api.runtime.settings.base_url, "serviceSecretSet": False}


async def test_post_answers_the_updated_keys_and_get_shows_them(api: Api) -> None:
    response = await api.post("/v1/settings", {"webhooksEnabled": True, "webhooks": "https://hooks.example/in",
                                               "webhookEvents": ["messageNew", "accountAdded"]})
    assert response.status_code == 200
    assert response.json() == {"updated": ["webhooksEnabled", "webhooks", "webhookEvents"]}
    assert (await api.get("/v1/settings")).json() == {
        "webhooksEnabled": True, "webhooks": "https://hooks.example/in",
        "webhookEvents": ["messageNew", "accountAdded"], "serviceUrl": api.runtime.settings.base_url,
        "serviceSecretSet": False,
    }


async def test_partial_update_keeps_the_other_keys(api: Api) -> None:
    await api.post("/v1/settings", {"webhooksEnabled": True, "webhooks": "https://hooks.example/in"})
    response = await api.post("/v1/settings", {"serviceUrl": "https://mail.example"})
    assert response.json() == {"updated": ["serviceUrl"]}
    body = (await api.get("/v1/settings")).json()
    assert (body["webhooksEnabled"], body["webhooks"], body["serviceUrl"]) == (
        True, "https://hooks.example/in", "https://mail.example")


async def test_service_secret_is_never_in_any_response(api: Api) -> None:
    posted = await api.post("/v1/settings", {"serviceSecret": SECRET})
    assert posted.json() == {"updated": ["serviceSecret"]}
    got = await api.get("/v1/settings")
    assert got.json()["serviceSecretSet"] is True
    refused = await api.post("/v1/settings", {"serviceSecret": SECRET * 100, "webhooks": "nope"})
    assert refused.status_code == 400
    for response in (posted, got, refused):
        assert SECRET not in response.text
    assert (await api.runtime.settings_store.webhook_settings()).service_secret == SECRET


async def test_null_clears_the_secret_and_empty_string_clears_the_url(api: Api) -> None:
    await api.post("/v1/settings", {"serviceSecret": SECRET, "webhooks": "http://hooks.example/"})
    assert (await api.post("/v1/settings", {"serviceSecret": None, "webhooks": ""})).status_code == 200
    body = (await api.get("/v1/settings")).json()
    assert body["serviceSecretSet"] is False and body["webhooks"] is None


async def test_star_string_is_every_event(api: Api) -> None:
    await api.post("/v1/settings", {"webhookEvents": ["messageNew"]})
    await api.post("/v1/settings", {"webhookEvents": "*"})
    assert (await api.get("/v1/settings")).json()["webhookEvents"] == ["*"]


async def test_empty_body_updates_nothing(api: Api) -> None:
    assert (await api.post("/v1/settings", {})).json() == {"updated": []}


@pytest.mark.parametrize(("body", "field"), [
    ({"webhooks": "ftp://hooks.example/"}, "webhooks"),
    ({"webhooks": 12}, "webhooks"),
    ({"serviceUrl": "mail.example"}, "serviceUrl"),
    ({"webhookEvents": ["messageNew", "noSuchEvent"]}, "webhookEvents"),
    ({"webhookEvents": {"a": 1}}, "webhookEvents"),
    ({"webhooksEnabled": "maybe"}, "webhooksEnabled"),
    ({"webhooksEnabled": None}, "webhooksEnabled"),
    ({"serviceSecret": ["x"]}, "serviceSecret"),
    ({"unknownSetting": 1}, "unknownSetting"),
])
async def test_bad_input_is_400_naming_the_field(api: Api, body: dict, field: str) -> None:
    response = await api.post("/v1/settings", body)
    assert response.status_code == 400
    error = response.json()
    assert error["statusCode"] == 400 and error["code"] == "InputValidationError"
    assert f'"{field}"' in error["message"]
    assert [d["field"] for d in error["details"]] == [field]


async def test_bad_input_changes_nothing(api: Api) -> None:
    before = (await api.get("/v1/settings")).json()
    response = await api.post("/v1/settings", {"webhooksEnabled": True, "webhooks": "https://ok.example/",
                                               "serviceSecret": SECRET, "webhookEvents": ["bogus"]})
    assert response.status_code == 400
    assert (await api.get("/v1/settings")).json() == before


async def test_malformed_json_is_400(api: Api) -> None:
    response = await api.client.post("/v1/settings", content=b"{nope",
                                      headers={**api.auth(), "content-type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["get", "post"])
async def test_settings_need_an_admin_token(api: Api, method: str) -> None:
    _, writer = await api.runtime.tokens.create(["read", "write"])
    response = await api.client.request(method.upper(), "/v1/settings", headers=api.auth(writer),
                                        json={"webhooksEnabled": True} if method == "post" else None)
    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"
    assert (await api.client.get("/v1/settings")).status_code == 401
    assert (await api.get("/v1/settings")).json()["webhooksEnabled"] is False


async def test_settings_reach_the_dispatcher_at_once(api: Api) -> None:
    await api.post("/v1/settings", {"webhooksEnabled": True, "webhookEvents": ["connectError"]})
    settings = await api.runtime.webhooks.settings.webhook_settings()
    assert settings.webhooks_enabled and settings.webhook_events == ["connectError"]
