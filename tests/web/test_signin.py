"""Signing in to the dashboard over HTTP: redirects, cookies, CSRF, lock-out, sign-out."""

from __future__ import annotations

from mailyard.web.csrf import CsrfGuard
from tests.support.app import Api
from tests.web.helpers import ADMIN_PASSWORD, csrf_token, sign_in, submit


async def test_dashboard_pages_send_a_stranger_to_sign_in(api: Api) -> None:
    for path in ("/", "/dashboard", "/dashboard/accounts?state=connected", "/dashboard/domains"):
        reply = await api.client.get(path, follow_redirects=True)
        assert reply.url.path == "/login", path
        assert "Sign in" in reply.text
    reply = await api.client.get("/dashboard/accounts?state=connected")
    assert reply.headers["location"] == "/login?next=%2Fdashboard%2Faccounts%3Fstate%3Dconnected"


async def test_an_api_token_does_not_open_the_dashboard(api: Api) -> None:
    reply = await api.client.get("/dashboard", headers=api.auth())
    assert reply.status_code == 303 and reply.headers["location"].startswith("/login")


async def test_signing_in_sets_a_protected_session_cookie(api: Api) -> None:
    await api.runtime.admin_auth.set_password(ADMIN_PASSWORD)
    reply = await submit(api.client, "/login", "/login", {"username": "admin", "password": ADMIN_PASSWORD,
                                                          "next": "/dashboard/domains"})
    assert reply.status_code == 303 and reply.headers["location"] == "/dashboard/domains"
    cookie = next(h for h in reply.headers.get_list("set-cookie") if h.startswith("mailyard_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert (await api.client.get("/dashboard")).status_code == 200


async def test_cookies_are_secure_behind_a_tls_proxy(api: Api) -> None:
    await api.runtime.admin_auth.set_password(ADMIN_PASSWORD)
    page = await api.client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in page.headers["set-cookie"]
    # The client keeps Secure cookies for https only; hand this one back as the browser would over TLS.
    api.client.cookies.set("mailyard_csrf", page.headers["set-cookie"].split(";")[0].split("=", 1)[1])
    reply = await api.client.post("/login", headers={"X-Forwarded-Proto": "https"}, data={
        "csrf_token": csrf_token(page.text), "username": "admin", "password": ADMIN_PASSWORD})
    assert "Secure" in next(h for h in reply.headers.get_list("set-cookie") if h.startswith("mailyard_session="))


async def test_sign_in_never_redirects_off_site(api: Api) -> None:
    await api.runtime.admin_auth.set_password(ADMIN_PASSWORD)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        reply = await submit(api.client, "/login", "/login", {"username": "admin", "password": ADMIN_PASSWORD,
                                                              "next": target})
        assert reply.headers["location"] == "/dashboard", target


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(api: Api) -> None:
    await api.runtime.admin_auth.set_password(ADMIN_PASSWORD)
    reply = await submit(api.client, "/login", "/login", {"username": "admin", "password": "nope"})
    assert reply.status_code == 401
    assert "Wrong username, password or code." in reply.text
    assert "mailyard_session" not in reply.headers.get("set-cookie", "")


async def test_repeated_failures_lock_the_form_with_a_delay(api: Api) -> None:
    await api.runtime.admin_auth.set_password(ADMIN_PASSWORD)
    for _ in range(4):
        await submit(api.client, "/login", "/login", {"username": "admin", "password": "nope"})
    locked = await submit(api.client, "/login", "/login", {"username": "admin", "password": "nope"})
    assert locked.status_code == 429 and "Try again in 30 seconds" in locked.text
    right = await submit(api.client, "/login", "/login", {"username": "admin", "password": ADMIN_PASSWORD})
    assert right.status_code == 429


async def test_forms_without_the_csrf_token_are_refused_and_change_nothing(api: Api) -> None:
    client = await sign_in(api)
    account = {"email": "a@example.org", "password": "pw", "imap_host": "127.0.0.1", "imap_port": "143",
               "action": "save"}
    for token in (None, "forged"):
        data = dict(account) if token is None else {**account, "csrf_token": token}
        reply = await client.post("/dashboard/accounts/new", data=data)
        assert reply.status_code == 403 and "Form expired" in reply.text
    assert (await api.get("/v1/accounts")).json()["total"] == 0
    # Another browser's token does not fit this browser's cookie either.
    other = CsrfGuard(api.runtime.box.subkey("csrf")).token_for("someone-else")
    reply = await client.post("/dashboard/accounts/new", data={**account, "csrf_token": other})
    assert reply.status_code == 403


async def test_signing_out_ends_the_session(api: Api) -> None:
    client = await sign_in(api)
    reply = await submit(client, "/dashboard", "/logout", {})
    assert reply.headers["location"] == "/login"
    assert (await client.get("/dashboard")).status_code == 303


async def test_pages_forbid_framing_and_inline_script(api: Api) -> None:
    reply = await api.client.get("/login")
    assert reply.headers["x-frame-options"] == "DENY"
    assert "script-src" not in reply.headers["content-security-policy"]  # default-src 'self' covers it
    assert "default-src 'self'" in reply.headers["content-security-policy"]
    assert "<script>" not in reply.text
