"""The dashboard in a real browser (Debian's Chromium through Playwright) against a live server and the
Dovecot fixture: signing in, adding an account and watching it connect, breaking it, hosted mailboxes.
These tests also save the README's screenshots."""

from __future__ import annotations

import time

from playwright.async_api import Page, expect

from mailyard.security import totp
from mailyard.web.pages import account_url
from tests.servers.dnsmasq import DnsServer
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUserFactory
from tests.support.hosting import publish_and_verify
from tests.support.live import LiveApp, LiveAppFactory, screenshot
from tests.web.browser import PASSWORD, screenshot_showing, sign_in


async def test_sign_in_with_a_password(page: Page, live_app: LiveApp) -> None:
    await live_app.runtime.admin_auth.set_password(PASSWORD)
    await page.goto(f"{live_app.url}/login")
    await expect(page.get_by_label("Authenticator code")).to_have_count(0)
    await screenshot(page, "login")
    await sign_in(page, live_app)
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page).to_have_url(f"{live_app.url}/dashboard")


async def test_sign_in_with_totp_needs_the_current_code(page: Page, live_app: LiveApp) -> None:
    await live_app.runtime.admin_auth.set_password(PASSWORD)
    enrollment = await live_app.runtime.admin_auth.enable_totp()
    await sign_in(page, live_app, code="000000" if totp.code_at(enrollment.secret, _now()) != "000000" else "111111")
    await expect(page.get_by_role("alert")).to_have_text("Wrong username, password or code.")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Authenticator code").fill(totp.code_at(enrollment.secret, _now()))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def _now() -> float:
    return time.time()


async def test_added_account_connects_then_shows_under_needs_attention_when_its_password_breaks(
        page: Page, live_app_factory: LiveAppFactory, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    # Retrying slowly keeps the broken account in authenticationError while the screenshots are taken.
    live_app = await live_app_factory(reconnect_base=20.0, reconnect_cap=60.0)
    await live_app.runtime.admin_auth.set_password(PASSWORD)
    await sign_in(page, live_app)
    await page.get_by_role("navigation").get_by_role("link", name="Accounts").click()
    await page.get_by_role("link", name="Add account").click()
    await page.get_by_label("Account id").fill("browser1")
    await page.get_by_label("Display name").fill("Browser Test")
    await page.get_by_label("Email address").fill(user.email)
    await page.get_by_label("Password", exact=True).fill(user.password)
    await page.get_by_label("IMAP server").fill("localhost")
    await page.get_by_label("IMAP port").fill(str(dovecot.ports.imaps))
    await page.get_by_label("IMAP username").fill(user.username)
    await page.get_by_label("SMTP server").fill("localhost")
    await page.get_by_label("SMTP port").fill(str(dovecot.ports.submission))
    await page.get_by_label("SMTP username").fill(user.username)
    await page.get_by_role("button", name="Test").click()
    await expect(page.locator("[data-check=imap]")).to_have_text("IMAP: works")
    await expect(page.locator("[data-check=smtp]")).to_have_text("SMTP: works")
    await screenshot(page, "account-new")

    await page.get_by_role("button", name="Add account").click()
    await expect(page).to_have_url(f"{live_app.url}{account_url('browser1', notice='added')}")
    badge = page.locator(".heading [data-account-state=browser1]")
    await expect(badge).to_have_text("connected", timeout=20_000)  # updated in place, no reload
    await page.reload()  # the folder list is drawn with the page
    await expect(page.get_by_role("cell", name="INBOX", exact=True)).to_be_visible()
    await screenshot(page, "account")
    assert user.password not in await page.content()

    await page.get_by_role("link", name="Edit").click()
    await page.get_by_label("Password", exact=True).fill("not-the-password")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".heading [data-account-state=browser1]")).to_have_text("authenticationError",
                                                                                      timeout=20_000)
    await page.get_by_role("navigation").get_by_role("link", name="Home").click()
    attention = page.locator("section", has=page.get_by_role("heading", name="Needs attention"))
    await expect(attention.get_by_role("link", name="browser1")).to_be_visible()
    await expect(attention.locator("[data-account-error=browser1]")).to_contain_text("uthentication")
    await screenshot_showing(page, "home", [
        (attention.locator("tr[data-attention=browser1] .state"), "authenticationError"),
        (page.locator("#count-authenticationError"), "1"), (page.locator("#count-connecting"), "0")])
    await page.get_by_role("navigation").get_by_role("link", name="Accounts").click()
    await page.get_by_label("Search").fill("browser")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("link", name="browser1")).to_be_visible()
    await screenshot_showing(page, "accounts", [(page.locator("table.accounts [data-account-state=browser1]"),
                                                 "authenticationError")])


