"""Runtime and HTTP-client fixtures: a Mailyard app in-process, on the store under test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from mailyard.app import create_app
from mailyard.config import Settings
from mailyard.runtime import Runtime

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
def settings(tmp_path: Path, store_url: str) -> Settings:
    return make_settings(tmp_path / "data", store_url)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(settings)
    try:
        yield rt
    finally:
        await rt.close()


@dataclass
class Api:
    """An HTTP client bound to a running in-process app, and an admin token for it."""

    client: httpx.AsyncClient
    runtime: Runtime
    admin_token: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.admin_token}"}


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[Api]:
    _, token = await runtime.tokens.create(["admin"], description="test admin")
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mailyard.test") as client:
            yield Api(client, runtime, token)
