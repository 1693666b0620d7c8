"""The hosted authentication form in a real browser: a link from `POST /v1/authentication/form`, settings
detected from DNS SRV records, a live login check, the redirect back, and links that must not work."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page, expect

from tests.servers.dnsmasq import DnsServer
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import HOSTED_DOMAIN, MailUser, MailUserFactory
from tests.support.live import LiveApp, screenshot


def _publish_srv(dns: DnsServer, dovecot: DovecotServer) -> None:
    with dns.batch():
        dns.set_srv(f"_imaps._tcp.{HOSTED_DOMAIN}", "localhost", dovecot.ports.imaps)
        dns.set_srv(f"_submission._tcp.{HOSTED_DOMAIN}", "localhost", dovecot.ports.submission)


async def _link(live: LiveApp, user: MailUser, account: str | None = "user123") -> str:
    reply = await live.api.post("/v1/authentication/form", json={
        "account": account, "email": user.email, "name": "John Doe",
        "redirectUrl": f"{live.url}/health?from=myapp"})
    assert reply.status_code == 200, reply.text
    return reply.json()["url"]


async def test_form_detects_settings_verifies_the_login_and_redirects_with_the_account(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory,
        dns_records: DnsServer) -> None:
    user = mail_user()
    _publish_srv(dns_records, dovecot)
    url = await _link(live_app, user)
    assert url.startswith(f"{live_app.url}/accounts/new?data=")
    await page.goto(url)
    await expect(page.get_by_role("heading", name="Connect your mailbox")).to_be_visible()
    await expect(page.get_by_label("Email address")).to_have_value(user.email)
    await page.get_by_text("Advanced: server settings").click()
    await expect(page.get_by_label("IMAP server")).to_have_value("localhost")
    await expect(page.get_by_label("IMAP port")).to_have_value(str(dovecot.ports.imaps))
    await expect(page.get_by_label("SMTP port")).to_have_value(str(dovecot.ports.submission))
    await page.get_by_label("Password", exact=True).fill(user.password)
    await screenshot(page, "auth-form")
    await page.get_by_role("button", name="Connect").click()
    await expect(page).to_have_url(re.compile(r"/health\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"from": ["myapp"], "account": ["user123"], "state": ["new"]}
    account = (await live_app.api.get("/v1/account/user123")).json()
    assert account["email"] == user.email and account["imap"]["port"] == dovecot.ports.imaps
    assert account["smtp"]["port"] == dovecot.ports.submission

    # The same link again: refused, and nothing changes.
    await page.goto(url)
    await expect(page.get_by_role("alert")).to_have_text("This link has already been used. Ask for a new one.")


async def test_a_second_link_for_the_same_account_updates_it(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory,
        dns_records: DnsServer) -> None:
    user = mail_user()
    _publish_srv(dns_records, dovecot)
    for expected in ("new", "existing"):
        await page.goto(await _link(live_app, user))
        await page.get_by_label("Password", exact=True).fill(user.password)
        await page.get_by_role("button", name="Connect").click()
        await expect(page).to_have_url(re.compile(rf"state={expected}"))


async def test_a_wrong_password_is_shown_beside_the_field_and_the_link_stays_usable(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory,
        dns_records: DnsServer) -> None:
    user = mail_user()
    _publish_srv(dns_records, dovecot)
    url = await _link(live_app, user, account=None)
    await page.goto(url)
    await page.get_by_label("Password", exact=True).fill("wrong-password")
    await page.get_by_role("button", name="Connect").click()
    await expect(page.locator("#e-password")).to_contain_text("IMAP check failed")
    assert (await live_app.api.get("/v1/accounts")).json()["total"] == 0
    await page.get_by_label("Password", exact=True).fill(user.password)
    await page.get_by_role("button", name="Connect").click()
    await expect(page).to_have_url(re.compile(r"state=new"))
    generated = parse_qs(urlsplit(page.url).query)["account"][0]
    assert (await live_app.api.get(f"/v1/account/{generated}")).status_code == 200


async def test_a_tampered_link_gets_an_error_page_and_creates_nothing(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory,
        dns_records: DnsServer) -> None:
    user = mail_user()
    _publish_srv(dns_records, dovecot)
    url = await _link(live_app, user)
    other = await _link(live_app, user, account="someone-else")
    tampered = url.split("&sig=")[0] + "&sig=" + other.split("&sig=")[1]
    await page.goto(tampered)
    await expect(page.get_by_role("alert")).to_contain_text("it was changed after it was made")
    await expect(page.get_by_label("Password")).to_have_count(0)
    # Posting straight to the tampered link is refused as well.
    await page.goto(url)
    await page.get_by_label("Password", exact=True).fill(user.password)
    await page.evaluate("(target) => { document.querySelector('main form').action = target; }", tampered)
    await page.get_by_role("button", name="Connect").click()
    await expect(page.get_by_role("alert")).to_contain_text("it was changed after it was made")
    assert (await live_app.api.get("/v1/accounts")).json()["total"] == 0


async def test_a_link_without_email_lets_the_person_type_it_and_detects_the_servers(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory,
        dns_records: DnsServer) -> None:
    user = mail_user()
    _publish_srv(dns_records, dovecot)
    reply = await live_app.api.post("/v1/authentication/form", json={
        "account": None, "redirectUrl": f"{live_app.url}/health"})
    assert reply.status_code == 200, reply.text
    await page.goto(reply.json()["url"])
    await expect(page.get_by_label("Email address")).to_be_editable()
    await page.get_by_label("Email address").fill(user.email)
    await page.get_by_label("Password", exact=True).fill(user.password)
    await page.get_by_role("button", name="Connect").click()
    await expect(page).to_have_url(re.compile(r"state=new"))
    account = parse_qs(urlsplit(page.url).query)["account"][0]
    stored = (await live_app.api.get(f"/v1/account/{account}")).json()
    assert stored["email"] == user.email and stored["imap"]["port"] == dovecot.ports.imaps
