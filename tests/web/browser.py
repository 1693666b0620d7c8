"""Driving the dashboard in the browser tests: signing in through the page as a person would, screenshots."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from tests.support.live import LiveApp, screenshot

PASSWORD = "browser-admin-password"


async def sign_in(page: Page, live: LiveApp, *, code: str | None = None) -> None:
    """Open the dashboard, get sent to the sign-in page, and sign in as `admin` (with a TOTP `code` if given)."""
    await page.goto(f"{live.url}/dashboard")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password").fill(PASSWORD)
    if code is not None:
        await page.get_by_label("Authenticator code").fill(code)
    await page.get_by_role("button", name="Sign in").click()


async def signed_in(page: Page, live: LiveApp) -> None:
    """Set the admin password and sign in, landing on the home page."""
    await live.runtime.admin_auth.set_password(PASSWORD)
    await sign_in(page, live)
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def screenshot_showing(page: Page, name: str, shown: list[tuple[Locator, str]]) -> None:
    """Save the screenshot `name` once every locator in `shown` has its text, and only if it still had it
    after the picture was taken: live pages keep changing (a failing account passes through `connecting`
    on every retry), and the README's pictures must agree with themselves."""
    for _ in range(5):
        for locator, text in shown:
            await expect(locator).to_have_text(text)
        await screenshot(page, name)
        if all([(await locator.text_content() or "").strip() == text for locator, text in shown]):
            return
    raise AssertionError(f"{name}: the page never held still for its screenshot")
