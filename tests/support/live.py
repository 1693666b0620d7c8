"""A Mailyard app served over real HTTP on loopback (uvicorn on the test's event loop), and Debian's
Chromium driven by Playwright for the browser tests. Never `playwright install`: the browser is
/usr/bin/chromium from the `chromium` package, which `make test` installs."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect

from mailyard.app import create_app
from mailyard.config import Settings
from mailyard.runtime import Runtime
from tests.servers.ports import free_port
from tests.support.app import Api

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Pages wait on the engine (connecting to Dovecot) and on live updates polled every 2 s: 5 s is tight on CI.
expect.set_options(timeout=10_000)


@dataclass
class LiveApp:
    url: str
    runtime: Runtime
    admin_token: str
    api: httpx.AsyncClient  # bound to `url`, sending the admin token

    def as_api(self) -> Api:
        """The same server through the in-process helpers' interface (tests.support.hosting takes an Api)."""
        return Api(self.api, self.runtime, self.admin_token)


LiveAppFactory = Callable[..., Awaitable[LiveApp]]


@pytest.fixture
async def live_app_factory(settings: Settings) -> AsyncIterator[LiveAppFactory]:
    async with AsyncExitStack() as stack:

        async def start(**overrides: object) -> LiveApp:
            port = free_port()
            # host and port make base_url, so the links the app writes (form URLs) point at this server.
            effective = settings.model_copy(update={"host": "127.0.0.1", "port": port, **overrides})
            runtime = await Runtime.open(effective)
            stack.push_async_callback(runtime.close)
            _, token = await runtime.tokens.create(["admin"], description="browser test admin")
            server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port,
                                                   lifespan="on", log_level="warning"))
            task = asyncio.create_task(server.serve())

            async def stop() -> None:
                server.should_exit = True
                await task

            stack.push_async_callback(stop)
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
            url = f"http://127.0.0.1:{port}"
            client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}))
            return LiveApp(url, runtime, token, client)

        yield start


@pytest.fixture
async def live_app(live_app_factory: LiveAppFactory) -> LiveApp:
    return await live_app_factory()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package 'chromium' (make test does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                    args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as docs/screenshots/<name>.png (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
