"""Live updates in a real browser, without a reload: an account page's state, last sync and last error, and
the home page's counts and "Needs attention" list. Each test first pins down what the page showed when it
was drawn, then changes the account through the API, then waits for the new state on the same page (a
marker set on the page's window proves it was never reloaded)."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from mailyard.web.pages import account_url
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUserFactory
from tests.support.accounts import imap_body
from tests.support.live import LiveApp
from tests.web.browser import signed_in

_SYNCED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


async def _mark(page: Page) -> None:
    await page.evaluate("() => { window.__drawnOnce = true; }")


async def _still_marked(page: Page) -> bool:
    return bool(await page.evaluate("() => window.__drawnOnce === true"))


async def test_the_account_page_follows_state_sync_time_and_error_without_reload(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    created = await live_app.api.post("/v1/account", json={"account": "livebox", "email": user.email,
                                                           "disabled": True, "imap": imap_body(dovecot, user)})
    assert created.status_code == 200, created.text
    await signed_in(page, live_app)
    await page.goto(f"{live_app.url}{account_url('livebox')}")
    badge = page.locator(".heading [data-account-state=livebox]")
    synced = page.locator("[data-account-sync=livebox]")
    error = page.locator("[data-account-error=livebox]")
    # As drawn: a disabled account that never synced.
    await expect(badge).to_have_text("disconnected")
    await expect(synced).to_have_text("—")
    await expect(error).to_have_text("—")
    await _mark(page)

    assert (await live_app.api.put("/v1/account/livebox", json={"disabled": False})).status_code == 200
    await expect(badge).to_have_text("connected", timeout=20_000)
    await expect(synced).to_have_text(_SYNCED)
    await expect(error).to_have_text("—")

    broken = imap_body(dovecot, user, auth={"user": user.username, "pass": "not-the-password"})
    assert (await live_app.api.put("/v1/account/livebox", json={"imap": broken})).status_code == 200
    await expect(error).to_contain_text("uthentication", timeout=20_000)
    await expect(badge).not_to_have_text("connected")
    assert await _still_marked(page)


async def test_the_home_page_counts_and_needs_attention_follow_without_reload(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    await signed_in(page, live_app)
    attention = page.locator("#attention")
    # As drawn: no account at all.
    await expect(page.locator("#count-total")).to_have_text("0")
    await expect(page.locator("#count-authenticationError")).to_have_text("0")
    await expect(attention.get_by_text("Every account is fine.")).to_be_visible()
    await expect(attention.locator("table")).to_be_hidden()
    await _mark(page)

    wrong = imap_body(dovecot, user, auth={"user": user.username, "pass": "not-the-password"})
    created = await live_app.api.post("/v1/account", json={"account": "sore", "email": user.email, "imap": wrong})
    assert created.status_code == 200, created.text
    await expect(page.locator("#count-total")).to_have_text("1")
    row = attention.locator("tr[data-attention=sore]")
    await expect(row.locator("[data-account-error=sore]")).to_contain_text("uthentication", timeout=20_000)
    await expect(row.locator(".state")).to_have_text("authenticationError")
    await expect(page.locator("#count-authenticationError")).to_have_text("1")
    await expect(attention.get_by_text("Every account is fine.")).to_be_hidden()

    assert (await live_app.api.delete("/v1/account/sore")).status_code == 200
    await expect(page.locator("#count-total")).to_have_text("0")
    await expect(row).to_have_count(0)
    await expect(attention.get_by_text("Every account is fine.")).to_be_visible()
    assert await _still_marked(page)


async def test_a_row_drawn_live_links_to_its_account(
        page: Page, live_app: LiveApp, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    await signed_in(page, live_app)
    await expect(page.locator("#count-total")).to_have_text("0")
    wrong = imap_body(dovecot, user, auth={"user": user.username, "pass": "not-the-password"})
    account = "a b&c .."  # the row is drawn by the script: its link must be encoded as the server's are
    created = await live_app.api.post("/v1/account", json={"account": account, "email": user.email,
                                                           "imap": wrong})
    assert created.status_code == 200, created.text
    await page.locator("#attention").get_by_role("link", name=account, exact=True).click()
    await expect(page).to_have_url(f"{live_app.url}{account_url(account)}")
    await expect(page.locator("dl.facts dd").first).to_have_text(account)
