"""Hosted pages of the dashboard over HTTP: bad input shown beside its field with nothing changed."""

from __future__ import annotations

from tests.servers.dnsmasq import DnsServer
from tests.support.app import Api
from tests.support.hosting import active_domain
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
