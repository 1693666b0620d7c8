"""Password recovery: a code mailed to the secondary address buys one new password, when allowed."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

import httpx
import pytest

from tests.servers.dnsmasq import DnsServer
from tests.servers.smtp_sink import SmtpSink
from tests.support.app import Api, ApiFactory
from tests.support.hosting import active_domain, create_mailbox, headers


@pytest.fixture
async def relay_api(api_factory: ApiFactory, smtp_sink: SmtpSink) -> Api:
    return await api_factory(mail_relay=f"127.0.0.1:{smtp_sink.port}", mail_hostname="mx.mailyard.test")


async def _post(api: Api, path: str, **body: Any) -> httpx.Response:
    return await api.client.post(path, json=body, headers=headers(api))


async def _code_sent_to(sink: SmtpSink, recipient: str) -> str:
    messages = await asyncio.to_thread(sink.wait_for_messages, 1, 10.0, recipient)
    message = messages[-1].parsed()
    assert message["Auto-Submitted"] == "auto-generated"
    match = re.search(r"Recovery code: (\d{10})", message.get_content())
    assert match, message.get_content()
    return match.group(1)


async def _allowed(api: Api, address: str, password: str) -> bool:
    body = {"address": address, "password": password, "service": "webmail"}
    return (await api.client.post("/v2/auth/check", json=body, headers=headers(api))).json()["allow"]


def _secondary() -> str:
    return f"owner-{secrets.token_hex(4)}@elsewhere.test"


async def test_code_sent_to_the_secondary_address_sets_a_new_password_once(
        relay_api: Api, dns_records: DnsServer, smtp_sink: SmtpSink) -> None:
    await active_domain(relay_api, dns_records)
    secondary = _secondary()
    account, old = await create_mailbox(relay_api, "forgot", secondary_email_account=secondary)
    started = await _post(relay_api, "/v2/auth/recovery", address=account["address"])
    assert started.status_code == 200 and started.json()["ok"] is True
    code = await _code_sent_to(smtp_sink, secondary)
    done = await _post(relay_api, "/v2/auth/recovery/complete", address=account["address"], code=code,
                       new_password="recovered-pass-9", new_password_confirmation="recovered-pass-9")
    assert done.status_code == 200, done.text
    assert await _allowed(relay_api, account["address"], "recovered-pass-9")
    assert not await _allowed(relay_api, account["address"], old)
    again = await _post(relay_api, "/v2/auth/recovery/complete", address=account["address"], code=code,
                        new_password="another-pass-8")
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "code"


async def test_recovery_disabled_sends_nothing_and_answers_the_same(
        relay_api: Api, dns_records: DnsServer, smtp_sink: SmtpSink) -> None:
    await active_domain(relay_api, dns_records)
    secondary = _secondary()
    account, _ = await create_mailbox(relay_api, "nohelp", secondary_email_account=secondary,
                                      password_recovery_disabled=True)
    refused = await _post(relay_api, "/v2/auth/recovery", address=account["address"])
    unknown = await _post(relay_api, "/v2/auth/recovery", address="nobody@customer.test")
    assert refused.status_code == unknown.status_code == 200
    assert refused.json() == unknown.json()
    await asyncio.sleep(0.3)
    assert smtp_sink.messages_for(secondary) == []
    guess = await _post(relay_api, "/v2/auth/recovery/complete", address=account["address"], code="0123456789",
                        new_password="recovered-pass-9")
    assert guess.status_code == 422


async def test_wrong_codes_run_out_before_the_right_one_is_found(
        relay_api: Api, dns_records: DnsServer, smtp_sink: SmtpSink) -> None:
    await active_domain(relay_api, dns_records)
    secondary = _secondary()
    account, old = await create_mailbox(relay_api, "guessed", secondary_email_account=secondary)
    await _post(relay_api, "/v2/auth/recovery", address=account["address"])
    code = await _code_sent_to(smtp_sink, secondary)
    wrong = "1" * 10 if code != "1" * 10 else "2" * 10
    for _ in range(5):
        response = await _post(relay_api, "/v2/auth/recovery/complete", address=account["address"], code=wrong,
                               new_password="recovered-pass-9")
        assert response.status_code == 422
    late = await _post(relay_api, "/v2/auth/recovery/complete", address=account["address"], code=code,
                       new_password="recovered-pass-9")
    assert late.status_code == 422
    assert await _allowed(relay_api, account["address"], old)


async def test_new_password_from_recovery_is_held_to_the_policy(
        relay_api: Api, dns_records: DnsServer, smtp_sink: SmtpSink) -> None:
    await active_domain(relay_api, dns_records)
    secondary = _secondary()
    account, _ = await create_mailbox(relay_api, "weakling", secondary_email_account=secondary)
    await _post(relay_api, "/v2/auth/recovery", address=account["address"])
    code = await _code_sent_to(smtp_sink, secondary)
    weak = await _post(relay_api, "/v2/auth/recovery/complete", address=account["address"], code=code,
                       new_password="short")
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    fine = await _post(relay_api, "/v2/auth/recovery/complete", address=account["address"], code=code,
                       new_password="long-enough-1")
    assert fine.status_code == 200
