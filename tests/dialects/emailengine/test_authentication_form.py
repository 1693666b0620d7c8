"""`POST /v1/authentication/form` over the API: the seed example, tokens, tenants, bad input."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.support.app import Api
from tests.support.hosting import tenant_token

SEED_BODY = {"account": "user123", "email": "john@gmail.com", "name": "John Doe",
             "redirectUrl": "https://myapp.com/settings"}


async def test_the_seed_example_answers_a_form_url(api: Api) -> None:
    reply = await api.post("/v1/authentication/form", json=SEED_BODY)
    assert reply.status_code == 200, reply.text
    url = reply.json()["url"]
    assert set(reply.json()) == {"url"}
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == api.runtime.settings.base_url
    assert parts.path == "/accounts/new" and set(parse_qs(parts.query)) == {"data", "sig"}


async def test_a_token_is_required(api: Api) -> None:
    reply = await api.client.post("/v1/authentication/form", json=SEED_BODY)
    assert reply.status_code == 401


async def test_bad_input_names_the_field(api: Api) -> None:
    for body, field in (({**SEED_BODY, "redirectUrl": "ftp://x"}, "redirectUrl"),
                        ({k: v for k, v in SEED_BODY.items() if k != "redirectUrl"}, "redirectUrl"),
                        ({**SEED_BODY, "email": "nope"}, "email"),
                        ({**SEED_BODY, "extra": 1}, "extra")):
        reply = await api.post("/v1/authentication/form", json=body)
        assert reply.status_code == 400, reply.text
        assert reply.json()["details"][0]["field"] == field


async def test_a_tenant_token_binds_the_link_to_its_tenant(api: Api) -> None:
    token = await tenant_token(api, "tenant-7", scopes=["read", "write"])
    reply = await api.client.post("/v1/authentication/form", json=SEED_BODY,
                                  headers={"Authorization": f"Bearer {token}"})
    query = parse_qs(urlsplit(reply.json()["url"]).query)
    link = await api.runtime.form_links.open(query["data"][0], query["sig"][0])
    assert link.tenant == "tenant-7"

