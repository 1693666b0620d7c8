"""`POST /v2/auth/password`: a mailbox user replaces their own password, proving it with the current one."""

from __future__ import annotations

from typing import Any

import httpx

from tests.servers.dnsmasq import DnsServer
from tests.support.app import Api
from tests.support.hosting import active_domain, create_mailbox, headers, update_mailbox


async def _change(api: Api, **body: Any) -> httpx.Response:
    return await api.client.post("/v2/auth/password", json=body, headers=headers(api))


async def _allowed(api: Api, address: str, password: str) -> bool:
    body = {"address": address, "password": password, "service": "imap", "remote_ip": "127.0.0.1"}
    return (await api.client.post("/v2/auth/check", json=body, headers=headers(api))).json()["allow"]


async def test_user_changes_password_and_only_the_new_one_works(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, old = await create_mailbox(api, "self")
    response = await _change(api, address=account["address"], password=old, new_password="fresh-pass-42",
                             new_password_confirmation="fresh-pass-42")
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    assert await _allowed(api, account["address"], "fresh-pass-42")
    assert not await _allowed(api, account["address"], old)


async def test_wrong_current_password_is_422_on_password_and_changes_nothing(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, old = await create_mailbox(api, "wrong")
    response = await _change(api, address=account["address"], password="not-it-1", new_password="fresh-pass-42")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "password"
    assert await _allowed(api, account["address"], old)


async def test_password_change_disabled_refuses_with_403(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, old = await create_mailbox(api, "locked", password_change_disabled=True)
    response = await _change(api, address=account["address"], password=old, new_password="fresh-pass-42")
    assert response.status_code == 403
    assert await _allowed(api, account["address"], old)


async def test_new_password_is_held_to_the_policy_and_history(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, _ = await create_mailbox(api, "policy", password="first-pass-1", block_old_password=True)
    weak = await _change(api, address=account["address"], password="first-pass-1", new_password="short")
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    same = await _change(api, address=account["address"], password="first-pass-1", new_password="first-pass-1")
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "password"
    mismatch = await _change(api, address=account["address"], password="first-pass-1", new_password="second-pass-2",
                             new_password_confirmation="other-pass-3")
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0]["field"] == "new_password_confirmation"
    assert await _allowed(api, account["address"], "first-pass-1")


async def test_forced_change_is_reported_and_cleared_by_the_change(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, old = await create_mailbox(api, "forced", force_new_password=True)
    body = {"address": account["address"], "password": old, "service": "webmail"}
    before = (await api.client.post("/v2/auth/check", json=body, headers=headers(api))).json()
    assert before == {"allow": True, "reason": None, "address": account["address"], "password_change_required": True}
    changed = await _change(api, address=account["address"], password=old, new_password="fresh-pass-42")
    assert changed.status_code == 200
    after = (await api.client.post("/v2/auth/check", json=body | {"password": "fresh-pass-42"},
                                   headers=headers(api))).json()
    assert after["allow"] is True and after["password_change_required"] is False


async def test_disabled_mailbox_cannot_change_its_password(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    account, old = await create_mailbox(api, "off")
    await update_mailbox(api, account["id"], status="disabled")
    response = await _change(api, address=account["address"], password=old, new_password="fresh-pass-42")
    assert response.status_code == 403
