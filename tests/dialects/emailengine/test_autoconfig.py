"""`GET /v1/autoconfig?email=`: EmailEngine's settings shape, token required, bad input names `email`."""

from __future__ import annotations

import pytest

from tests.servers.dnsmasq import DnsServer
from tests.support.app import Api


async def test_a_well_known_provider_answers_in_emailengines_shape(api: Api) -> None:
    reply = await api.get("/v1/autoconfig", params={"email": "John@GMail.com"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "imap": {"auth": {"user": "John@GMail.com"}, "host": "imap.gmail.com", "port": 993, "secure": True},
        "smtp": {"auth": {"user": "John@GMail.com"}, "host": "smtp.gmail.com", "port": 465, "secure": True},
        "_source": "builtin",
    }


async def test_a_domain_publishing_srv_records_gets_them(api: Api, dns_records: DnsServer) -> None:
    with dns_records.batch():
        dns_records.set_srv("_imaps._tcp.corp.test", "imap.corp.test", 993)
        dns_records.set_srv("_submission._tcp.corp.test", "smtp.corp.test", 587)
    _, reader = await api.runtime.tokens.create(["read"])
    reply = await api.client.get("/v1/autoconfig", params={"email": "ann@corp.test"}, headers=api.auth(reader))
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "imap": {"auth": {"user": "ann@corp.test"}, "host": "imap.corp.test", "port": 993, "secure": True},
        "smtp": {"auth": {"user": "ann@corp.test"}, "host": "smtp.corp.test", "port": 587, "secure": False},
        "_source": "srv",
    }


async def test_a_domain_without_records_gets_the_guess(api: Api, dns_records: DnsServer) -> None:
    body = (await api.get("/v1/autoconfig", params={"email": "ann@nowhere.test"})).json()
    assert (body["imap"]["host"], body["smtp"]["host"], body["_source"]) == (
        "imap.nowhere.test", "smtp.nowhere.test", "guess")


async def test_a_token_is_required(api: Api) -> None:
    reply = await api.client.get("/v1/autoconfig", params={"email": "a@gmail.com"})
    assert reply.status_code == 401
    assert reply.json()["statusCode"] == 401


@pytest.mark.parametrize("params", [{}, {"email": ""}, {"email": "not-an-address"}, {"email": "a@bad domain"},
                                    {"email": "a@" + "x" * 320 + ".test"}],
                         ids=["missing", "empty", "no-at", "space", "too-long"])
async def test_missing_or_malformed_email_is_a_400_naming_the_field(api: Api, params: dict[str, str]) -> None:
    reply = await api.get("/v1/autoconfig", params=params)
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert (body["statusCode"], body["error"], body["code"]) == (400, "Bad Request", "InputValidationError")
    assert [d["field"] for d in body["details"]] == ["email"]
    assert body["message"].startswith('"email"')
