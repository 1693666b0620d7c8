"""The hosted authentication form over HTTP: expired and reused links, the tenant an account lands in, and the
limit on login checks per link (held in the store, so across processes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx

from mailyard.accounts.auth_form import MAX_CHECKS
from mailyard.accounts.config import AccountConfig
from mailyard.store.base import utcnow
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUser, MailUserFactory
from tests.servers.ports import free_port
from tests.support.app import Api, ApiFactory
from tests.support.hosting import tenant_token
from tests.web.helpers import csrf_token, submit


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def _link(api: Api, email: str, *, token: str | None = None, account: str | None = "formed") -> str:
    reply = await api.client.post("/v1/authentication/form", headers=api.auth(token), json={
        "account": account, "email": email, "redirectUrl": "https://app.example/done?x=1"})
    assert reply.status_code == 200, reply.text
    return _path(reply.json()["url"])


def _dovecot_fields(dovecot: DovecotServer, user: MailUser, password: str) -> dict[str, str]:
    return {"password": password, "imap_host": "localhost", "imap_port": str(dovecot.ports.imaps),
            "imap_secure": "on", "imap_user": user.username, "verify_tls": "on"}


def _closed_port_fields() -> dict[str, str]:
    # Nothing listens there: each check fails at once, with a connection error.
    return {"password": "any-password", "imap_host": "127.0.0.1", "imap_port": str(free_port()),
            "imap_user": "someone"}


async def test_an_expired_link_gets_the_error_page_and_creates_nothing(api: Api) -> None:
    made = utcnow() - timedelta(hours=24, minutes=1)
    url = _path(api.runtime.form_links.create({"account": "late", "email": "late@example.org",
                                               "redirectUrl": "https://app.example/"}, None, now=made))
    page = await api.client.get(url)
    assert page.status_code == 410 and "This link has expired. Ask for a new one." in page.text
    assert 'name="password"' not in page.text
    posted = await api.client.post(url, data={**_closed_port_fields(), "csrf_token": "x"})
    assert posted.status_code in (403, 410)
    assert (await api.get("/v1/accounts")).json()["total"] == 0


async def _configured(api: Api, account: str) -> AccountConfig | None:
    """The account as its owner configured it, passwords included, without what the engine itself records
    as it connects (the first sync, the last error notified)."""
    config = await api.runtime.accounts.load_config(account)
    return None if config is None else replace(config, initialized_at=None, notified_error=None)


async def test_a_used_link_submitted_again_creates_and_changes_nothing(
        api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    url = await _link(api, user.email, account=None)
    shown = await api.client.get(url)
    fields = {"csrf_token": csrf_token(shown.text), **_dovecot_fields(dovecot, user, user.password)}
    first = await api.client.post(url, data=fields)
    assert first.status_code == 303, first.text
    target = parse_qs(urlsplit(first.headers["location"]).query)
    assert target["state"] == ["new"] and target["x"] == ["1"]
    account = target["account"][0]
    stored = await _configured(api, account)
    # The very same submission again (a second tab, a replay): refused, nothing created or updated.
    again = await api.client.post(url, data=fields)
    assert again.status_code == 410 and "This link has already been used" in again.text
    assert (await api.get("/v1/accounts")).json()["total"] == 1
    assert stored is not None and await _configured(api, account) == stored


async def test_an_account_made_through_a_tenants_link_belongs_to_that_tenant(
        api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    mine, theirs = await tenant_token(api, "tenant-a"), await tenant_token(api, "tenant-b")
    url = await _link(api, user.email, token=mine, account="tenanted")
    reply = await submit(api.client, url, url, _dovecot_fields(dovecot, user, user.password))
    assert reply.status_code == 303, reply.text
    assert (await api.client.get("/v1/account/tenanted", headers=api.auth(mine))).status_code == 200
    assert (await api.client.get("/v1/account/tenanted", headers=api.auth(theirs))).status_code == 404
    listed = (await api.client.get("/v1/accounts", headers=api.auth(theirs))).json()
    assert listed["total"] == 0
    assert [a["account"] for a in (await api.client.get("/v1/accounts", headers=api.auth(mine))).json()[
        "accounts"]] == ["tenanted"]


async def test_a_link_allows_a_limited_number_of_login_checks_across_processes(api_factory: ApiFactory) -> None:
    one, other = await api_factory(), await api_factory()  # two processes on the same store
    url = await _link(one, "limited@example.org")
    replies: list[httpx.Response] = []
    for number in range(MAX_CHECKS):
        replies.append(await submit((one if number % 2 else other).client, url, url, _closed_port_fields()))
    for reply in replies[:-1]:
        assert reply.status_code == 422 and 'id="e-imap_host"' in reply.text
    assert f"{MAX_CHECKS - 1} more attempts with this link." in replies[0].text
    assert "1 more attempt with this link." in replies[-2].text
    last = replies[-1]
    assert last.status_code == 410 and "that was the last attempt this link allows" in last.text
    for client in (one.client, other.client):
        spent = await client.get(url)
        assert spent.status_code == 410 and "too many failed sign-in attempts" in spent.text
        assert 'name="password"' not in spent.text
    assert (await one.get("/v1/accounts")).json()["total"] == 0
