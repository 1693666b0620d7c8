"""CSRF protection of every form: each POST route of the web side refuses a submission without the form's
token (or with a forged one) and changes nothing. The routes are read from the routers themselves, so a new
POST route without a case here fails the test. Also: the cookie is SameSite=Lax and is not replaced by a
second page load, so forms already open keep working."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from mailyard.store.base import Base
from mailyard.store.registry import load_models
from mailyard.web import account_forms, account_pages, auth_form_pages, csrf, hosted_pages, signin
from mailyard.web.csrf import CsrfGuard
from mailyard.web.pages import account_url
from tests.servers.dnsmasq import DnsServer
from tests.support.app import Api
from tests.support.hosting import active_domain, create_mailbox
from tests.web.helpers import create_account, csrf_token, sign_in

ROUTERS = (signin, account_pages, account_forms, hosted_pages, auth_form_pages)
POST_ROUTES = sorted({getattr(route, "path", "") for module in ROUTERS for route in module.router.routes
                      if "POST" in getattr(route, "methods", set())})
TABLES = ("accounts", "hosted_domains", "hosted_mailboxes", "web_sessions", "form_link_uses", "form_link_checks",
          "admin_credentials", "events")
ACCOUNT_FIELDS = {"account": "fresh", "email": "fresh@example.org", "password": "pw-123456", "name": "Changed",
                  "imap_host": "127.0.0.1", "imap_port": "9", "action": "save"}


def _case(route: str, world: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The URL and fields of a submission that would change something, were its token right."""
    mailbox = str(world["mailbox"])
    cases: dict[str, tuple[str, dict[str, str]]] = {
        "/login": ("/login", {"username": "admin", "password": world["password"]}),
        "/logout": ("/logout", {}),
        "/dashboard/accounts/new": ("/dashboard/accounts/new", ACCOUNT_FIELDS),
        "/dashboard/accounts/test": ("/dashboard/accounts/test", ACCOUNT_FIELDS),
        "/dashboard/account/edit": (account_url("victim", "edit"), ACCOUNT_FIELDS),
        "/dashboard/account/test": (account_url("victim", "test"), ACCOUNT_FIELDS),
        "/dashboard/account/reconnect": (account_url("victim", "reconnect"), {}),
        "/dashboard/account/disable": (account_url("victim", "disable"), {}),
        "/dashboard/account/enable": (account_url("victim", "enable"), {}),
        "/dashboard/account/delete": (account_url("victim", "delete"), {}),
        "/dashboard/domains": ("/dashboard/domains", {"domain": "new.test", "user_id": "u9"}),
        "/dashboard/domains/{name}/verify": ("/dashboard/domains/customer.test/verify", {}),
        "/dashboard/domains/{name}/mailboxes": ("/dashboard/domains/customer.test/mailboxes",
                                                {"local_part": "mallory"}),
        "/dashboard/mailboxes/{mailbox_id}/reset": (f"/dashboard/mailboxes/{mailbox}/reset", {}),
        "/dashboard/mailboxes/{mailbox_id}/status": (f"/dashboard/mailboxes/{mailbox}/status",
                                                     {"status": "disabled"}),
        "/accounts/new": (world["link"], {"email": "x@example.org", "password": "pw", "imap_host": "127.0.0.1",
                                          "imap_port": "9"}),
    }
    assert route in cases, f"no CSRF case for the POST route {route}: add one"
    return cases[route]


async def _snapshot(api: Api) -> dict[str, list[Any]]:
    load_models()
    return {table: sorted(map(tuple, await api.runtime.db.read(select(Base.metadata.tables[table]))), key=repr)
            for table in TABLES}


@pytest.fixture
async def world(api: Api, dns_records: DnsServer) -> dict[str, Any]:
    await create_account(api, "victim")
    await active_domain(api, dns_records)
    mailbox, _ = await create_mailbox(api, "alice")
    link = await api.post("/v1/authentication/form", json={"account": "formed", "email": "x@example.org",
                                                            "redirectUrl": "https://app.example/done"})
    parts = urlsplit(link.json()["url"])
    return {"mailbox": mailbox["id"], "link": f"{parts.path}?{parts.query}", "password": ""}


def test_every_post_route_has_a_case() -> None:
    world = {"mailbox": 1, "link": "/accounts/new", "password": ""}
    assert len(POST_ROUTES) >= 16
    for route in POST_ROUTES:
        _case(route, world)


@pytest.mark.parametrize("route", POST_ROUTES)
async def test_a_post_without_the_forms_token_is_refused_and_changes_nothing(
        api: Api, world: dict[str, Any], route: str) -> None:
    client = await sign_in(api)
    world["password"] = "dashboard-password-1"
    url, fields = _case(route, world)
    before = await _snapshot(api)
    other_browser = CsrfGuard(api.runtime.box.subkey("csrf")).token_for("someone-else")
    for token in (None, "forged", other_browser):
        data = dict(fields) if token is None else {**fields, csrf.FIELD: token}
        reply = await client.post(url, data=data)
        assert reply.status_code == 403 and "Form expired" in reply.text, (route, token, reply.status_code)
        assert "mailyard_session" not in reply.headers.get("set-cookie", "")
    assert await _snapshot(api) == before, route
    assert (await client.get("/dashboard")).status_code == 200  # still signed in: /logout did nothing


async def test_the_same_posts_with_the_token_are_accepted(api: Api, world: dict[str, Any]) -> None:
    """The refusals above are the token's doing: with it, the very same submissions go through."""
    client = await sign_in(api)
    world["password"] = "dashboard-password-1"
    token = csrf_token((await client.get("/dashboard")).text)
    for route in POST_ROUTES:
        url, fields = _case(route, world)
        reply = await client.post(url, data={**fields, csrf.FIELD: token})
        assert reply.status_code != 403, (route, reply.status_code, reply.text[:300])
        if route == "/logout":
            await sign_in(api)


async def test_the_csrf_cookie_is_lax_and_a_second_page_load_keeps_it(api: Api) -> None:
    client = await sign_in(api)
    client.cookies.delete(csrf.COOKIE)
    first = await client.get("/dashboard/accounts/new")
    cookie = next(h for h in first.headers.get_list("set-cookie") if h.startswith(f"{csrf.COOKIE}="))
    assert "SameSite=lax" in cookie and "HttpOnly" in cookie
    form_token = csrf_token(first.text)
    # Another page (another tab, or arriving from a link on another site, which Lax still sends the cookie
    # with) does not replace the cookie, so the form rendered first still goes through.
    second = await client.get("/dashboard/domains")
    assert csrf.COOKIE not in second.headers.get("set-cookie", "")
    reply = await client.post("/dashboard/accounts/new", data={**ACCOUNT_FIELDS, csrf.FIELD: form_token})
    assert reply.status_code == 303, reply.text
    # A forged cross-site POST arrives without the cookie (SameSite=Lax keeps it off): it is refused, and the
    # refusal does not hand out a new cookie that would break the forms open in the user's tabs.
    client.cookies.delete(csrf.COOKIE)
    forged = await client.post("/dashboard/accounts/new", data={**ACCOUNT_FIELDS, "account": "forged"})
    assert forged.status_code == 403 and csrf.COOKIE not in forged.headers.get("set-cookie", "")
    assert (await api.get("/v1/account/forged")).status_code == 404
