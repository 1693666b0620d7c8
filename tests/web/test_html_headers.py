"""Every HTML answer of the web side carries the security headers: pages, and error pages of every kind
(a 404 or 400 rendered by the dialect hook, a refused form, a spent link, a body too large)."""

from __future__ import annotations

import httpx
import pytest

from mailyard.web.forms import MAX_FORM_BYTES
from mailyard.web.pages import account_url
from tests.support.app import Api
from tests.web.helpers import create_account, sign_in

SIGNED_IN = [
    ("GET", "/dashboard", 200),
    ("GET", "/dashboard/accounts", 200),
    ("GET", "/dashboard/accounts/new", 200),
    ("GET", account_url("shown"), 200),
    ("GET", account_url("shown", "edit"), 200),
    ("GET", account_url("shown", "delete"), 200),
    ("GET", "/dashboard/domains", 200),
    ("GET", account_url("missing"), 404),
    ("GET", "/dashboard/no-such-page", 404),
    ("GET", "/dashboard/domains/nowhere.test", 404),
    ("GET", "/dashboard/accounts?page=99999999999999999999", 400),
    ("GET", "/dashboard/account", 400),  # no id
    ("GET", "/dashboard/accounts/test", 405),
    ("POST", "/dashboard/accounts/new", 403),  # no CSRF token
    ("GET", "/accounts/new", 410),  # a link without its data
    ("GET", "/accounts/new?data=abc&sig=def", 410),
]
SIGNED_OUT = [
    ("GET", "/login", 200),
    ("POST", account_url("shown", "reconnect"), 401),
    ("GET", "/logout", 405),
]


def _assert_protected(reply: httpx.Response, where: str) -> None:
    headers = reply.headers
    assert headers["content-type"].startswith("text/html"), where
    policy = headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("cache-control") == "no-store", where
    assert headers.get("x-content-type-options") == "nosniff", where


@pytest.mark.parametrize(("method", "path", "status"), SIGNED_IN)
async def test_signed_in_html_answers_carry_the_security_headers(api: Api, method: str, path: str,
                                                                 status: int) -> None:
    await create_account(api, "shown")
    client = await sign_in(api)
    reply = await client.request(method, path)
    assert reply.status_code == status, (path, reply.status_code)
    _assert_protected(reply, path)


@pytest.mark.parametrize(("method", "path", "status"), SIGNED_OUT)
async def test_signed_out_html_answers_carry_the_security_headers(api: Api, method: str, path: str,
                                                                  status: int) -> None:
    reply = await api.client.request(method, path)
    assert reply.status_code == status, (path, reply.status_code)
    _assert_protected(reply, path)


async def test_a_form_too_large_is_answered_with_the_security_headers(api: Api) -> None:
    client = await sign_in(api)
    reply = await client.post("/dashboard/accounts/new", content=b"a=" + b"x" * (MAX_FORM_BYTES + 10),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 413
    _assert_protected(reply, "too large")