async def test_account_actions_disable_enable_and_delete_after_confirmation(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    created = await live_app.api.post("/v1/account", json={
        "account": "acts", "name": "Actions", "email": user.email,
        "imap": {"host": "localhost", "port": dovecot.ports.imaps, "secure": True,
                 "auth": {"user": user.username, "pass": user.password}}})
    assert created.status_code == 200, created.text
    await live_app.runtime.admin_auth.set_password(PASSWORD)
    await sign_in(page, live_app)
    await page.goto(f"{live_app.url}{account_url('acts')}")
    await expect(page.locator(".heading [data-account-state=acts]")).to_have_text("connected", timeout=20_000)
    await page.get_by_role("button", name="Disable").click()
    await expect(page.locator(".heading [data-account-state=acts]")).to_have_text("disconnected", timeout=10_000)
    await page.get_by_role("button", name="Enable").click()
    await expect(page.locator(".heading [data-account-state=acts]")).to_have_text("connected", timeout=20_000)
    await page.get_by_role("link", name="Delete").click()
    await expect(page.get_by_role("heading", name="Delete acts?")).to_be_visible()
    await page.get_by_role("link", name="Cancel").click()
    assert (await live_app.api.get("/v1/account/acts")).status_code == 200
    await page.get_by_role("link", name="Delete").click()
    await page.get_by_role("button", name="Delete account").click()
    await expect(page.get_by_text("The account was deleted.")).to_be_visible()
    assert (await live_app.api.get("/v1/account/acts")).status_code == 404


async def test_hosted_mailbox_is_created_with_its_password_shown_once(
        page: Page, live_app: LiveApp, dns_records: DnsServer) -> None:
    api = live_app.as_api()
    assert (await live_app.api.post("/v2/domain", json={"domain": "shop.test", "user_id": "u1"})).status_code == 200
    await live_app.runtime.admin_auth.set_password(PASSWORD)
    await sign_in(page, live_app)
    await page.get_by_role("navigation").get_by_role("link", name="Hosted").click()
    await page.get_by_role("link", name="shop.test").click()
    await expect(page.locator("#domain-status")).to_have_text("pending")
    await publish_and_verify(api, dns_records, "shop.test", "u1")
    await page.get_by_role("button", name="Verify now").click()
    await expect(page.locator("#domain-status")).to_have_text("active")
    await expect(page.locator("[data-record=mx]")).to_have_text("found")

    await page.get_by_label("Address (before the @)").fill("alice")
    await page.get_by_label("Display name").fill("Alice")
    await page.get_by_role("button", name="Create mailbox").click()
    await expect(page.get_by_role("heading", name="Mailbox created")).to_be_visible()
    password = (await page.locator("#new-password").text_content() or "").strip()
    assert len(password) >= 12
    await screenshot(page, "mailbox-password")
    check = await live_app.api.post("/v2/auth/check", json={"address": "alice@shop.test", "password": password,
                                                             "service": "imap", "remote_ip": "127.0.0.1"})
    assert check.json()["allow"] is True, check.text

    await page.get_by_role("link", name="Back to shop.test").click()
    row = page.locator("tr[data-mailbox='alice@shop.test']")
    await expect(row).to_contain_text("0 B of 1.0 GiB")
    assert password not in await page.content()
    await screenshot(page, "domain")

    await row.get_by_role("button", name="Reset password").click()
    await expect(page.get_by_role("heading", name="Password reset")).to_be_visible()
    fresh = (await page.locator("#new-password").text_content() or "").strip()
    assert fresh != password
    await page.get_by_role("link", name="Back to shop.test").click()
    assert await _switch_mailbox(live_app, page, fresh, "Disable", "disabled",
                                 "The mailbox is disabled: it cannot log in anywhere.") is False
    assert await _switch_mailbox(live_app, page, fresh, "Enable", "active", "The mailbox is active again.") is True


async def _switch_mailbox(live_app: LiveApp, page: Page, password: str, button: str, status: str,
                          notice: str) -> bool:
    """Press Disable or Enable on alice's row; answers whether IMAP would now let her in."""
    row = page.locator("tr[data-mailbox='alice@shop.test']")
    await row.get_by_role("button", name=button).click()
    await expect(page.locator("tr[data-mailbox='alice@shop.test'] .status")).to_have_text(status)
    await expect(page.get_by_role("status")).to_have_text(notice)
    check = await live_app.api.post("/v2/auth/check", json={"address": "alice@shop.test", "password": password,
                                                             "service": "imap", "remote_ip": "127.0.0.1"})
    allowed: bool = check.json()["allow"]
    return allowed
