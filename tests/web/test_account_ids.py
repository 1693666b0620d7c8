"""Every account id is reachable from the dashboard, including ids that look like routes (`new`, `states`),
dot segments a browser resolves away (`.`, `..`, even percent-encoded) and ids full of URL syntax."""

from __future__ import annotations

import html

from playwright.async_api import Page, expect

from mailyard.web.pages import account_url
from tests.support.app import Api
from tests.support.live import LiveApp
from tests.web.browser import signed_in
from tests.web.helpers import create_account, sign_in, submit

AWKWARD = ["new", "states", "test", ".", "..", "...", "%2e%2e", "a b?c=d&e#f", "back\\slash", "ünïcode+plus", "one,two"]


async def test_each_awkward_id_has_its_own_pages_over_http(api: Api) -> None:
    for account in AWKWARD:
        await create_account(api, account, email="awkward@example.org")
    client = await sign_in(api)
    listed = html.unescape((await client.get("/dashboard/accounts", params={"q": ""})).text)
    for account in AWKWARD:
        assert f'href="{account_url(account)}"' in listed, account
        page = await client.get(account_url(account))
        assert page.status_code == 200, account
        assert f"<dt>Account id</dt><dd>{html.escape(account)}</dd>" in page.text, account
        edit = account_url(account, "edit")
        saved = await submit(client, edit, edit, {"name": f"Edited {account}", "email": "x@example.org",
                                                  "imap_host": "127.0.0.1", "imap_port": "9", "action": "save"})
        assert saved.headers["location"] == account_url(account, notice="updated"), account
        assert (await api.runtime.accounts.get(account, None)).name == f"Edited {account}"
    # The routes the ids look like still do their own job.
    assert "Add an account" in (await client.get("/dashboard/accounts/new")).text
    live = await client.get("/dashboard/accounts/states", params={"id": ["new", "one,two", ".."]})
    assert set(live.json()) == {"new", "one,two", ".."}
    gone = await submit(client, account_url(".."), account_url("..", "delete"), {})
    assert gone.status_code == 303
    assert (await api.get("/v1/accounts")).json()["total"] == len(AWKWARD) - 1
    assert (await api.runtime.accounts.load_config(".")) is not None  # deleting `..` touched only `..`


async def test_a_browser_reaches_each_awkward_id_from_the_list(page: Page, live_app: LiveApp) -> None:
    api = live_app.as_api()
    for account in AWKWARD:
        await create_account(api, account, email="awkward@example.org")
    await signed_in(page, live_app)
    for account in AWKWARD:
        await page.goto(f"{live_app.url}/dashboard/accounts")
        await page.locator("table.accounts").get_by_role("link", name=account, exact=True).click()
        facts = page.locator("dl.facts").first
        await expect(facts.locator("dt:text-is('Account id') + dd")).to_have_text(account)
        await page.get_by_role("link", name="Edit").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit {account}")
