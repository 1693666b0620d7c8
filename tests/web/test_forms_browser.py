"""The account forms in a real browser with JavaScript on: the Test button's errors appear beside their
fields (as without JavaScript), and a form stays usable after the user arrives in another tab from a link
on another site (the CSRF cookie is SameSite=Lax and is not replaced)."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page, expect

from mailyard.web.pages import account_url
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUserFactory
from tests.support.live import LiveApp
from tests.web.browser import signed_in
from tests.web.helpers import create_account


async def test_the_test_buttons_errors_are_shown_beside_their_fields(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    await signed_in(page, live_app)
    await page.goto(f"{live_app.url}/dashboard/accounts/new")
    await page.get_by_label("Email address").fill(user.email)
    await page.get_by_label("Password", exact=True).fill(user.password)
    await page.get_by_label("IMAP server").fill("bad host!")
    await page.get_by_label("IMAP port").fill("70000")
    await page.get_by_role("button", name="Test").click()
    port_error = page.locator(".field:has(#f-imap_port) #e-imap_port")
    await expect(port_error).to_be_visible()
    await expect(page.locator(".field:has(#f-imap_host) #e-imap_host")).to_be_visible()
    await expect(page.locator("#f-imap_port")).to_have_attribute("aria-invalid", "true")
    assert "imap_port" not in (await page.locator("#check-results").text_content() or "")
    await expect(page).to_have_url(f"{live_app.url}/dashboard/accounts/new")  # no page was submitted

    await page.get_by_label("IMAP server").fill("localhost")
    await page.get_by_label("IMAP port").fill(str(dovecot.ports.imaps))
    await page.get_by_label("IMAP username").fill(user.username)
    await page.get_by_label("Password", exact=True).fill("not-the-password")
    await page.get_by_role("button", name="Test").click()
    await expect(page.locator(".field:has(#f-password) #e-password")).to_contain_text("IMAP check failed")
    await expect(port_error).to_have_count(0)  # the earlier errors are gone

    await page.get_by_label("Password", exact=True).fill(user.password)
    await page.get_by_role("button", name="Test").click()
    await expect(page.locator("[data-check=imap]")).to_have_text("IMAP: works")
    await expect(page.locator(".field .error")).to_have_count(0)


async def test_a_form_still_submits_after_arriving_from_another_site_in_another_tab(
        page: Page, live_app: LiveApp) -> None:
    await create_account(live_app.as_api(), "tabbed")
    await signed_in(page, live_app)
    await page.goto(f"{live_app.url}{account_url('tabbed', 'edit')}")
    await page.get_by_label("Display name").fill("Edited in the first tab")

    # Another tab: a page on another site links to the dashboard, and the user follows the link.
    context: BrowserContext = page.context
    await context.route("http://elsewhere.example/", lambda route: route.fulfill(
        content_type="text/html", body=f'<a href="{live_app.url}/dashboard/accounts">Mailyard</a>'))
    other = await context.new_page()
    await other.goto("http://elsewhere.example/")
    await other.get_by_role("link", name="Mailyard").click()
    await expect(other.get_by_role("heading", name="Email accounts")).to_be_visible()

    await page.get_by_role("button", name="Save").click()
    await expect(page).to_have_url(f"{live_app.url}{account_url('tabbed', notice='updated')}")
    assert (await live_app.runtime.accounts.get("tabbed", None)).name == "Edited in the first tab"
