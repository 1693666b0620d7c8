"""`POST /v2/auth/check`: the login decision for front ends that delegate authentication to Mailyard. The password
comes first (a wrong one says only "invalid credentials"), then the mailbox and domain state, the per-service
switches, the allowed networks, the one-time code, and a forced password change."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from mailyard.hosting.records import HostedMailboxRecord
from mailyard.security import totp
from mailyard.store.base import utcnow
from tests.dialects.msjhub.helpers import USER, activate_without_dns, auth_check, validation_fields
from tests.support.app import Api
from tests.support.hosting import create_mailbox, headers, update_mailbox

DOMAIN = "customer.com"
PASSWORD = "Correct-horse-42"
DENIED = {"allow": False, "reason": "invalid credentials"}


@pytest.fixture
async def customer(api: Api) -> Api:
    await activate_without_dns(api, DOMAIN)
    return api


async def mailbox(api: Api, local_part: str = "user", **settings: Any) -> tuple[int, str]:
    account, _ = await create_mailbox(api, local_part, DOMAIN, password=PASSWORD, **settings)
    return account["id"], account["address"]


async def decide(api: Api, address: str, password: str = PASSWORD, service: str = "imap",
                 **extra: Any) -> dict[str, Any]:
    return await auth_check(api, address=address, password=password, service=service, **extra)


def allowed(address: str, change_required: bool = False) -> dict[str, Any]:
    return {"allow": True, "reason": None, "address": address, "password_change_required": change_required}


def denied(reason: str) -> dict[str, Any]:
    return {"allow": False, "reason": reason}


async def expire_password(api: Api, mailbox_id: int) -> None:
    """The stored expiry moves into the past, as if its months had gone by."""
    async with api.runtime.db.transaction() as session:
        record = await session.get(HostedMailboxRecord, mailbox_id)
        assert record is not None
        record.password_expires_at = utcnow() - timedelta(minutes=1)


async def test_only_the_right_password_of_a_known_address_is_allowed(customer: Api) -> None:
    _, address = await mailbox(customer)
    assert await decide(customer, address, remote_ip="198.51.100.7") == allowed(address)
    # The address is matched without regard to case or surrounding spaces.
    assert await decide(customer, f"  {address.upper()} ") == allowed(address)
    assert await decide(customer, address, "Correct-horse-43") == DENIED
    assert await decide(customer, address, PASSWORD.lower()) == DENIED
    assert await decide(customer, "nobody@customer.com") == DENIED
    assert await decide(customer, "user@elsewhere.example") == DENIED


async def test_unicode_spelling_of_an_idn_domain_is_the_same_mailbox(api: Api) -> None:
    # The domain routes take "bücher.de" and store its A-label; a login typed with the Unicode name is the same address.
    await activate_without_dns(api, "bücher.de")
    account, password = await create_mailbox(api, "info", "bücher.de")
    assert account["address"] == "info@xn--bcher-kva.de"
    assert await decide(api, "info@xn--bcher-kva.de", password) == allowed("info@xn--bcher-kva.de")
    assert await decide(api, "info@Bücher.de", password) == allowed("info@xn--bcher-kva.de")


async def test_wrong_password_reveals_no_other_reason(customer: Api) -> None:
    mailbox_id, address = await mailbox(customer, allow_nets=["192.0.2.0/24"], imap_disabled=True, force_otp=True,
                                        password_expiration=3)
    await update_mailbox(customer, mailbox_id, status="disabled")
    await expire_password(customer, mailbox_id)
    suspended = await customer.client.put(f"/v2/domains/{DOMAIN}/status", json={"user_id": USER, "status": "suspended"},
                                          headers=headers(customer))
    assert suspended.status_code == 200
    for service in ("imap", "pop3", "webmail"):
        assert await decide(customer, address, "Wrong-pass-1", service, remote_ip="198.51.100.7") == DENIED
    # With the right password the first broken rule is named.
    assert await decide(customer, address) == denied("mailbox disabled")


async def test_disabled_mailbox_or_suspended_domain_is_denied(customer: Api) -> None:
    mailbox_id, address = await mailbox(customer)
    await update_mailbox(customer, mailbox_id, status="disabled")
    for service in ("imap", "pop3", "smtp", "webmail", "dav"):
        assert await decide(customer, address, service=service) == denied("mailbox disabled")
    await update_mailbox(customer, mailbox_id, status="active")
    assert await decide(customer, address) == allowed(address)
    _, created_disabled = await mailbox(customer, "off", status="disabled")
    assert await decide(customer, created_disabled) == denied("mailbox disabled")
    response = await customer.client.put(f"/v2/domains/{DOMAIN}/status", json={"user_id": USER, "status": "suspended"},
                                         headers=headers(customer))
    assert response.status_code == 200
    assert await decide(customer, address) == denied("domain not active")
    assert await decide(customer, address, service="webmail") == denied("domain not active")


SWITCHES: list[tuple[str, bool, list[str], list[str]]] = [
    # (setting, value, services it refuses, services still allowed)
    ("imap_disabled", True, ["imap"], ["pop3", "smtp", "submission", "webmail"]),
    ("pop_disabled", True, ["pop3"], ["imap"]),
    ("smtp_disabled", True, ["smtp", "submission"], ["imap"]),
    ("webmail_disabled", True, ["webmail"], ["imap", "pop3"]),
    ("chat", False, ["chat"], ["imap", "meeting"]),
    ("activesync", False, ["activesync"], ["imap"]),
    ("meeting", False, ["meeting"], ["chat"]),
    ("calendar", False, ["calendar"], ["dav"]),
    ("dav", False, ["dav"], ["calendar", "imap"]),
]


async def test_each_service_switch_refuses_only_its_services(customer: Api) -> None:
    for setting, value, refused, still_allowed in SWITCHES:
        _, address = await mailbox(customer, setting.replace("_", "-"), **{setting: value})
        for service in refused:
            assert await decide(customer, address, service=service) == denied("service disabled for this mailbox"), (
                setting, service)
        for service in still_allowed:
            assert await decide(customer, address, service=service) == allowed(address), (setting, service)
    # Switched back, the service is open again.
    mailbox_id, address = await mailbox(customer, "toggled", imap_disabled=True)
    await update_mailbox(customer, mailbox_id, imap_disabled=False)
    assert await decide(customer, address, service="imap") == allowed(address)


async def test_collaboration_services_are_on_and_api_only_when_enabled(customer: Api) -> None:
    mailbox_id, address = await mailbox(customer)
    for service in ("chat", "activesync", "meeting", "calendar", "dav", "sieve"):
        assert await decide(customer, address, service=service) == allowed(address), service
    assert await decide(customer, address, service="api") == denied("service disabled for this mailbox")
    await update_mailbox(customer, mailbox_id, api_enabled=True)
    assert await decide(customer, address, service="api") == allowed(address)
    await update_mailbox(customer, mailbox_id, api_enabled=False)
    assert await decide(customer, address, service="api") == denied("service disabled for this mailbox")


async def test_allow_nets_admit_only_clients_inside_and_webmail_when_asked(customer: Api) -> None:
    mailbox_id, address = await mailbox(customer, allow_nets=["192.0.2.0/24", "2001:db8::/32"])
    assert await decide(customer, address, remote_ip="192.0.2.77") == allowed(address)
    assert await decide(customer, address, remote_ip="2001:db8::5") == allowed(address)
    assert await decide(customer, address, remote_ip="198.51.100.7") == denied("client network not allowed")
    assert await decide(customer, address, remote_ip="2001:db9::5") == denied("client network not allowed")
    assert await decide(customer, address, service="pop3", remote_ip="10.0.0.1") == denied(
        "client network not allowed")
    # Without a client address there is nothing to admit.
    assert await decide(customer, address) == denied("client network not allowed")
    # Webmail is not restricted unless apply_allow_nets_webmail says so.
    assert await decide(customer, address, service="webmail", remote_ip="198.51.100.7") == allowed(address)
    await update_mailbox(customer, mailbox_id, apply_allow_nets_webmail=True)
    assert await decide(customer, address, service="webmail", remote_ip="198.51.100.7") == denied(
        "client network not allowed")
    assert await decide(customer, address, service="webmail", remote_ip="192.0.2.1") == allowed(address)
    # Clearing the list admits everyone again.
    await update_mailbox(customer, mailbox_id, allow_nets=[])
    assert await decide(customer, address, remote_ip="198.51.100.7") == allowed(address)
    assert await decide(customer, address, service="webmail", remote_ip="198.51.100.7") == allowed(address)


async def test_expired_password_is_denied_until_a_new_one_is_set(customer: Api) -> None:
    mailbox_id, address = await mailbox(customer, password_expiration=3)
    assert await decide(customer, address) == allowed(address)
    await expire_password(customer, mailbox_id)
    assert await decide(customer, address) == denied("password expired")
    assert await decide(customer, address, service="webmail") == denied("password expired")
    # A new password gets a new expiry.
    await update_mailbox(customer, mailbox_id, password="Renewed-pass-9", password_confirmation="Renewed-pass-9")
    assert await decide(customer, address, "Renewed-pass-9") == allowed(address)


def _wrong_code(secret: str) -> str:
    now = time.time()
    valid = {totp.code_at(secret, now + step * totp.STEP_SECONDS) for step in (-2, -1, 0, 1, 2)}
    return next(code for code in ("000000", "111111", "123456", "999999") if code not in valid)


async def test_force_otp_requires_the_current_code(customer: Api) -> None:
    response = await customer.client.post("/v2/email-accounts/create", headers=headers(customer), json={
        "domain": DOMAIN, "local_part": "secure", "user_id": USER, "password": PASSWORD, "force_otp": True})
    assert response.status_code == 200, response.text
    # The secret comes once, with the password, in the create answer.
    assert set(response.json()) == {"account", "password", "note", "otp"}
    address, secret = response.json()["account"]["address"], response.json()["otp"]["secret"]
    assert await decide(customer, address) == denied("one-time code required")
    assert await decide(customer, address, otp=_wrong_code(secret)) == denied("invalid one-time code")
    assert await decide(customer, address, otp="12345") == denied("invalid one-time code")
    assert await decide(customer, address, otp=totp.code_at(secret, time.time())) == allowed(address)
    # A code never stands in for the password.
    assert await decide(customer, address, "Wrong-pass-1", otp=totp.code_at(secret, time.time())) == DENIED
    # Turned on by an update, it applies to every service.
    mailbox_id, other = await mailbox(customer)
    response = await customer.client.put(f"/v2/email-accounts/{mailbox_id}", json={"user_id": USER, "force_otp": True},
                                         headers=headers(customer))
    other_secret = response.json()["otp"]["secret"]
    for service in ("imap", "webmail", "dav"):
        assert await decide(customer, other, service=service) == denied("one-time code required")
        code = totp.code_at(other_secret, time.time())
        assert await decide(customer, other, service=service, otp=code) == allowed(other)


async def test_force_new_password_allows_with_a_change_required(customer: Api) -> None:
    mailbox_id, address = await mailbox(customer, force_new_password=True)
    assert await decide(customer, address, service="webmail") == allowed(address, change_required=True)
    await update_mailbox(customer, mailbox_id, force_new_password=False)
    assert await decide(customer, address, service="webmail") == allowed(address)


async def test_bad_request_fields_are_422_naming_them(customer: Api) -> None:
    _, address = await mailbox(customer)
    cases: list[tuple[dict[str, Any], str]] = [
        *(({"service": service}, "service") for service in ("ftp", "IMAP", "", None, 5, "imap ")),
        *(({"remote_ip": ip}, "remote_ip") for ip in ("300.1.1.1", "not-an-ip", "192.0.2.0/24", 12345)),
        ({"address": None}, "address"),
        ({"password": None}, "password"),
        ({"password": ""}, "password"),
        ({"password": 42}, "password"),
        ({"otp": 123456}, "otp"),
        ({"colour": "blue"}, "colour"),
    ]
    for changes, field in cases:
        body = {key: value for key, value in
                {"address": address, "password": PASSWORD, "service": "imap", **changes}.items() if value is not None}
        response = await customer.client.post("/v2/auth/check", json=body, headers=headers(customer))
        assert validation_fields(response) == [field], changes
