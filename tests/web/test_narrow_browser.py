"""The main pages on a phone-sized screen (390 by 844): nothing is wider than the screen, so no page scrolls
sideways, long DNS values and account ids included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page

from mailyard.web.pages import account_url
from tests.servers.dnsmasq import DnsServer
from tests.support.hosting import create_mailbox, publish_and_verify
from tests.support.live import LiveApp
from tests.web.browser import signed_in
from tests.web.helpers import create_account

LONG_ID = "anaccountidentifierwithoutanyplacetobreakitatallforthenarrowscreen0123456789"


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(15_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def _overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0 when it fits)."""
    return int(await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"))


async def test_the_main_pages_fit_a_phone_screen(phone: Page, live_app: LiveApp, dns_records: DnsServer) -> None:
    api = live_app.as_api()
    await create_account(api, LONG_ID, email="a.fairly.long.address.for.phones@example.org", name="Long")
    assert (await live_app.api.post("/v2/domain", json={"domain": "phone.test", "user_id": "u1"})).status_code == 200
    await publish_and_verify(api, dns_records, "phone.test", "u1")
    await create_mailbox(api, "someone-with-a-long-local-part", domain="phone.test", user_id="u1")
    link = await live_app.api.post("/v1/authentication/form", json={
        "account": None, "email": "person@example.org", "redirectUrl": f"{live_app.url}/health"})
    form = urlsplit(link.json()["url"])

    await phone.goto(f"{live_app.url}/login")
    assert await _overflow(phone) == 0, "/login"
    await signed_in(phone, live_app)
    for path in ("/dashboard", "/dashboard/accounts", account_url(LONG_ID), account_url(LONG_ID, "edit"),
                 account_url(LONG_ID, "delete"), "/dashboard/accounts/new", "/dashboard/domains",
                 "/dashboard/domains/phone.test", f"{form.path}?{form.query}"):
        await phone.goto(f"{live_app.url}{path}")
        assert await _overflow(phone) == 0, path
