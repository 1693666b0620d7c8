"""Hosted domains under /v2: registration and the DNS records to publish, verification (on request and in the
background), listing, status changes by an admin, deletion, and the DKIM key kept encrypted."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.engine import make_url

from mailyard.hosting.dkim import public_from_private
from mailyard.hosting.records import HostedDomainRecord
from tests.dialects.msjhub.helpers import (
    USER,
    activate_without_dns,
    assert_error,
    auth_check,
    get_account,
    validation_fields,
)
from tests.servers.dnsmasq import DnsServer
from tests.support.app import Api, ApiFactory
from tests.support.hosting import active_domain, create_mailbox, headers, publish_and_verify

DOMAIN = "example-shop.com"
KINDS = ["mx", "spf", "dmarc", "dkim", "verification"]


async def register(api: Api, domain: str = DOMAIN, user_id: str = USER) -> dict[str, Any]:
    response = await api.client.post("/v2/domain", json={"domain": domain, "user_id": user_id}, headers=headers(api))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def info(api: Api, domain: str = DOMAIN, user_id: str = USER) -> dict[str, Any]:
    response = await api.client.get(f"/v2/domains/{domain}/info", params={"user_id": user_id}, headers=headers(api))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def list_domains(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = await api.client.get("/v2/domains", params={"user_id": USER, **params}, headers=headers(api))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def publish(dns: DnsServer, records: list[dict[str, Any]], kinds: set[str] | None = None) -> None:
    """Publish the records the API asked for (only those of `kinds` when given)."""
    with dns.batch():
        for record in records:
            if kinds is not None and record["kind"] not in kinds:
                continue
            if record["type"] == "MX":
                dns.set_mx(record["name"], record["value"], record["priority"])
            else:
                dns.add_txt(record["name"], record["value"])


def dkim_public_key(value: str) -> rsa.RSAPublicKey:
    tags = dict(part.strip().split("=", 1) for part in value.split(";") if part.strip())
    assert tags["v"] == "DKIM1" and tags["k"] == "rsa"
    key = serialization.load_der_public_key(base64.b64decode(tags["p"]))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


async def test_new_domain_is_pending_with_the_five_records_to_publish(api_factory: ApiFactory) -> None:
    api = await api_factory(mail_hostname="mx.hosting-provider.test")
    assert api.runtime.settings.mail_hostname == "mx.hosting-provider.test"
    body = await register(api)
    domain = body["domain"]
    assert domain["domain"] == DOMAIN and domain["user_id"] == USER
    assert domain["status"] == "pending"
    assert domain["verified_at"] is None and domain["checked_at"] is None
    assert domain["email_accounts"] == 0
    records = body["dns_records"]
    assert [record["kind"] for record in records] == KINDS
    by_kind = {record["kind"]: record for record in records}
    mx = by_kind["mx"]
    assert (mx["type"], mx["name"], mx["value"]) == ("MX", DOMAIN, api.runtime.settings.mail_hostname)
    assert isinstance(mx["priority"], int) and mx["required"] is True
    spf = by_kind["spf"]
    assert (spf["type"], spf["name"]) == ("TXT", DOMAIN)
    assert spf["value"].startswith("v=spf1 ") and "mx.hosting-provider.test" in spf["value"]
    dmarc = by_kind["dmarc"]
    assert (dmarc["type"], dmarc["name"]) == ("TXT", f"_dmarc.{DOMAIN}")
    assert dmarc["value"].startswith("v=DMARC1;")
    dkim = by_kind["dkim"]
    assert dkim["type"] == "TXT" and dkim["name"].endswith(f"._domainkey.{DOMAIN}")
    assert dkim_public_key(dkim["value"]).key_size == 2048
    verification = by_kind["verification"]
    assert verification["type"] == "TXT" and verification["name"].endswith(f".{DOMAIN}")
    assert verification["required"] is True and len(verification["value"]) > 30
    assert all(record["status"] == "unchecked" for record in records)


async def test_domain_names_are_normalised_unique_and_get_their_own_keys(api: Api) -> None:
    created = await register(api, "Example-Shop.COM.")
    assert created["domain"]["domain"] == DOMAIN
    assert (await info(api, "EXAMPLE-shop.com"))["domain"]["id"] == created["domain"]["id"]
    for spelling, user_id in ((DOMAIN, USER), ("Example-Shop.COM", USER), ("example-shop.com.", USER),
                              (DOMAIN, "user_456")):
        response = await api.client.post("/v2/domain", json={"domain": spelling, "user_id": user_id},
                                         headers=headers(api))
        assert response.status_code == 409, response.text
        assert response.json()["errors"] == [] and DOMAIN in response.json()["message"]
    assert [d["id"] for d in await list_domains(api)] == [created["domain"]["id"]]
    assert await list_domains(api, user_id="user_456") == []
    first = {r["kind"]: r["value"] for r in created["dns_records"]}
    second = {r["kind"]: r["value"] for r in (await register(api, "two-shop.com"))["dns_records"]}
    assert first["dkim"] != second["dkim"]
    assert first["verification"] != second["verification"]


async def test_bad_domain_name_or_user_id_is_422_naming_it(api: Api) -> None:
    for name in ("not a domain", "-bad.com", "bad-.com", "localhost", "exa_mple.com", "a..b.com", "example.123",
                 "x" * 64 + ".com", "user@example.com", "", 123, None, ["example.com"]):
        response = await api.client.post("/v2/domain", json={"domain": name, "user_id": USER}, headers=headers(api))
        assert validation_fields(response) == ["domain"], name
    for user_id in (None, "", 42, "x" * 256, "tab\there"):
        body: dict[str, Any] = {"domain": DOMAIN}
        if user_id is not None:
            body["user_id"] = user_id
        response = await api.client.post("/v2/domain", json=body, headers=headers(api))
        assert validation_fields(response) == ["user_id"], user_id
    for organization_id in (42, ["org"], "x" * 256):
        response = await api.client.post("/v2/domain", json={"domain": DOMAIN, "user_id": USER,
                                                             "organization_id": organization_id},
                                         headers=headers(api))
        assert validation_fields(response) == ["organization_id"], organization_id
    assert await list_domains(api) == []


async def test_organization_id_is_kept_and_shown(api: Api) -> None:
    response = await api.client.post("/v2/domain", headers=headers(api),
                                     json={"domain": DOMAIN, "user_id": USER, "organization_id": "org_42"})
    assert response.status_code == 200, response.text
    assert response.json()["domain"]["organization_id"] == "org_42"
    assert (await info(api))["domain"]["organization_id"] == "org_42"
    assert [d["organization_id"] for d in await list_domains(api)] == ["org_42"]
    assert (await register(api, "other-shop.com"))["domain"]["organization_id"] is None


async def test_verify_without_the_required_records_leaves_the_domain_pending(api: Api, dns_records: DnsServer) -> None:
    await register(api)
    response = await api.client.post(f"/v2/domains/{DOMAIN}/verify", json={"user_id": USER}, headers=headers(api))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is False
    assert body["domain"]["status"] == "pending" and body["domain"]["verified_at"] is None
    assert body["domain"]["checked_at"] is not None
    statuses = {record["kind"]: record["status"] for record in body["records"]}
    assert statuses == dict.fromkeys(KINDS, "missing")
    # The last check is shown with the records from then on.
    shown = await info(api)
    assert shown["domain"]["status"] == "pending"
    assert {r["kind"]: r["status"] for r in shown["dns_records"]} == dict.fromkeys(KINDS, "missing")
    # Everything but the verification record is not enough either.
    publish(dns_records, shown["dns_records"], kinds={"mx", "spf", "dmarc", "dkim"})
    response = await api.client.post(f"/v2/domains/{DOMAIN}/verify", json={"user_id": USER}, headers=headers(api))
    body = response.json()
    assert body["verified"] is False and body["domain"]["status"] == "pending"
    statuses = {record["kind"]: record["status"] for record in body["records"]}
    assert statuses == {"mx": "found", "spf": "found", "dmarc": "found", "dkim": "found", "verification": "missing"}


async def test_verify_after_publishing_activates_the_domain(api: Api, dns_records: DnsServer) -> None:
    await register(api)
    result = await publish_and_verify(api, dns_records, DOMAIN, USER)
    assert result["verified"] is True
    assert result["domain"]["status"] == "active" and result["domain"]["verified_at"] is not None
    assert {r["kind"]: r["status"] for r in result["records"]} == dict.fromkeys(KINDS, "found")
    shown = await info(api)
    assert shown["domain"]["status"] == "active"
    assert {r["kind"]: r["status"] for r in shown["dns_records"]} == dict.fromkeys(KINDS, "found")
    # Verify accepts user_id in the query too.
    again = await api.client.post(f"/v2/domains/{DOMAIN}/verify", params={"user_id": USER}, headers=headers(api))
    assert again.status_code == 200 and again.json()["domain"]["status"] == "active"


async def test_list_and_info_show_the_users_domains(api: Api, dns_records: DnsServer) -> None:
    first = await register(api, "alpha-shop.com")
    second = await register(api, "beta-shop.com")
    await register(api, "gamma-shop.com", user_id="user_456")
    listed = await list_domains(api)
    assert [d["domain"] for d in listed] == ["alpha-shop.com", "beta-shop.com"]
    assert [d["id"] for d in listed] == [first["domain"]["id"], second["domain"]["id"]]
    assert all(d["status"] == "pending" and d["user_id"] == USER for d in listed)
    assert [d["domain"] for d in await list_domains(api, limit=1, offset=1)] == ["beta-shop.com"]
    assert await list_domains(api, offset=2) == []
    unknown = await api.client.get("/v2/domains/nowhere-shop.com/info", params={"user_id": USER},
                                   headers=headers(api))
    assert_error(unknown, 404, "Not found")

    await publish_and_verify(api, dns_records, "alpha-shop.com", USER)
    await create_mailbox(api, "info", "alpha-shop.com")
    shown = await info(api, "alpha-shop.com")
    assert shown["domain"]["status"] == "active" and shown["domain"]["email_accounts"] == 1
    assert [r["kind"] for r in shown["dns_records"]] == KINDS
    assert shown["dns_records"] == [
        {key: value for key, value in r.items() if key not in ("found", "detail")}
        for r in (await api.client.post("/v2/domains/alpha-shop.com/verify", json={"user_id": USER},
                                        headers=headers(api))).json()["records"]
    ]


async def test_admin_suspends_a_domain_and_dns_does_not_reactivate_it(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records, DOMAIN, USER)
    account, password = await create_mailbox(api, "sales", DOMAIN)
    response = await api.client.put(f"/v2/domains/{DOMAIN}/status", json={"user_id": USER, "status": "suspended"},
                                    headers=headers(api))
    assert response.status_code == 200, response.text
    assert response.json()["domain"]["status"] == "suspended"
    assert (await info(api))["domain"]["status"] == "suspended"
    verified = await api.client.post(f"/v2/domains/{DOMAIN}/verify", json={"user_id": USER}, headers=headers(api))
    assert verified.json()["verified"] is True and verified.json()["domain"]["status"] == "suspended"
    # No new mailboxes and no logins while suspended.
    refused = await api.client.post("/v2/email-accounts/create", headers=headers(api),
                                    json={"domain": DOMAIN, "local_part": "new", "user_id": USER})
    assert validation_fields(refused) == ["domain"]
    decision = await auth_check(api, address=account["address"], password=password, service="imap")
    assert decision == {"allow": False, "reason": "domain not active"}
    # And back.
    back = await api.client.put(f"/v2/domains/{DOMAIN}/status", json={"user_id": USER, "status": "active"},
                                headers=headers(api))
    assert back.json()["domain"]["status"] == "active"
    assert (await auth_check(api, address=account["address"], password=password, service="imap"))["allow"]


async def test_only_an_admin_sets_a_domain_status_and_only_known_ones(api: Api) -> None:
    await register(api)
    for status in ("paused", "", None, 1, "ACTIVE"):
        response = await api.client.put(f"/v2/domains/{DOMAIN}/status", json={"user_id": USER, "status": status},
                                        headers=headers(api))
        assert validation_fields(response) == ["status"], status
    assert (await info(api))["domain"]["status"] == "pending"
    # Neither a tenant's token nor an operator's (no admin scope) may set it.
    for tenant in (USER, None):
        _, token = await api.runtime.tokens.create(["read", "write"], tenant=tenant)
        response = await api.client.put(f"/v2/domains/{DOMAIN}/status", json={"user_id": USER, "status": "active"},
                                        headers=headers(api, token))
        assert_error(response, 403, "Forbidden")
    assert (await info(api))["domain"]["status"] == "pending"
    # The admin may activate a pending domain directly.
    response = await api.client.put(f"/v2/domains/{DOMAIN}/status", json={"user_id": USER, "status": "active"},
                                    headers=headers(api))
    assert response.status_code == 200
    domain = response.json()["domain"]
    assert domain["status"] == "active" and domain["verified_at"] is not None


async def test_delete_is_409_with_mailboxes_and_force_removes_them_too(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records, DOMAIN, USER)
    first, password = await create_mailbox(api, "one", DOMAIN)
    second, _ = await create_mailbox(api, "two", DOMAIN)
    for body in ({"domain": DOMAIN, "user_id": USER}, {"domain": DOMAIN, "user_id": USER, "force": False}):
        response = await api.client.post("/v2/domains/delete", json=body, headers=headers(api))
        assert response.status_code == 409, response.text
        assert response.json()["errors"] == [] and DOMAIN in response.json()["message"]
    assert (await info(api))["domain"]["email_accounts"] == 2
    assert (await get_account(api, first["id"]))["address"] == first["address"]
    assert (await auth_check(api, address=first["address"], password=password, service="imap"))["allow"]
    # A mailbox with password history (a reset keeps the old hash) goes too.
    reset = await api.client.post(f"/v2/email-accounts/{second['id']}/password/reset", json={"user_id": USER},
                                  headers=headers(api))
    assert reset.status_code == 200
    domain_id = (await info(api))["domain"]["id"]
    response = await api.client.post("/v2/domains/delete", json={"domain": DOMAIN, "user_id": USER, "force": True},
                                     headers=headers(api))
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "deleted": {"id": domain_id, "domain": DOMAIN}}
    gone = await api.client.get(f"/v2/domains/{DOMAIN}/info", params={"user_id": USER}, headers=headers(api))
    assert_error(gone, 404, "Not found")
    for mailbox in (first, second):
        missing = await api.client.get(f"/v2/email-accounts/{mailbox['id']}", params={"user_id": USER},
                                       headers=headers(api))
        assert_error(missing, 404, "Not found")
    listed = await api.client.get("/v2/email-accounts", params={"user_id": USER}, headers=headers(api))
    assert listed.json()["items"] == []
    assert await list_domains(api) == []
    decision = await auth_check(api, address=first["address"], password=password, service="imap")
    assert decision == {"allow": False, "reason": "invalid credentials"}
    # The name is free again.
    assert (await register(api))["domain"]["status"] == "pending"


async def test_forced_delete_hands_the_default_to_a_mailbox_in_another_domain(api: Api) -> None:
    await activate_without_dns(api, DOMAIN)
    await activate_without_dns(api, "second-shop.com")
    default, _ = await create_mailbox(api, "main", DOMAIN)
    other, _ = await create_mailbox(api, "other", "second-shop.com")
    assert (default["isDefault"], other["isDefault"]) == (True, False)
    response = await api.client.post("/v2/domains/delete", json={"domain": DOMAIN, "user_id": USER, "force": True},
                                     headers=headers(api))
    assert response.status_code == 200, response.text
    # As when the default mailbox itself is deleted, the user's remaining mailbox becomes the default.
    listed = await api.client.get("/v2/email-accounts", params={"user_id": USER}, headers=headers(api))
    assert [(item["id"], item["is_default"]) for item in listed.json()["items"]] == [(other["id"], True)]
    assert (await get_account(api, other["id"]))["is_default"] is True


async def test_delete_of_an_empty_domain_needs_no_force(api: Api) -> None:
    created = await register(api)
    bad_force = await api.client.post("/v2/domains/delete", json={"domain": DOMAIN, "user_id": USER, "force": "yes"},
                                      headers=headers(api))
    assert validation_fields(bad_force) == ["force"]
    assert len(await list_domains(api)) == 1
    response = await api.client.post("/v2/domains/delete", json={"domain": DOMAIN, "user_id": USER},
                                     headers=headers(api))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "deleted": {"id": created["domain"]["id"], "domain": DOMAIN}}
    assert await list_domains(api) == []


async def test_background_recheck_activates_a_published_domain(api_factory: ApiFactory,
                                                               dns_records: DnsServer) -> None:
    api = await api_factory(domain_check_interval=1)
    records = (await register(api))["dns_records"]
    publish(dns_records, records)
    deadline = time.monotonic() + 10
    while True:
        shown = await info(api)
        if shown["domain"]["status"] == "active":
            break
        assert time.monotonic() < deadline, f"domain never became active: {shown}"
        await asyncio.sleep(0.1)
    assert shown["domain"]["verified_at"] is not None and shown["domain"]["checked_at"] is not None
    assert {r["kind"]: r["status"] for r in shown["dns_records"]} == dict.fromkeys(KINDS, "found")


def _store_files(api: Api) -> list[Path]:
    database = make_url(api.runtime.settings.effective_database_url).database
    assert database
    main = Path(database)
    return [path for path in (main, Path(f"{main}-wal"), Path(f"{main}-journal")) if path.exists()]


async def test_dkim_private_key_is_stored_encrypted(api: Api) -> None:
    published = {r["kind"]: r["value"] for r in (await register(api))["dns_records"]}
    stored = await api.runtime.db.read_scalar(
        select(HostedDomainRecord.dkim_private_key).where(HostedDomainRecord.name == DOMAIN))
    assert isinstance(stored, str) and stored
    assert "PRIVATE KEY" not in stored
    # It is the private half of the published key, once decrypted with the app's secret.
    private_pem = api.runtime.box.decrypt(stored)
    assert "PRIVATE KEY" in private_pem
    assert published["dkim"] == f"v=DKIM1; k=rsa; p={public_from_private(private_pem)}"
    if api.runtime.db.backend == "sqlite":
        body = [line for line in private_pem.splitlines() if line and not line.startswith("-----")]
        files = _store_files(api)
        assert files
        for path in files:
            raw = path.read_bytes()
            assert b"PRIVATE KEY" not in raw, path
            assert body[1].encode() not in raw, path
