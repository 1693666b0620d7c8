"""A real webhook receiver on 127.0.0.1 for tests: records requests, can fail, hang or go down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Request:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the receiver answered

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.json["eventId"]


class Receiver:
    """A small HTTP/1.1 server recording every request. It answers 200, except 500 for paths in `fail_paths`
    or events in `fail_events`, and for the next `fail_next` requests; `hang_next` requests get no answer.
    `down()` closes the listener and every open connection, so connections are refused until `up()`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.fail_paths: set[str] = set()
        self.fail_events: set[str] = set()
        self.fail_next = 0
        self.hang_next = 0
        self.port = 0
        self._released = asyncio.Event()  # ends hanging requests
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def delivered(self) -> list[Request]:
        return [r for r in self.requests if r.status == 200]

    async def up(self) -> None:
        self._released = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._released.set()
        for writer in list(self._writers):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                fields = (line.partition(":") for line in head[1:] if line)
                headers = {name.strip().lower(): value.strip() for name, _, value in fields}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if self.hang_next:
                    self.hang_next -= 1
                    await self._released.wait()
                    return
                path = head[0].split()[1]
                event_id = json.loads(body).get("eventId") if body else None
                status = 200
                if self.fail_next or path in self.fail_paths or event_id in self.fail_events:
                    self.fail_next = max(0, self.fail_next - 1)
                    status = 500
                self.requests.append(Request(path, headers, body, status))
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
                             .encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.up()
    try:
        yield server
    finally:
        await server.down()
