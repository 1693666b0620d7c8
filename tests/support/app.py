"""Runtime and HTTP-client fixtures: a Mailyard app in-process, on the store under test, with its engine
trusting the test CA and retrying fast."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from mailyard.app import create_app
from mailyard.config import Settings
from mailyard.mailserver.managed import managed_mail_server
from mailyard.mailserver.ports import MailPorts
from mailyard.runtime import Runtime
from tests.servers.dnsmasq import DnsServer
from tests.servers.tls import ThrowawayCA
from tests.support.dirs import server_dir

TEST_SECRET = "test-secret-for-the-suite-0123456789"


@pytest.fixture(autouse=True, scope="session")
def _no_stray_settings() -> None:
    """The developer's own MAILYARD_* variables must not leak into the tests."""
    for name in list(os.environ):
        if name.startswith("MAILYARD_") and name != "MAILYARD_TEST_DATABASE_URL":
            del os.environ[name]


def make_settings(data_dir: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": data_dir, "database_url": database_url,
                                 "secret": SecretStr(TEST_SECRET), "port": 3999}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, store_url: str, test_ca: ThrowawayCA, dns_server: DnsServer) -> Settings:
    """Test settings: names resolve only through the loopback dnsmasq (so no test ever reaches the
    outside world, even with the seed documents' example hosts), the test CA is trusted, retries are fast."""
    return make_settings(tmp_path / "data", store_url, tls_ca_file=test_ca.ca_cert_path, connect_timeout=3,
                         reconnect_base=0.2, reconnect_cap=1.0, dns_resolver=dns_server.resolver_address)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(settings)
    try:
        yield rt
    finally:
        await rt.close()


@dataclass
class Api:
    """An HTTP client bound to a running in-process app (engine included), and an admin token for it."""

    client: httpx.AsyncClient
    runtime: Runtime
    admin_token: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.admin_token}"}

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, headers=self.auth(), **kwargs)

    async def post(self, url: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.client.post(url, headers=self.auth(), json=json, **kwargs)

    async def put(self, url: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.client.put(url, headers=self.auth(), json=json, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.delete(url, headers=self.auth(), **kwargs)

    async def wait_for(self, url: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict:
        """Poll `url` until `predicate(json)` holds; fail with the last answer otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            body = (await self.get(url)).json()
            if predicate(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting on {url}; last answer: {body}")
            await asyncio.sleep(0.05)

    async def wait_state(self, account: str, *states: str, timeout: float = 10) -> dict:
        return await self.wait_for(f"/v1/account/{account}", lambda b: b.get("state") in states, timeout)


ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def api_factory(settings: Settings) -> AsyncIterator[ApiFactory]:
    """Start apps on the test's store, with settings overridden per call; all are stopped after the test."""
    async with AsyncExitStack() as stack:

        async def start(*, mailserver: MailPorts | None = None, **overrides: object) -> Api:
            """`mailserver`: also run the hosted-mail Dovecot and Postfix on these ports, as `serve --mailserver`
            does."""
            effective = settings.model_copy(update=overrides)
            runtime = await Runtime.open(effective)
            stack.push_async_callback(runtime.close)
            if mailserver is not None:
                # A short path: Dovecot's socket names must fit in a sockaddr_un.
                directory = stack.enter_context(server_dir("my-mx-"))
                # Each test's servers are thrown away with it: no need for Dovecot's one-second clean stop.
                runtime.mailserver = managed_mail_server(effective, directory, mailserver,
                                                         instance_name=directory.name, stop_grace=0.2)
            _, token = await runtime.tokens.create(["admin"], description="test admin")
            app = create_app(runtime)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mailyard.test"))
            return Api(client, runtime, token)

        yield start


@pytest.fixture
async def api(api_factory: ApiFactory) -> Api:
    return await api_factory()
