"""Bad input gets a 400 in EmailEngine's shape, naming the field, and changes nothing."""

from typing import Any

import pytest

from tests.support.app import Api

VALID: dict[str, Any] = {
    "account": "acc1", "name": "A", "email": "a@example.com",
    "imap": {"host": "imap.example.com", "port": 993, "secure": True, "auth": {"user": "a", "pass": "pw"}},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    body: dict[str, Any] = {**VALID, "imap": {**VALID["imap"], "auth": dict(VALID["imap"]["auth"])}}
    target = body
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return body


CASES = [
    ("email", ..., "email"),
    ("email", "not-an-address", "email"),
    ("account", "has/slash", "account"),
    ("imap.port", "abc", "imap.port"),
    ("imap.port", 70000, "imap.port"),
    ("imap.port", 0, "imap.port"),
    ("imap.host", "bad host name", "imap.host"),
    ("imap.secure", "sometimes", "imap.secure"),
    ("imap.auth.pass", ..., "imap.auth"),
    ("imap.auth.user", ..., "imap.auth.user"),
    ("imap.auth.accessToken", "both-given", "imap.auth"),
    ("imap.unknownField", 1, "imap.unknownField"),
    ("imap.tls", {"rejectUnauthorized": "no"}, "imap.tls.rejectUnauthorized"),
    ("imap.port", ..., "imap.port"),
    ("webhooks", "not a url", "webhooks"),
    ("path", [], "path"),
    ("subconnections", "INBOX", "subconnections"),
    ("notifyFrom", "yesterday-ish", "notifyFrom"),
    ("surprise", True, "surprise"),
]


@pytest.mark.parametrize(("path", "value", "field"), CASES, ids=[f"{c[0]}={c[1]!r}" for c in CASES])
async def test_bad_create_input_names_the_field_and_creates_nothing(api: Api, path: str, value: Any,
                                                                    field: str) -> None:
    response = await api.post("/v1/account", _with(path, value))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["code"] == "InputValidationError"
    assert field in [d["field"] for d in body["details"]], body
    assert f'"{body["details"][0]["field"]}"' in body["message"]
    assert (await api.get("/v1/accounts")).json()["total"] == 0


async def test_imap_or_oauth2_is_required(api: Api) -> None:
    response = await api.post("/v1/account", {"account": "x", "email": "x@example.com"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "imap"


async def test_account_id_is_required_but_may_be_null(api: Api) -> None:
    body = dict(VALID)
    del body["account"]
    response = await api.post("/v1/account", body)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "account"


async def test_bad_update_changes_nothing(api: Api) -> None:
    await api.post("/v1/account", VALID)
    before = (await api.get("/v1/account/acc1")).json()
    response = await api.put("/v1/account/acc1", {"name": "New", "imap": {"partial": True, "port": 99999}})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "imap.port"
    after = (await api.get("/v1/account/acc1")).json()
    assert after["name"] == before["name"] and after["imap"] == before["imap"]


async def test_update_of_unknown_account_is_404(api: Api) -> None:
    response = await api.put("/v1/account/nobody", {"name": "x"})
    assert response.status_code == 404
    assert response.json()["code"] == "AccountNotFound"


@pytest.mark.parametrize(("query", "field"), [
    ("state=sleeping", "state"), ("pageSize=0", "pageSize"), ("pageSize=1001", "pageSize"),
    ("page=-1", "page"), ("page=x", "page"),
])
async def test_bad_list_parameters_name_the_field(api: Api, query: str, field: str) -> None:
    response = await api.get(f"/v1/accounts?{query}")
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == field


async def test_read_token_cannot_write(api: Api) -> None:
    _, token = await api.runtime.tokens.create(["read"])
    response = await api.client.post("/v1/account", json=VALID, headers=api.auth(token))
    assert response.status_code == 403
    assert (await api.client.get("/v1/accounts", headers=api.auth(token))).status_code == 200


async def test_tenant_tokens_see_only_their_own_accounts(api: Api) -> None:
    _, alice = await api.runtime.tokens.create(tenant="alice")
    _, bob = await api.runtime.tokens.create(tenant="bob")
    assert (await api.client.post("/v1/account", json=VALID, headers=api.auth(alice))).status_code == 200
    assert (await api.client.get("/v1/account/acc1", headers=api.auth(bob))).status_code == 404
    assert (await api.client.get("/v1/accounts", headers=api.auth(bob))).json()["total"] == 0
    assert (await api.client.delete("/v1/account/acc1", headers=api.auth(bob))).status_code == 404
    taken = await api.client.post("/v1/account", json=VALID, headers=api.auth(bob))
    assert taken.status_code == 409
    assert (await api.client.get("/v1/accounts", headers=api.auth(alice))).json()["total"] == 1
    assert (await api.get("/v1/accounts")).json()["total"] == 1
