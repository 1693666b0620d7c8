"""The browser-test support itself (tests.support.live): a live server on loopback, reachable from Chromium
and from the admin HTTP client, with the runtime's links pointing at it."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.support.live import LiveApp, LiveAppFactory


async def test_the_live_server_is_reachable_from_the_browser_and_the_api_client(
        page: Page, live_app_factory: LiveAppFactory) -> None:
    live = await live_app_factory()
    assert live.runtime.settings.base_url == live.url

    await page.goto(f"{live.url}/docs")
    await expect(page).to_have_title(re.compile("Mailyard"))

    health = await live.api.get("/health")
    assert health.status_code == 200
    tokens = await live.api.get("/v1/tokens")
    assert tokens.status_code == 200, "the api client sends the admin token"


async def test_each_live_app_gets_its_own_port(live_app_factory: LiveAppFactory) -> None:
    first: LiveApp = await live_app_factory()
    second: LiveApp = await live_app_factory()
    assert first.url != second.url
    assert (await second.api.get("/health")).status_code == 200
