"""Hosted mailboxes under /v2/email-accounts: creation and its one-time password, the default mailbox, listing,
reading, every Qboxmail setting through create and PUT, password changes, history, expiry and OTP."""

from __future__ import annotations

import calendar
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from mailyard.security import totp
from tests.dialects.msjhub.helpers import (
    USER,
    activate_without_dns,
    assert_domain_not_found,
    assert_error,
    auth_check,
    get_account,
    list_accounts,
    validation_fields,
)
from tests.support.app import Api, ApiFactory
from tests.support.hosting import create_mailbox, headers, update_mailbox

DOMAIN = "customer.com"
NOTE = "Save this password now. It will not be shown again."

# Every field of seed 004's "Update email account" request body.
SEED_004_FIELDS = {
    "description", "firstname", "lastname", "password", "password_confirmation", "autoresponder_enabled",
    "autoresponder_subject", "autoresponder_body", "autoresponder_start_date", "autoresponder_end_date",
    "autoresponder_intervals_enabled", "spam_in_inbox", "timezone", "language", "password_change_disabled",
    "outbound_limit", "force_new_password", "hide_from_addressbook_company", "tags", "forwards", "keep_copy",
    "max_email_quota", "bounce_mail", "allow_nets", "pop_disabled", "imap_disabled", "smtp_disabled",
    "webmail_disabled", "bounce_msg", "secondary_email_account", "country", "state", "zip", "address", "company",
    "role", "team_manager", "telephone", "mobilephone", "fax", "chat", "activesync", "meeting", "calendar", "dav",
    "password_expiration", "password_recovery_disabled", "block_old_password", "api_enabled", "force_otp",
    "apply_allow_nets_webmail", "webmail_language", "webmail_time_format", "webmail_date_format",
    "webmail_timezone", "organizational_unit", "destroy_sessions_on_password_expiration", "restrict_from_field",
}

# A valid value, different from the default, for every setting of seed 004 (all but the password fields).
FULL_SETTINGS: dict[str, Any] = {
    "description": "Billing desk", "firstname": "Maria", "lastname": "Rossi",
    "autoresponder_enabled": True, "autoresponder_subject": "Out of office",
    "autoresponder_body": "Back on Monday.\nRegards,\tMaria", "autoresponder_start_date": "2030-07-01",
    "autoresponder_end_date": "2030-07-15", "autoresponder_intervals_enabled": True, "spam_in_inbox": True,
    "timezone": "Europe/Rome", "language": "it", "password_change_disabled": True, "outbound_limit": 7,
    "force_new_password": True, "hide_from_addressbook_company": True, "tags": ["vip", "billing"],
    "forwards": ["boss@example.org", "archive@example.net"], "keep_copy": False, "max_email_quota": 107374182400,
    "bounce_mail": True, "allow_nets": ["192.0.2.0/24", "2001:db8::/32"], "pop_disabled": True,
    "imap_disabled": True, "smtp_disabled": True, "webmail_disabled": True, "bounce_msg": "This mailbox is closed",
    "secondary_email_account": "recovery@example.net", "country": "Italy", "state": "RM", "zip": "00100",
    "address": "Via Roma 1", "company": "ACME S.p.A.", "role": "Accountant", "team_manager": "Luigi Bianchi",
    "telephone": "+39 06 1234567", "mobilephone": "+39 333 1234567", "fax": "+39 06 7654321", "chat": False,
    "activesync": False, "meeting": False, "calendar": False, "dav": False, "password_expiration": 6,
    "password_recovery_disabled": True, "block_old_password": True, "api_enabled": True, "force_otp": True,
    "apply_allow_nets_webmail": True, "webmail_language": "de", "webmail_time_format": "12h",
    "webmail_date_format": "DD MMM YYYY", "webmail_timezone": "America/New_York", "organizational_unit": "Finance",
    "destroy_sessions_on_password_expiration": True, "restrict_from_field": False,
}


