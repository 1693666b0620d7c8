"""Dashboard pages of connected accounts: home, the list, one account and its actions (reconnect,
disable/enable, delete), and the JSON the pages poll for live updates. The add and edit forms are in
`account_forms`.

An account's pages take its id as the `id` query parameter (see `pages.account_url`), so every id is
reachable: `..`, `new` or `states` as a path segment would be resolved away or collide with a route.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from mailyard.accounts.config import AccountSummary
from mailyard.accounts.mailboxes import list_mailboxes
from mailyard.accounts.model import ACCOUNT_ID_MAX, AccountUpdate
from mailyard.accounts.states import AccountState
from mailyard.errors import MailyardError
from mailyard.events.outbox_health import outbox_health
from mailyard.web.account_fields import view_values
from mailyard.web.pages import account_url, checked_form, redirect, render
from mailyard.web.paging import PageNumber, pager
from mailyard.web.signin import Admin

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE_SIZE = 25
MAX_LIVE_IDS = 100
AccountId = Annotated[str, Query(alias="id", min_length=1, max_length=ACCOUNT_ID_MAX)]
_NO_STORE = {"Cache-Control": "no-store"}


def _shown_error(state: str, last_error: dict[str, Any] | None) -> str | None:
    # A connected account's last error is history: the pages show it only while it still applies.
    return (last_error or {}).get("response") if state != AccountState.CONNECTED else None


@router.get("")
async def home(request: Request, _: Admin) -> Response:
    runtime = request.app.state.runtime
    counts = await runtime.accounts.count_by_state()
    attention = await runtime.accounts.needing_attention()
    return render(request, "home.html", {
        "counts": counts, "total": sum(counts.values()), "states": [s.value for s in AccountState],
        "attention": attention, "outbox": await outbox_health(runtime.db),
    })


def _attention_item(account: AccountSummary) -> dict[str, Any]:
    return {"id": account.id, "email": account.email, "state": account.state, "url": account_url(account.id),
            "lastError": (account.last_error or {}).get("response")}


@router.get("/overview")
async def overview(request: Request, _: Admin) -> JSONResponse:
    """What the home page shows, for /static/live.js to redraw it without a reload."""
    runtime = request.app.state.runtime
    counts = await runtime.accounts.count_by_state()
    outbox = await outbox_health(runtime.db, limit=0)
    return JSONResponse({
        "total": sum(counts.values()), "counts": {s.value: counts.get(s.value, 0) for s in AccountState},
        "attention": [_attention_item(a) for a in await runtime.accounts.needing_attention()],
        "outbox": {"pending": outbox.pending, "retrying": outbox.retrying, "failed": outbox.failed},
    }, headers=_NO_STORE)


@router.get("/accounts")
async def accounts(request: Request, _: Admin, page: PageNumber = 0, state: str = "", q: str = "") -> Response:
    runtime = request.app.state.runtime
    states = [s.value for s in AccountState]
    chosen = state if state in states else None
    query = q[:256]
    result = await runtime.accounts.list(state=chosen, query=query or None, page=page, page_size=PAGE_SIZE,
                                         principal=None)
    return render(request, "accounts.html", {
        "result": result, "states": states, "state": chosen or "", "q": query,
        "pager": pager("/dashboard/accounts", {"state": chosen or "", "q": query}, page, result.total, PAGE_SIZE),
    })


@router.get("/accounts/states")
async def states(request: Request, _: Admin,
                 ids: Annotated[list[str] | None, Query(alias="id", max_length=MAX_LIVE_IDS)] = None) -> JSONResponse:
    """The live state of the accounts a page shows (polled by /static/live.js), one `id` parameter each
    (a list in one parameter could not hold ids with its separator in them)."""
    runtime = request.app.state.runtime
    answer: dict[str, Any] = {}
    for account_id in dict.fromkeys(i for i in ids or [] if i):
        try:
            view = await runtime.accounts.get(account_id, None)
        except MailyardError:
            continue
        answer[account_id] = {"state": view.state, "lastError": _shown_error(view.state, view.last_error),
                              "syncTime": view.sync_time.isoformat() if view.sync_time else None}
    return JSONResponse(answer, headers=_NO_STORE)


@router.get("/account")
async def account_page(request: Request, account_id: AccountId, _: Admin, notice: str = "") -> Response:
    runtime = request.app.state.runtime
    view = await runtime.accounts.get(account_id, None)
    return render(request, "account.html", {
        "account": view, "folders": await list_mailboxes(runtime.db, account_id), "notice": notice,
        "settings": view_values(view), "last_error": _shown_error(view.state, view.last_error),
    })


@router.post("/account/reconnect")
async def reconnect(request: Request, account_id: AccountId, _: Admin) -> Response:
    await checked_form(request)
    await request.app.state.runtime.accounts.reconnect(account_id, None)
    return redirect(account_url(account_id, notice="reconnecting"))


@router.post("/account/disable")
async def disable(request: Request, account_id: AccountId, _: Admin) -> Response:
    return await _set_disabled(request, account_id, True)


@router.post("/account/enable")
async def enable(request: Request, account_id: AccountId, _: Admin) -> Response:
    return await _set_disabled(request, account_id, False)


async def _set_disabled(request: Request, account_id: str, disabled: bool) -> Response:
    await checked_form(request)
    await request.app.state.runtime.accounts.update(account_id, AccountUpdate(disabled=disabled), None)
    return redirect(account_url(account_id, notice="disabled" if disabled else "enabled"))


@router.get("/account/delete")
async def confirm_delete(request: Request, account_id: AccountId, _: Admin) -> Response:
    view = await request.app.state.runtime.accounts.get(account_id, None)
    return render(request, "account_delete.html", {"account": view})


@router.post("/account/delete")
async def delete(request: Request, account_id: AccountId, _: Admin) -> Response:
    await checked_form(request)
    await request.app.state.runtime.accounts.delete(account_id, None)
    return redirect("/dashboard/accounts?notice=deleted")
