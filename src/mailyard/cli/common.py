"""Helpers shared by the CLI commands: running a coroutine against an opened runtime, clean errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from mailyard.config import Settings
from mailyard.runtime import Runtime
from mailyard.security.store_secret import SecretMismatch
from mailyard.store.urls import UnsupportedDatabase

T = TypeVar("T")


class CommandError(Exception):
    """A failure to report in one line, without a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def load_settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's ValidationError names the variable
        raise CommandError(f"invalid configuration: {exc}", 2) from None


async def open_runtime(settings: Settings) -> Runtime:
    try:
        return await Runtime.open(settings)
    except (SecretMismatch, UnsupportedDatabase) as exc:
        raise CommandError(str(exc), 2) from None
    except OSError as exc:
        raise CommandError(f"cannot open the store: {exc}", 2) from None


def with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open the store (migrating it), run `work`, close it."""

    async def run() -> T:
        runtime = await open_runtime(load_settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(run())
