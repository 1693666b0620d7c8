"""The loopback TCP servers Mailyard runs for Postfix share one shape: listen on (host, port), port 0
picks a free one, every connection runs as a tracked task, and stopping ends them all."""

from __future__ import annotations

import asyncio
from contextlib import suppress


class StreamServer:
    """Subclasses implement `serve(reader, writer)`; the connection is closed when it returns."""

    def __init__(self, host: str, port: int, *, read_limit: int = 2**16) -> None:
        self.host = host
        self._port = port
        self.read_limit = read_limit
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port once started (the configured one before)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        if self._server is None:
            self._server = await self._listen()

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._connection, self.host, self._port, limit=self.read_limit)

    async def stop(self) -> None:
        """Stop listening and end open connections (a request cut short is retried by Postfix)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self.serve(reader, writer)
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with suppress(Exception):
                await writer.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
