"""Driving the web pages over HTTP in tests: CSRF tokens from pages, signing in, accounts to look at."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support.app import Api

ADMIN_PASSWORD = "dashboard-password-1"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def submit(client: httpx.AsyncClient, page: str, action: str, fields: dict[str, str]) -> httpx.Response:
    """Open `page`, then post `fields` to `action` with the page's CSRF token, as a browser would."""
    shown = await client.get(page)
    return await client.post(action, data={"csrf_token": csrf_token(shown.text), **fields})


async def sign_in(api: Api) -> httpx.AsyncClient:
    await api.runtime.admin_auth.set_password(ADMIN_PASSWORD)
    reply = await submit(api.client, "/login", "/login", {"username": "admin", "password": ADMIN_PASSWORD,
                                                          "next": "/dashboard"})
    assert reply.status_code == 303, reply.text
    return api.client


async def create_account(api: Api, account: str, **extra: Any) -> None:
    """An account through the API, disabled unless `extra` says otherwise (nothing connects anywhere), with the
    IMAP password `s3cret-pw` that no page may ever show."""
    body = {"account": account, "name": f"Name {account}", "email": f"{account}@example.org",
            "imap": {"host": "127.0.0.1", "port": 9, "secure": False, "auth": {"user": account, "pass": "s3cret-pw"}},
            "disabled": True, **extra}
    reply = await api.post("/v1/account", json=body)
    assert reply.status_code == 200, reply.text
