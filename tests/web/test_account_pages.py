"""Account pages of the dashboard over HTTP: paging (and its bounds), the state filter, search, actions
(reconnect, delete after confirmation), the JSON the pages poll, and secrets never on a page."""

from __future__ import annotations

import asyncio
import html
import re
import time

import pytest

from mailyard.events.outbox_health import outbox_health
from mailyard.web.pages import account_url
from tests.servers.ports import free_port
from tests.support.app import Api
from tests.web.helpers import create_account, sign_in, submit

_ACCOUNT_LINK = re.compile(r'href="/dashboard/account\?id=(acct\d\d)"')


async def test_accounts_list_pages_filters_and_searches(api: Api) -> None:
    for number in range(30):
        await create_account(api, f"acct{number:02d}")
    client = await sign_in(api)
    first = await client.get("/dashboard/accounts")
    assert "30 accounts · page 1 of 2" in first.text
    assert len(_ACCOUNT_LINK.findall(first.text)) == 25
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = await client.get("/dashboard/accounts", params={"page": 1})
    assert _ACCOUNT_LINK.findall(second.text) == [f"acct{n}" for n in range(25, 30)]
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    found = await client.get("/dashboard/accounts", params={"q": "acct07"})
    assert "1 account · page 1 of 1" in found.text and _ACCOUNT_LINK.findall(found.text) == ["acct07"]


async def test_the_state_filter_shows_the_accounts_in_that_state_and_only_them(api: Api) -> None:
    for name in ("idle1", "idle2"):
        await create_account(api, name)  # disabled: disconnected
    closed = free_port()  # nothing listens there: the engine ends in connectError
    await create_account(api, "broken", disabled=False,
                         imap={"host": "127.0.0.1", "port": closed, "secure": False,
                               "auth": {"user": "u", "pass": "s3cret-pw"}})
    await api.wait_state("broken", "connectError")
    client = await sign_in(api)
    links = re.compile(r'href="/dashboard/account\?id=(\w+)"')
    failing = await client.get("/dashboard/accounts", params={"state": "connectError"})
    assert "1 account · page 1 of 1" in failing.text and links.findall(failing.text) == ["broken"]
    assert '<option value="connectError" selected>' in failing.text
    idle = await client.get("/dashboard/accounts", params={"state": "disconnected"})
    assert links.findall(idle.text) == ["idle1", "idle2"]
    none = await client.get("/dashboard/accounts", params={"state": "connected"})
    assert "0 accounts" in none.text and "No accounts match." in none.text
    # Paging links keep the filter.
    for number in range(26):
        await create_account(api, f"more{number:02d}")
    many = await client.get("/dashboard/accounts", params={"state": "disconnected"})
    assert 'href="/dashboard/accounts?state=disconnected&amp;page=1" rel="next"' in many.text


@pytest.mark.parametrize("page", ["99999999999999999999", "1000001", "-1", "two", "1e3"])
async def test_a_page_number_out_of_bounds_is_refused_with_a_4xx(api: Api, page: str) -> None:
    client = await sign_in(api)
    for path in ("/dashboard/accounts", "/dashboard/domains"):
        reply = await client.get(path, params={"page": page})
        assert reply.status_code == 400, (path, reply.status_code)
        assert reply.headers["content-type"].startswith("text/html") and '"page"' in html.unescape(reply.text)


async def test_a_page_past_the_end_is_empty_and_leads_back(api: Api) -> None:
    await create_account(api, "alone")
    client = await sign_in(api)
    reply = await client.get("/dashboard/accounts", params={"page": 1_000_000})
    assert reply.status_code == 200 and "No accounts match." in reply.text
    assert 'href="/dashboard/accounts?page=0" rel="prev"' in reply.text


async def test_account_pages_never_show_the_password(api: Api) -> None:
    await create_account(api, "quiet")
    client = await sign_in(api)
    for path in (account_url("quiet"), account_url("quiet", "edit"), account_url("quiet", "delete"),
                 "/dashboard/accounts", "/dashboard"):
        reply = await client.get(path)
        assert reply.status_code == 200 and "s3cret-pw" not in reply.text, path
    states = await client.get("/dashboard/accounts/states", params={"id": "quiet"})
    overview = await client.get("/dashboard/overview")
    assert "s3cret-pw" not in states.text + overview.text


async def test_delete_needs_the_confirmation_form(api: Api) -> None:
    await create_account(api, "doomed")
    client = await sign_in(api)
    confirm = await client.get(account_url("doomed", "delete"))
    assert "Delete doomed?" in confirm.text
    assert (await api.get("/v1/account/doomed")).status_code == 200
    reply = await submit(client, account_url("doomed", "delete"), account_url("doomed", "delete"), {})
    assert reply.headers["location"] == "/dashboard/accounts?notice=deleted"
    assert (await api.get("/v1/account/doomed")).status_code == 404


async def test_reconnect_restarts_the_connection(api: Api) -> None:
    closed = free_port()
    await create_account(api, "again", disabled=False,
                         imap={"host": "127.0.0.1", "port": closed, "secure": False,
                               "auth": {"user": "u", "pass": "s3cret-pw"}})
    await api.wait_state("again", "connectError")
    before = await api.runtime.accounts.load_config("again")
    assert before is not None
    client = await sign_in(api)
    reply = await submit(client, account_url("again"), account_url("again", "reconnect"), {})
    assert reply.status_code == 303 and reply.headers["location"] == account_url("again", notice="reconnecting")
    after = await api.runtime.accounts.load_config("again")
    assert after is not None and after.generation == before.generation + 1  # the engine starts it afresh
    page = await client.get(reply.headers["location"])
    assert "Reconnecting." in page.text
    missing = await submit(client, account_url("again"), account_url("nobody", "reconnect"), {})
    assert missing.status_code == 404


async def test_live_states_answer_only_for_known_accounts(api: Api) -> None:
    await create_account(api, "one")
    client = await sign_in(api)
    reply = await client.get("/dashboard/accounts/states", params={"id": ["one", "missing"]})
    assert reply.json() == {"one": {"state": "disconnected", "lastError": None, "syncTime": None}}
    client.cookies.clear()
    assert (await client.get("/dashboard/accounts/states", params={"id": "one"},
                             headers=api.auth())).status_code == 303  # a token is not a session


async def test_the_overview_answers_what_the_home_page_shows(api: Api) -> None:
    await create_account(api, "calm")
    closed = free_port()
    await create_account(api, "failing", disabled=False,
                         imap={"host": "127.0.0.1", "port": closed, "secure": False,
                               "auth": {"user": "u", "pass": "s3cret-pw"}})
    await api.wait_state("failing", "connectError")
    client = await sign_in(api)
    overview = (await client.get("/dashboard/overview")).json()
    assert overview["total"] == 2 and overview["counts"]["disconnected"] == 1
    assert overview["counts"]["connectError"] + overview["counts"]["connecting"] == 1  # it keeps retrying
    [item] = overview["attention"]
    assert item["id"] == "failing" and item["url"] == account_url("failing") and item["lastError"]
    assert set(overview["outbox"]) == {"pending", "retrying", "failed"}


async def test_home_shows_outbox_depth_and_the_failing_delivery(api: Api) -> None:
    closed = free_port()  # nothing listens there: every delivery fails with a connection error
    reply = await api.post("/v1/settings", json={"webhooksEnabled": True, "webhooks": f"http://127.0.0.1:{closed}/"})
    assert reply.status_code == 200, reply.text
    await create_account(api, "noisy")
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
