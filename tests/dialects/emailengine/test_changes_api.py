"""`GET /v1/changes`: a text/event-stream of account state changes, over a real HTTP server (an in-process
ASGI client cannot stream an endless response)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from mailyard.app import create_app
from mailyard.dialects.emailengine import changes as changes_route
from tests.support.app import Api


@pytest.fixture
async def base_url(api: Api) -> AsyncIterator[str]:
    """The test's runtime served by uvicorn on a free loopback port (its services already run under `api`)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(api.runtime), lifespan="off", log_config=None,
                                          log_level="warning", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next_line(self, timeout: float = 5.0) -> str:
        """The next non-empty line (messages are separated by blank lines)."""
        while True:
            line = await asyncio.wait_for(anext(self._lines), timeout)
            if line:
                return line

    async def next_change(self, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            line = await self.next_line(timeout)
            if line.startswith("data: "):
                return json.loads(line.removeprefix("data: "))


@asynccontextmanager
async def stream(base_url: str, token: str) -> AsyncIterator[Stream]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client, client.stream(
            "GET", "/v1/changes", headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status_code == 200
        yield Stream(response)


async def test_published_change_arrives_as_an_sse_data_message(api: Api, base_url: str) -> None:
    async with stream(base_url, api.admin_token) as events:
        assert events.response.headers["content-type"].startswith("text/event-stream")
        assert events.response.headers["cache-control"] == "no-cache"
        api.runtime.changes.publish({"account": "acc1", "state": "connected"})
        line = await events.next_line()
        assert line == 'data: {"account":"acc1","state":"connected"}'
        api.runtime.changes.publish({"account": "acc2", "state": "connectError"})
        assert await events.next_change() == {"account": "acc2", "state": "connectError"}


async def test_idle_stream_gets_keep_alive_comments(api: Api, base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changes_route, "KEEPALIVE_SECONDS", 0.05)
    async with stream(base_url, api.admin_token) as events:
        assert await events.next_line() == ": keep-alive"
        assert await events.next_line() == ": keep-alive"


async def test_every_open_stream_gets_the_change(api: Api, base_url: str) -> None:
    async with stream(base_url, api.admin_token) as first, stream(base_url, api.admin_token) as second:
        api.runtime.changes.publish({"account": "acc1", "state": "syncing"})
        assert await first.next_change() == await second.next_change() == {"account": "acc1", "state": "syncing"}


async def test_closing_the_stream_unsubscribes(api: Api, base_url: str) -> None:
    async with stream(base_url, api.admin_token):
        assert api.runtime.changes.subscribers == 1
    for _ in range(200):
        if api.runtime.changes.subscribers == 0:
            break
        await asyncio.sleep(0.01)
    assert api.runtime.changes.subscribers == 0


async def test_tenant_token_sees_only_its_tenants_accounts(api: Api, base_url: str) -> None:
    _, tenant_token = await api.runtime.tokens.create(["read", "write"], tenant="tenant-a")
    for token, account in ((tenant_token, "mine"), (api.admin_token, "theirs")):
        response = await api.client.post("/v1/account", headers=api.auth(token), json={
            "account": account, "email": f"{account}@example.com", "imap": {"disabled": True}, "disabled": True})
        assert response.status_code == 200
    async with stream(base_url, tenant_token) as tenant, stream(base_url, api.admin_token) as admin:
        for change in ({"account": "theirs", "state": "connected"}, {"account": "missing", "state": "connected"},
                       {"account": "mine", "state": "connected"},
                       {"account": "elsewhere", "tenant": "tenant-b", "state": "connected"},
                       {"account": "tagged", "tenant": "tenant-a", "state": "init"}):
            api.runtime.changes.publish(change)
        assert await tenant.next_change() == {"account": "mine", "state": "connected"}
        assert await tenant.next_change() == {"account": "tagged", "state": "init"}
        assert [(await admin.next_change())["account"] for _ in range(5)] == [
            "theirs", "missing", "mine", "elsewhere", "tagged"]


async def test_changes_need_a_token_with_read_scope(api: Api) -> None:
    assert (await api.client.get("/v1/changes")).status_code == 401
    _, metrics_only = await api.runtime.tokens.create(["metrics"])
    response = await api.client.get("/v1/changes", headers=api.auth(metrics_only))
    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"