@pytest.fixture
async def customer(api: Api) -> Api:
    """customer.com, active for user_123 (set by the admin: these tests are not about DNS)."""
    await activate_without_dns(api, DOMAIN)
    return api


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def months_later(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


async def create(api: Api, **body: Any) -> Any:
    return await api.client.post("/v2/email-accounts/create", json={"domain": DOMAIN, "user_id": USER, **body},
                                 headers=headers(api))


async def put(api: Api, mailbox_id: int | str, **body: Any) -> Any:
    return await api.client.put(f"/v2/email-accounts/{mailbox_id}", json={"user_id": USER, **body},
                                headers=headers(api))


async def allowed(api: Api, address: str, password: str, service: str = "imap", **extra: Any) -> bool:
    decision = await auth_check(api, address=address, password=password, service=service, **extra)
    return bool(decision["allow"])


def assert_no_secrets(text: str, *passwords: str) -> None:
    for password in passwords:
        assert password not in text
    assert "argon2" not in text.lower()
    assert "password_hash" not in text and '"password"' not in text


async def test_create_with_a_given_password_uses_it(customer: Api) -> None:
    response = await create(customer, local_part="billing", password="Billing-pass-42",
                            password_confirmation="Billing-pass-42")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["password"] == "Billing-pass-42" and body["note"] == NOTE
    assert body["account"]["address"] == "billing@customer.com"
    assert await allowed(customer, "billing@customer.com", "Billing-pass-42")
    assert not await allowed(customer, "billing@customer.com", "Billing-pass-43")


async def test_create_without_a_password_generates_one_shown_only_once(customer: Api) -> None:
    response = await create(customer, local_part="Billing", display_name="Billing")
    assert response.status_code == 200, response.text
    body = response.json()
    password = body["password"]
    assert isinstance(password, str) and len(password) >= 16
    assert any(c.isalpha() for c in password) and any(c.isdigit() for c in password)
    assert body["account"]["local_part"] == "billing" and body["account"]["display_name"] == "Billing"
    assert await allowed(customer, "billing@customer.com", password)
    mailbox_id = body["account"]["id"]
    for path, params in ((f"/v2/email-accounts/{mailbox_id}", {"user_id": USER}),
                         ("/v2/email-accounts", {"user_id": USER}),
                         (f"/v2/domains/{DOMAIN}/email-accounts", {"user_id": USER})):
        shown = await customer.client.get(path, params=params, headers=headers(customer))
        assert shown.status_code == 200
        assert_no_secrets(shown.text, password)
    updated = await put(customer, mailbox_id, display_name="Billing Team")
    assert_no_secrets(updated.text, password)
    _, another = await create_mailbox(customer, "other", DOMAIN)
    assert another != password


async def test_create_is_refused_outside_active_domains_and_for_taken_addresses(customer: Api) -> None:
    registered = await customer.client.post("/v2/domain", json={"domain": "pending-shop.com", "user_id": USER},
                                            headers=headers(customer))
    assert registered.json()["domain"]["status"] == "pending"
    response = await customer.client.post("/v2/email-accounts/create", headers=headers(customer),
                                          json={"domain": "pending-shop.com", "local_part": "info", "user_id": USER})
    assert validation_fields(response) == ["domain"]
    unknown = await customer.client.post("/v2/email-accounts/create", headers=headers(customer),
                                         json={"domain": "nowhere-shop.com", "local_part": "info", "user_id": USER})
    assert_domain_not_found(unknown)
    assert await list_accounts(customer) == []
    # An existing address is a 409 in any spelling, and the first mailbox stays as it was.
    first, password = await create_mailbox(customer, "billing", DOMAIN)
    for local in ("billing", "BILLING", " Billing "):
        response = await create(customer, local_part=local)
        assert response.status_code == 409, response.text
        assert response.json() == {"message": "billing@customer.com already exists", "errors": []}
    assert [item["id"] for item in await list_accounts(customer)] == [first["id"]]
    assert await allowed(customer, first["address"], password)
    # The same local part in another domain is another address.
    await activate_without_dns(customer, "second-shop.com")
    other, _ = await create_mailbox(customer, "billing", "second-shop.com")
    assert other["address"] == "billing@second-shop.com"


async def test_first_mailbox_is_the_default_and_deleting_it_hands_that_on(customer: Api) -> None:
    first, _ = await create_mailbox(customer, "first", DOMAIN)
    second, _ = await create_mailbox(customer, "second", DOMAIN)
    third, _ = await create_mailbox(customer, "third", DOMAIN)
    await activate_without_dns(customer, "other-user.com", "user_456")
    theirs, _ = await create_mailbox(customer, "own", "other-user.com", "user_456")
    assert (first["isDefault"], second["isDefault"], third["isDefault"]) == (True, False, False)
    assert theirs["isDefault"] is True  # each user has their own default
    assert (await get_account(customer, first["id"]))["is_default"] is True
    assert (await get_account(customer, second["id"]))["is_default"] is False
    assert [item["is_default"] for item in await list_accounts(customer)] == [True, False, False]
    # Password history must not stand in the way of deleting a mailbox.
    await update_mailbox(customer, first["id"], password="Changed-pass-1", password_confirmation="Changed-pass-1")
    response = await customer.client.post("/v2/email-accounts/delete", json={"id": first["id"], "user_id": USER},
                                          headers=headers(customer))
    assert response.status_code == 200, response.text
    assert [(item["id"], item["is_default"]) for item in await list_accounts(customer)] == [
        (second["id"], True), (third["id"], False)]
    # Deleting a non-default mailbox leaves the default where it is.
    response = await customer.client.post("/v2/email-accounts/delete", json={"id": third["id"], "user_id": USER},
                                          headers=headers(customer))
    assert response.status_code == 200
    assert [(item["id"], item["is_default"]) for item in await list_accounts(customer)] == [(second["id"], True)]
    # The last one goes too; the next new mailbox is the default again.
    await customer.client.post("/v2/email-accounts/delete", json={"id": second["id"], "user_id": USER},
                               headers=headers(customer))
    fresh, _ = await create_mailbox(customer, "fresh", DOMAIN)
    assert fresh["isDefault"] is True
    assert (await get_account(customer, theirs["id"], "user_456"))["is_default"] is True


async def test_list_filters_by_user_domain_limit_and_offset(customer: Api) -> None:
    await activate_without_dns(customer, "second-shop.com")
    await activate_without_dns(customer, "other-user.com", "user_456")
    a, _ = await create_mailbox(customer, "a", DOMAIN)
    b, _ = await create_mailbox(customer, "b", "second-shop.com")
    c, _ = await create_mailbox(customer, "c", DOMAIN)
    theirs, _ = await create_mailbox(customer, "x", "other-user.com", "user_456")
    assert [i["id"] for i in await list_accounts(customer)] == [a["id"], b["id"], c["id"]]
    assert [i["id"] for i in await list_accounts(customer, domain=DOMAIN)] == [a["id"], c["id"]]
    assert [i["id"] for i in await list_accounts(customer, domain="second-shop.com")] == [b["id"]]
    assert [i["id"] for i in await list_accounts(customer, limit=2)] == [a["id"], b["id"]]
    assert [i["id"] for i in await list_accounts(customer, limit=1, offset=1)] == [b["id"]]
    assert await list_accounts(customer, offset=3) == []
    assert [i["id"] for i in await list_accounts(customer, user_id="user_456")] == [theirs["id"]]
    page = await customer.client.get("/v2/email-accounts", params={"user_id": USER, "limit": 2, "offset": 1},
                                     headers=headers(customer))
    assert page.json()["limit"] == 2 and page.json()["offset"] == 1
    item = (await list_accounts(customer, domain="second-shop.com"))[0]
    assert item == {"id": b["id"], "user_id": USER, "domain": "second-shop.com", "local_part": "b",
                    "address": "b@second-shop.com", "display_name": None, "status": "active", "is_default": False}


async def test_list_by_domain_pages_through_that_domain_only(customer: Api) -> None:
    await activate_without_dns(customer, "second-shop.com")
    a, _ = await create_mailbox(customer, "a", DOMAIN)
    await create_mailbox(customer, "b", "second-shop.com")
    c, _ = await create_mailbox(customer, "c", DOMAIN)

    async def by_domain(**params: Any) -> dict[str, Any]:
        response = await customer.client.get(f"/v2/domains/{DOMAIN}/email-accounts",
                                             params={"user_id": USER, **params}, headers=headers(customer))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    whole = await by_domain()
    assert whole["domain"] == {"domain": DOMAIN, "status": "active"}
    assert [i["id"] for i in whole["items"]] == [a["id"], c["id"]]
    assert (whole["limit"], whole["offset"]) == (50, 0)
    second_page = await by_domain(limit=1, offset=1)
    assert [i["id"] for i in second_page["items"]] == [c["id"]]
    assert (second_page["limit"], second_page["offset"]) == (1, 1)
    unknown = await customer.client.get("/v2/domains/nowhere-shop.com/email-accounts", params={"user_id": USER},
                                        headers=headers(customer))
    assert_error(unknown, 404, "Not found")


async def test_get_shows_settings_and_quota(customer: Api) -> None:
    created, _ = await create_mailbox(customer, "billing", DOMAIN, display_name="Billing")
    account = await get_account(customer, created["id"])
    assert {key: account[key] for key in ("id", "user_id", "domain", "local_part", "address", "display_name",
                                          "status", "is_default")} == {
        "id": created["id"], "user_id": USER, "domain": DOMAIN, "local_part": "billing",
        "address": "billing@customer.com", "display_name": "Billing", "status": "active", "is_default": True,
    }
    assert account["quota"] == {"limit_bytes": 1073741824, "used_bytes": 0, "used_messages": 0}
    settings = account["settings"]
    assert set(settings) >= SEED_004_FIELDS - {"password", "password_confirmation"}
    assert settings["max_email_quota"] == 1073741824 and settings["password_expiration"] == -1
    assert settings["language"] == "en" and settings["force_otp"] is False
    assert account["password_expires_at"] is None
    assert parse(account["password_set_at"]) <= parse(account["updated_at"])
    assert account["created_at"] is not None


async def test_unknown_or_malformed_ids_are_404(customer: Api) -> None:
    for mailbox_id in ("999", "abc", "0", "-1"):
        response = await customer.client.get(f"/v2/email-accounts/{mailbox_id}", params={"user_id": USER},
                                             headers=headers(customer))
        assert_error(response, 404, "Not found")
        assert_error(await put(customer, mailbox_id, status="disabled"), 404, "Not found")
        reset = await customer.client.post(f"/v2/email-accounts/{mailbox_id}/password/reset",
                                           json={"user_id": USER}, headers=headers(customer))
        assert_error(reset, 404, "Not found")
    deleted = await customer.client.post("/v2/email-accounts/delete", json={"id": 999, "user_id": USER},
                                         headers=headers(customer))
    assert_error(deleted, 404, "Not found")


async def test_update_sets_display_name_and_status(customer: Api) -> None:
    created, password = await create_mailbox(customer, "billing", DOMAIN)
    account = await update_mailbox(customer, created["id"], display_name="Billing Team", status="disabled")
    assert (account["display_name"], account["status"]) == ("Billing Team", "disabled")
    shown = await get_account(customer, created["id"])
    assert (shown["display_name"], shown["status"]) == ("Billing Team", "disabled")
    assert [i["status"] for i in await list_accounts(customer)] == ["disabled"]
    assert not await allowed(customer, created["address"], password)
    await update_mailbox(customer, created["id"], display_name=None, status="active")
    shown = await get_account(customer, created["id"])
    assert (shown["display_name"], shown["status"]) == (None, "active")
    assert await allowed(customer, created["address"], password)


async def test_every_seed_setting_set_through_put_reads_back(customer: Api) -> None:
    assert set(FULL_SETTINGS) | {"password", "password_confirmation"} == SEED_004_FIELDS
    created, old = await create_mailbox(customer, "billing", DOMAIN)
    response = await put(customer, created["id"], **FULL_SETTINGS, password="Brand-new-pass-7",
                         password_confirmation="Brand-new-pass-7")
    assert response.status_code == 200, response.text
    assert set(response.json()["otp"]) >= {"secret", "uri"}
    secret = response.json()["otp"]["secret"]
    account = await get_account(customer, created["id"])
    assert {key: account["settings"][key] for key in FULL_SETTINGS} == FULL_SETTINGS
    assert account["settings"] == response.json()["account"]["settings"]
    assert account["quota"]["limit_bytes"] == 107374182400
    set_at = parse(account["password_set_at"])
    assert parse(account["password_expires_at"]) == months_later(set_at, 6)
    # The settings are in force: only the API service is left, from the allowed network, with the OTP code.
    address = created["address"]
    code = totp.code_at(secret, time.time())
    assert not await allowed(customer, address, old, "api", remote_ip="192.0.2.5", otp=code)
    decision = await auth_check(customer, address=address, password="Brand-new-pass-7", service="api",
                                remote_ip="192.0.2.5", otp=code)
    assert decision == {"allow": True, "reason": None, "address": address, "password_change_required": True}
    for service in ("imap", "pop3", "smtp", "submission", "webmail", "chat", "activesync", "meeting", "calendar",
                    "dav"):
        refused = await auth_check(customer, address=address, password="Brand-new-pass-7", service=service,
                                   remote_ip="192.0.2.5", otp=code)
        assert refused == {"allow": False, "reason": "service disabled for this mailbox"}, service


async def test_every_seed_setting_is_accepted_on_create(customer: Api) -> None:
    response = await create(customer, local_part="billing", **FULL_SETTINGS)
    assert response.status_code == 200, response.text
    assert "otp" in response.json()
    account = await get_account(customer, response.json()["account"]["id"])
    assert {key: account["settings"][key] for key in FULL_SETTINGS} == FULL_SETTINGS


async def test_put_changes_only_the_settings_it_names_in_normal_form(customer: Api) -> None:
    created, _ = await create_mailbox(customer, "billing", DOMAIN, tags=["vip"], language="es")
    before = await get_account(customer, created["id"])
    await update_mailbox(customer, created["id"], firstname="Maria")
    after = await get_account(customer, created["id"])
    assert after["settings"] == {**before["settings"], "firstname": "Maria"}
    assert after["settings"]["tags"] == ["vip"] and after["settings"]["language"] == "es"
    # Values are stored in their normal form.
    account = await update_mailbox(customer, created["id"], allow_nets=["10.1.2.3/8", "10.0.0.0/8", "192.0.2.7"],
                                   forwards=["Boss@Example.ORG"], tags=["a", "a", "b"])
    assert account["settings"]["allow_nets"] == ["10.0.0.0/8", "192.0.2.7/32"]
    assert account["settings"]["forwards"] == ["Boss@example.org"]
    assert account["settings"]["tags"] == ["a", "b"]
    # null quota means unlimited.
    account = await update_mailbox(customer, created["id"], max_email_quota=None)
    assert account["settings"]["max_email_quota"] is None and account["quota"]["limit_bytes"] is None


async def test_password_change_through_put_replaces_the_password(customer: Api) -> None:
    created, old = await create_mailbox(customer, "billing", DOMAIN)
    before = await get_account(customer, created["id"])
    response = await put(customer, created["id"], password="Replaced-pass-8", password_confirmation="Replaced-pass-8")
    assert response.status_code == 200, response.text
    assert_no_secrets(response.text, "Replaced-pass-8")
    after = response.json()["account"]
    assert parse(after["password_set_at"]) > parse(before["password_set_at"])
    assert await allowed(customer, created["address"], "Replaced-pass-8")
    assert not await allowed(customer, created["address"], old)


async def test_block_old_password_refuses_current_and_previous_passwords(customer: Api) -> None:
    created, _ = await create_mailbox(customer, "billing", DOMAIN, password="First-pass-1", block_old_password=True)

    async def change(password: str) -> Any:
        return await put(customer, created["id"], password=password, password_confirmation=password)

    assert validation_fields(await change("First-pass-1")) == ["password"]
    assert (await change("Second-pass-2")).status_code == 200
    assert validation_fields(await change("First-pass-1")) == ["password"]
    assert validation_fields(await change("Second-pass-2")) == ["password"]
    assert await allowed(customer, created["address"], "Second-pass-2")
    assert (await change("Third-pass-3")).status_code == 200
    assert await allowed(customer, created["address"], "Third-pass-3")
    # Without block_old_password an old password may come back.
    free, _ = await create_mailbox(customer, "free", DOMAIN, password="First-pass-1")
    await update_mailbox(customer, free["id"], password="Second-pass-2", password_confirmation="Second-pass-2")
    await update_mailbox(customer, free["id"], password="First-pass-1", password_confirmation="First-pass-1")
    assert await allowed(customer, free["address"], "First-pass-1")


async def test_password_expiration_sets_and_clears_the_expiry(customer: Api) -> None:
    created, _ = await create_mailbox(customer, "billing", DOMAIN, password_expiration=3)
    account = await get_account(customer, created["id"])
    set_at, expires = parse(account["password_set_at"]), parse(account["password_expires_at"])
    assert expires == months_later(set_at, 3)
    assert timedelta(days=89) <= expires - set_at <= timedelta(days=92)
    account = await update_mailbox(customer, created["id"], password_expiration=-1)
    assert account["password_expires_at"] is None
    assert (await get_account(customer, created["id"]))["password_expires_at"] is None
    # Counted from when the password was set, not from the change of setting.
    account = await update_mailbox(customer, created["id"], password_expiration=12)
    assert parse(account["password_set_at"]) == set_at
    assert parse(account["password_expires_at"]) == months_later(set_at, 12)


async def test_force_otp_secret_is_returned_once_and_renewed_after_off_and_on(customer: Api) -> None:
    created, password = await create_mailbox(customer, "billing", DOMAIN)
    response = await put(customer, created["id"], force_otp=True)
    assert response.status_code == 200, response.text
    otp = response.json()["otp"]
    secret = otp["secret"]
    assert isinstance(secret, str) and len(secret) >= 16
    assert otp["uri"].startswith("otpauth://totp/") and f"secret={secret}" in otp["uri"]
    shown = await customer.client.get(f"/v2/email-accounts/{created['id']}", params={"user_id": USER},
                                      headers=headers(customer))
    assert secret not in shown.text and "otp" not in shown.json()
    again = await put(customer, created["id"], force_otp=True, firstname="Maria")
    assert "otp" not in again.json() and secret not in again.text
    assert await allowed(customer, created["address"], password, otp=totp.code_at(secret, time.time()))
    assert not await allowed(customer, created["address"], password)
    # Off, no code is needed; on again, a new secret is issued.
    off = await put(customer, created["id"], force_otp=False)
    assert "otp" not in off.json()
    assert await allowed(customer, created["address"], password)
    renewed = (await put(customer, created["id"], force_otp=True)).json()["otp"]["secret"]
    assert renewed != secret
    assert await allowed(customer, created["address"], password, otp=totp.code_at(renewed, time.time()))



async def test_stronger_password_rules_from_the_settings_apply_to_every_route(api_factory: ApiFactory) -> None:
    api = await api_factory(password_min_length=12, password_require_upper=True, password_require_symbol=True,
                            password_history=2)
    await activate_without_dns(api, DOMAIN)
    for weak in ("shrt-Pass-1", "long-enough-pass-1", "Long-Enough-pass", "Longenoughpass12"):
        response = await create(api, local_part="billing", password=weak)
        assert validation_fields(response) == ["password"], weak
    assert await list_accounts(api) == []
    generated = await create(api, local_part="billing")
    assert generated.status_code == 200, generated.text
    mailbox_id = generated.json()["account"]["id"]
    assert await allowed(api, "billing@customer.com", generated.json()["password"])
    reset = await api.client.post(f"/v2/email-accounts/{mailbox_id}/password/reset", headers=headers(api),
                                  json={"user_id": USER, "password": "weak-but-long-1"})
    assert validation_fields(reset) == ["password"]
    await update_mailbox(api, mailbox_id, block_old_password=True)
    for password in ("Strong-pass-0001", "Strong-pass-0002", "Strong-pass-0003", "Strong-pass-0004"):
        assert (await put(api, mailbox_id, password=password, password_confirmation=password)).status_code == 200
    # With a history of two, the current password and the two before it are refused; older ones come back.
    for refused in ("Strong-pass-0004", "Strong-pass-0003", "Strong-pass-0002"):
        assert validation_fields(await put(api, mailbox_id, password=refused,
                                           password_confirmation=refused)) == ["password"], refused
    assert (await put(api, mailbox_id, password="Strong-pass-0001",
                      password_confirmation="Strong-pass-0001")).status_code == 200
