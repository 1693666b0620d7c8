"""Account pages of the dashboard over HTTP: paging, filters, validation beside fields, edits that keep
the stored password, and secrets never on a page."""

from __future__ import annotations

import asyncio
import re
import time

from mailyard.events.outbox_health import outbox_health
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUserFactory
from tests.servers.ports import free_port
from tests.support.accounts import imap_body, smtp_body
from tests.support.app import Api
from tests.web.helpers import sign_in, submit


async def _create(api: Api, account: str, **extra: object) -> None:
    body = {"account": account, "name": f"Name {account}", "email": f"{account}@example.org",
            "imap": {"host": "127.0.0.1", "port": 9, "secure": False, "auth": {"user": account, "pass": "s3cret-pw"}},
            "disabled": True, **extra}
    reply = await api.post("/v1/account", json=body)
    assert reply.status_code == 200, reply.text


async def test_accounts_list_pages_filters_and_searches(api: Api) -> None:
    for number in range(30):
        await _create(api, f"acct{number:02d}")
    client = await sign_in(api)
    first = await client.get("/dashboard/accounts")
    assert "30 accounts · page 1 of 2" in first.text
    assert len(re.findall(r'href="/dashboard/accounts/acct\d\d"', first.text)) == 25
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = await client.get("/dashboard/accounts", params={"page": 1})
    assert len(re.findall(r'href="/dashboard/accounts/acct\d\d"', second.text)) == 5
    found = await client.get("/dashboard/accounts", params={"q": "acct07"})
    assert "1 account · page 1 of 1" in found.text
    by_state = await client.get("/dashboard/accounts", params={"state": "connected"})
    assert "0 accounts" in by_state.text and "No accounts match." in by_state.text


async def test_account_page_never_shows_the_password(api: Api) -> None:
    await _create(api, "quiet")
    client = await sign_in(api)
    for path in ("/dashboard/accounts/quiet", "/dashboard/accounts/quiet/edit", "/dashboard/accounts"):
        assert "s3cret-pw" not in (await client.get(path)).text, path


async def test_bad_settings_are_shown_beside_their_fields_and_nothing_is_created(api: Api) -> None:
    client = await sign_in(api)
    reply = await submit(client, "/dashboard/accounts/new", "/dashboard/accounts/new", {
        "email": "not-an-address", "password": "typed-password", "imap_host": "bad host!", "imap_port": "70000",
        "action": "save"})
    assert reply.status_code == 422
    for field in ("email", "imap_host", "imap_port"):
        assert f'id="e-{field}"' in reply.text, field
    assert "typed-password" not in reply.text
    assert (await api.get("/v1/accounts")).json()["total"] == 0


async def test_edit_with_empty_password_keeps_the_stored_one(api: Api) -> None:
    await _create(api, "keeper")
    client = await sign_in(api)
    reply = await submit(client, "/dashboard/accounts/keeper/edit", "/dashboard/accounts/keeper/edit", {
        "name": "Renamed", "email": "keeper@example.org", "password": "", "imap_host": "127.0.0.2",
        "imap_port": "10", "imap_user": "keeper", "action": "save"})
    assert reply.headers["location"] == "/dashboard/accounts/keeper?notice=updated"
    config = await api.runtime.accounts.load_config("keeper")
    assert config is not None
    assert config.imap["host"] == "127.0.0.2" and config.imap["port"] == 10
    assert config.imap["auth"] == {"user": "keeper", "pass": "s3cret-pw"}
    assert (await api.get("/v1/account/keeper")).json()["name"] == "Renamed"


async def test_delete_needs_the_confirmation_form(api: Api) -> None:
    await _create(api, "doomed")
    client = await sign_in(api)
    confirm = await client.get("/dashboard/accounts/doomed/delete")
    assert "Delete doomed?" in confirm.text
    assert (await api.get("/v1/account/doomed")).status_code == 200
    reply = await submit(client, "/dashboard/accounts/doomed/delete", "/dashboard/accounts/doomed/delete", {})
    assert reply.headers["location"] == "/dashboard/accounts?notice=deleted"
    assert (await api.get("/v1/account/doomed")).status_code == 404


async def test_live_states_answer_only_for_known_accounts(api: Api) -> None:
    await _create(api, "one")
    client = await sign_in(api)
    reply = await client.get("/dashboard/accounts/states", params={"ids": "one,missing"})
    assert reply.json() == {"one": {"state": "disconnected", "lastError": None, "syncTime": None}}
    client.cookies.clear()
    assert (await client.get("/dashboard/accounts/states", params={"ids": "one"},
                                 headers=api.auth())).status_code == 303  # a token is not a session


async def test_edit_form_test_uses_the_stored_password_unless_one_is_typed(
        api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    reply = await api.post("/v1/account", json={"account": "tested", "email": user.email, "disabled": True,
                                                "imap": imap_body(dovecot, user), "smtp": smtp_body(dovecot, user)})
    assert reply.status_code == 200, reply.text
    client = await sign_in(api)
    fields = {"email": user.email, "imap_host": "localhost", "imap_port": str(dovecot.ports.imaps),
              "imap_secure": "on", "imap_user": user.username, "smtp_host": "localhost",
              "smtp_port": str(dovecot.ports.submission), "smtp_user": user.username, "verify_tls": "on"}
    kept = await submit(client, "/dashboard/accounts/tested/edit", "/dashboard/accounts/tested/test",
                        {**fields, "password": ""})
    assert kept.json() == {"errors": {}, "checks": {"imap": {"success": True, "error": None},
                                                   "smtp": {"success": True, "error": None}}}
    typed = await submit(client, "/dashboard/accounts/tested/edit", "/dashboard/accounts/tested/test",
                         {**fields, "password": "not-the-password"})
    answer = typed.json()
    assert answer["checks"]["imap"]["success"] is False
    assert "IMAP check failed" in answer["errors"]["password"]
    config = await api.runtime.accounts.load_config("tested")
    assert config is not None and config.imap["auth"]["pass"] == user.password  # testing saved nothing


async def test_home_shows_outbox_depth_and_the_failing_delivery(api: Api) -> None:
    closed = free_port()  # nothing listens there: every delivery fails with a connection error
    reply = await api.post("/v1/settings", json={"webhooksEnabled": True, "webhooks": f"http://127.0.0.1:{closed}/"})
    assert reply.status_code == 200, reply.text
    await _create(api, "noisy")
    client = await sign_in(api)
    deadline = time.monotonic() + 15
    while True:
        health = await outbox_health(api.runtime.db)
        if health.retrying or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert health.retrying >= 1
    home = await client.get("/dashboard")
    assert re.search(r'id="outbox-pending">\s*[1-9]', home.text)
    assert re.search(r'id="outbox-retrying">\s*[1-9]', home.text)
    assert "Failing deliveries" in home.text and "accountAdded" in home.text and "noisy" in home.text
