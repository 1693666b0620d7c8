"""Bad input to the email-account routes is a 422 in MSJ Hub's shape naming the field, and changes nothing:
no mailbox is created, and an updated mailbox reads back exactly as before (other valid changes included)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dialects.msjhub.helpers import USER, activate_without_dns, auth_check, get_account, validation_fields
from tests.support.app import Api
from tests.support.hosting import create_mailbox, headers

DOMAIN = "customer.com"

Case = tuple[dict[str, Any], str]  # (what the body carries, the field the error must name)

# Bad inputs by kind; each is sent on its own. The update half runs for all but the create-only local parts.
CASES: dict[str, tuple[list[Case], bool]] = {
    "local_part invalid": ([
        ({"local_part": "a b"}, "local_part"),
        ({"local_part": "-x"}, "local_part"),
        ({"local_part": "x..y"}, "local_part"),
        ({"local_part": "x" * 65}, "local_part"),
        ({"local_part": ".x"}, "local_part"),
        ({"local_part": "a@b"}, "local_part"),
        ({"local_part": ""}, "local_part"),
        ({"local_part": 7}, "local_part"),
    ], False),
    "password against the policy or its confirmation": ([
        ({"password": "short1"}, "password"),
        ({"password": "no-digits-here"}, "password"),
        ({"password": "1234567890"}, "password"),
        ({"password": "line\nbreak-1"}, "password"),
        ({"password": "a1" * 65}, "password"),
        ({"password": 12345678}, "password"),
        ({"password": "Good-pass-1", "password_confirmation": "Good-pass-2"}, "password_confirmation"),
        ({"password": "Good-pass-1", "password_confirmation": 12345678}, "password_confirmation"),
    ], True),
    "status, display_name and choices outside their values": ([
        ({"status": "paused"}, "status"),
        ({"display_name": 5}, "display_name"),
        ({"display_name": "two\nlines"}, "display_name"),
        ({"max_email_quota": 12345}, "max_email_quota"),
        ({"max_email_quota": "1073741824"}, "max_email_quota"),
        ({"password_expiration": 5}, "password_expiration"),
        ({"password_expiration": 3.0}, "password_expiration"),
        ({"language": "fr"}, "language"),
        ({"webmail_language": "xx"}, "webmail_language"),
        ({"webmail_time_format": "13h"}, "webmail_time_format"),
        ({"webmail_date_format": "YYYY-MM-DD"}, "webmail_date_format"),
    ], True),
    "networks, addresses and time zones invalid": ([
        ({"allow_nets": ["300.1.1.1"]}, "allow_nets.0"),
        ({"allow_nets": ["192.0.2.0/24", "not-a-net"]}, "allow_nets.1"),
        ({"allow_nets": "192.0.2.0/24"}, "allow_nets"),
        ({"forwards": ["not-an-email"]}, "forwards.0"),
        ({"forwards": "boss@example.org"}, "forwards"),
        ({"secondary_email_account": "nope"}, "secondary_email_account"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"webmail_timezone": "Europe/Atlantis"}, "webmail_timezone"),
    ], True),
    "autoresponder dates invalid or end before start": ([
        ({"autoresponder_start_date": "2030-02-30"}, "autoresponder_start_date"),
        ({"autoresponder_start_date": "2030/07/01"}, "autoresponder_start_date"),
        ({"autoresponder_end_date": "tomorrow"}, "autoresponder_end_date"),
        ({"autoresponder_start_date": "2030-07-15", "autoresponder_end_date": "2030-07-01"},
         "autoresponder_end_date"),
    ], True),
    "wrong JSON types, bad text and unknown fields": ([
        ({"imap_disabled": "true"}, "imap_disabled"),
        ({"chat": "false"}, "chat"),
        ({"force_otp": 1}, "force_otp"),
        ({"keep_copy": "yes"}, "keep_copy"),
        ({"outbound_limit": -1}, "outbound_limit"),
        ({"outbound_limit": "5"}, "outbound_limit"),
        ({"tags": ["ok", ""]}, "tags.1"),
        ({"bounce_msg": "first\r\nsecond"}, "bounce_msg"),
        ({"firstname": "x" * 256}, "firstname"),
        ({"colour": "blue"}, "colour"),
    ], True),
}


@pytest.fixture
async def customer(api: Api) -> Api:
    await activate_without_dns(api, DOMAIN)
    return api


async def _mailboxes(api: Api) -> list[dict[str, Any]]:
    response = await api.client.get("/v2/email-accounts", params={"user_id": USER}, headers=headers(api))
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_input_names_the_field_and_changes_nothing(customer: Api, case: str) -> None:
    variants, also_update = CASES[case]
    # Create: nothing is created.
    for changes, field in variants:
        body = {"domain": DOMAIN, "local_part": "billing", "user_id": USER, "display_name": "Billing", **changes}
        response = await customer.client.post("/v2/email-accounts/create", json=body, headers=headers(customer))
        assert field in validation_fields(response), changes
    assert await _mailboxes(customer) == []
    if not also_update:
        return
    # Update, with valid changes next to the bad one: the mailbox reads back exactly as before.
    created, password = await create_mailbox(customer, "billing", DOMAIN, display_name="Billing")
    before = await get_account(customer, created["id"])
    for changes, field in variants:
        body = {"user_id": USER, "display_name": "Renamed", "firstname": "Maria", "imap_disabled": True, **changes}
        response = await customer.client.put(f"/v2/email-accounts/{created['id']}", json=body,
                                             headers=headers(customer))
        assert field in validation_fields(response), changes
        assert await get_account(customer, created["id"]) == before, changes
    decision = await auth_check(customer, address=created["address"], password=password, service="imap")
    assert decision["allow"] is True


async def test_update_names_every_bad_field_and_blames_the_field_it_changed(customer: Api) -> None:
    created, _ = await create_mailbox(customer, "billing", DOMAIN, autoresponder_start_date="2030-07-01",
                                      autoresponder_end_date="2030-07-15")
    before = await get_account(customer, created["id"])
    response = await customer.client.put(f"/v2/email-accounts/{created['id']}", headers=headers(customer), json={
        "user_id": USER, "language": "fr", "chat": "no", "forwards": ["bad"], "timezone": "Mars/Base"})
    assert set(validation_fields(response)) == {"language", "chat", "forwards.0", "timezone"}
    # A start date after the stored end date: the start date sent is what is wrong.
    response = await customer.client.put(f"/v2/email-accounts/{created['id']}", headers=headers(customer),
                                         json={"user_id": USER, "autoresponder_start_date": "2030-08-01"})
    assert validation_fields(response) == ["autoresponder_start_date"]
    assert await get_account(customer, created["id"]) == before


async def test_body_that_is_not_a_json_object_is_422_naming_body(customer: Api) -> None:
    created, _ = await create_mailbox(customer, "billing", DOMAIN)
    before = await get_account(customer, created["id"])
    send = {**headers(customer), "Content-Type": "application/json"}
    for raw in (b"[1, 2]", b'"billing"', b"42", b"null", b"", b'{"user_id": "user_123", "status": '):
        create = await customer.client.post("/v2/email-accounts/create", content=raw, headers=send)
        assert validation_fields(create) == ["body"], raw
        update = await customer.client.put(f"/v2/email-accounts/{created['id']}", content=raw, headers=send)
        assert validation_fields(update) == ["body"], raw
    assert await get_account(customer, created["id"]) == before
    assert [item["id"] for item in await _mailboxes(customer)] == [created["id"]]


async def test_bad_list_query_is_422_naming_the_parameter(customer: Api) -> None:
    paths = ("/v2/email-accounts", f"/v2/domains/{DOMAIN}/email-accounts", "/v2/domains")
    for query, field in [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "ten"}, "limit"),
                         ({"offset": -1}, "offset"), ({"offset": "x"}, "offset")]:
        for path in paths:
            response = await customer.client.get(path, params={"user_id": USER, **query}, headers=headers(customer))
            assert validation_fields(response) == [field], (path, query)
    for path in paths:
        response = await customer.client.get(path, headers=headers(customer))
        assert validation_fields(response) == ["user_id"], path


async def test_writes_without_user_id_are_422_naming_user_id(customer: Api) -> None:
    created, _ = await create_mailbox(customer, "billing", DOMAIN)
    before = await get_account(customer, created["id"])
    for method, path, body in [
        ("POST", "/v2/email-accounts/create", {"domain": DOMAIN, "local_part": "new"}),
        ("PUT", f"/v2/email-accounts/{created['id']}", {"status": "disabled"}),
        ("POST", f"/v2/email-accounts/{created['id']}/password/reset", {}),
        ("POST", "/v2/email-accounts/delete", {"id": created["id"]}),
    ]:
        for user_id in (None, "", 123):
            sent = body if user_id is None else {**body, "user_id": user_id}
            response = await customer.client.request(method, path, json=sent, headers=headers(customer))
            assert validation_fields(response) == ["user_id"], (path, user_id)
    assert await get_account(customer, created["id"]) == before
    assert [item["id"] for item in await _mailboxes(customer)] == [created["id"]]


async def test_bad_delete_id_or_reset_password_changes_nothing(customer: Api) -> None:
    created, password = await create_mailbox(customer, "billing", DOMAIN)
    for body in ({"user_id": USER}, {"id": "abc", "user_id": USER}, {"id": True, "user_id": USER},
                 {"id": 0, "user_id": USER}):
        response = await customer.client.post("/v2/email-accounts/delete", json=body, headers=headers(customer))
        assert validation_fields(response) == ["id"], body
    assert [item["id"] for item in await _mailboxes(customer)] == [created["id"]]
    for body, field in [({"user_id": USER, "password": "weak"}, "password"),
                        ({"user_id": USER, "password": "Good-pass-1", "password_confirmation": "Good-pass-2"},
                         "password_confirmation"),
                        ({"user_id": USER, "colour": "blue"}, "colour")]:
        response = await customer.client.post(f"/v2/email-accounts/{created['id']}/password/reset", json=body,
                                              headers=headers(customer))
        assert validation_fields(response) == [field], body
    assert (await auth_check(customer, address=created["address"], password=password, service="imap"))["allow"]


async def test_a_bad_domain_in_the_body_or_query_is_422_naming_domain(customer: Api) -> None:
    created, _ = await create_mailbox(customer, "billing", DOMAIN)
    for bad in (None, "", 5, "not a domain", "nodot", "-x.com"):
        mailbox = {"local_part": "new", "user_id": USER, **({} if bad is None else {"domain": bad})}
        response = await customer.client.post("/v2/email-accounts/create", json=mailbox, headers=headers(customer))
        assert validation_fields(response) == ["domain"], bad
        removal = {"user_id": USER, "force": True, **({} if bad is None else {"domain": bad})}
        response = await customer.client.post("/v2/domains/delete", json=removal, headers=headers(customer))
        assert validation_fields(response) == ["domain"], bad
    for bad in ("", "not a domain", "nodot"):
        response = await customer.client.get("/v2/email-accounts", params={"user_id": USER, "domain": bad},
                                             headers=headers(customer))
        assert validation_fields(response) == ["domain"], bad
    assert [item["id"] for item in await _mailboxes(customer)] == [created["id"]]
    info = await customer.client.get(f"/v2/domains/{DOMAIN}/info", params={"user_id": USER}, headers=headers(customer))
    assert info.json()["domain"]["status"] == "active"
