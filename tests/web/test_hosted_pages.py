"""Hosted pages of the dashboard over HTTP: bad input shown beside its field (or, when the form has no such
field, at its top) with nothing changed; lists in pages; disabling and enabling a mailbox."""

from __future__ import annotations

import html
import re

import pytest

from mailyard.web import hosted_pages
from tests.servers.dnsmasq import DnsServer
from tests.support.app import Api
from tests.support.hosting import active_domain, create_mailbox
from tests.web.helpers import sign_in, submit


async def test_adding_a_domain_shows_its_records_and_bad_names_are_refused(api: Api) -> None:
    client = await sign_in(api)
    bad = await submit(client, "/dashboard/domains", "/dashboard/domains", {"domain": "not a domain", "user_id": "u1"})
    assert bad.status_code == 422
    assert 'id="e-domain"' in bad.text
    assert (await api.runtime.domains.list_all(limit=10, offset=0)) == []
    added = await submit(client, "/dashboard/domains", "/dashboard/domains", {"domain": "Shop.Test", "user_id": "u1"})
    assert added.headers["location"] == "/dashboard/domains/shop.test?notice=added"
    page = await client.get(added.headers["location"])
    assert "_mailyard-verification.shop.test" in page.text and "mailyard._domainkey.shop.test" in page.text


async def test_a_bad_mailbox_is_refused_beside_its_field_and_nothing_is_created(api: Api,
                                                                               dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    client = await sign_in(api)
    page = "/dashboard/domains/customer.test"
    reply = await submit(client, page, f"{page}/mailboxes", {"local_part": "bad local", "display_name": "X"})
    assert reply.status_code == 422 and 'id="e-local_part"' in reply.text
    weak = await submit(client, page, f"{page}/mailboxes", {"local_part": "bob", "password": "qzxwvkj",
                                                             "password_confirmation": "qzxwvkj"})
    assert weak.status_code == 422 and 'id="e-password"' in weak.text
    assert "qzxwvkj" not in weak.text  # a refused password is not shown back
    listed = await api.get("/v2/email-accounts", params={"user_id": "user_123"})
    assert listed.json()["items"] == []


async def test_unknown_domains_and_mailboxes_answer_an_html_404(api: Api) -> None:
    client = await sign_in(api)
    for path in ("/dashboard/domains/nowhere.test", "/dashboard/accounts/nobody"):
        reply = await client.get(path)
        assert reply.status_code == 404 and reply.headers["content-type"].startswith("text/html"), path
    reply = await submit(client, "/dashboard", "/dashboard/mailboxes/999/reset", {})
    assert reply.status_code == 404


async def test_a_mailbox_on_a_pending_domain_is_refused_with_the_reason_at_the_top(api: Api) -> None:
    assert (await api.post("/v2/domain", json={"domain": "pending.test", "user_id": "u1"})).status_code == 200
    client = await sign_in(api)
    page = "/dashboard/domains/pending.test"
    reply = await submit(client, page, f"{page}/mailboxes", {"local_part": "bob", "display_name": "Bob"})
    assert reply.status_code == 422
    top = re.search(r'<p class="error" id="e-form" role="alert">([^<]+)</p>', reply.text)
    assert top and html.unescape(top.group(1)) == (
        "Domain is pending: mailboxes can only be created in active domains")
    assert 'value="bob"' in reply.text  # the form comes back filled
    assert (await api.get("/v2/email-accounts", params={"user_id": "u1"})).json()["items"] == []


async def test_domains_come_in_pages(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hosted_pages, "DOMAIN_PAGE", 2)
    for name in ("c.test", "a.test", "b.test"):
        assert (await api.post("/v2/domain", json={"domain": name, "user_id": "u1"})).status_code == 200
    client = await sign_in(api)
    links = re.compile(r'<td><a href="/dashboard/domains/([a-z.]+)">')
    first = await client.get("/dashboard/domains")
    assert "3 domains · page 1 of 2" in first.text and links.findall(first.text) == ["a.test", "b.test"]
    assert 'href="/dashboard/domains?page=1" rel="next"' in first.text
    second = await client.get("/dashboard/domains", params={"page": 1})
    assert links.findall(second.text) == ["c.test"] and 'rel="next"' not in second.text


async def test_mailboxes_come_in_pages(api: Api, dns_records: DnsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hosted_pages, "MAILBOX_PAGE", 2)
    await active_domain(api, dns_records)
    for local in ("ann", "bob", "cid"):
        await create_mailbox(api, local)
    client = await sign_in(api)
    rows = re.compile(r'<tr data-mailbox="([a-z]+)@customer.test">')
    first = await client.get("/dashboard/domains/customer.test")
    assert "Mailboxes (3)" in first.text and "page 1 of 2" in first.text
    assert rows.findall(first.text) == ["ann", "bob"]
    second = await client.get("/dashboard/domains/customer.test", params={"page": 1})
    assert rows.findall(second.text) == ["cid"] and 'href="/dashboard/domains/customer.test?page=0" rel="prev"' in \
        second.text
    assert (await client.get("/dashboard/domains/customer.test", params={"page": -1})).status_code == 400


async def test_a_disabled_mailbox_is_enabled_again(api: Api, dns_records: DnsServer) -> None:
    await active_domain(api, dns_records)
    mailbox, password = await create_mailbox(api, "eve")
    client = await sign_in(api)
    page = "/dashboard/domains/customer.test"
    status = f"/dashboard/mailboxes/{mailbox['id']}/status"
    check = {"address": "eve@customer.test", "password": password, "service": "imap", "remote_ip": "127.0.0.1"}
    off = await submit(client, page, status, {"status": "disabled"})
    assert off.headers["location"] == f"{page}?notice=disabled"
    assert (await api.post("/v2/auth/check", json=check)).json()["allow"] is False
    on = await submit(client, page, status, {"status": "active"})
    assert on.headers["location"] == f"{page}?notice=active"
    assert "The mailbox is active again." in (await client.get(on.headers["location"])).text
    assert (await api.post("/v2/auth/check", json=check)).json()["allow"] is True
