"""Dashboard pages of connected accounts: home, list, one account, add (with a live Test), edit, actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from mailyard.accounts.codec import incoming, merge
from mailyard.accounts.mailboxes import list_mailboxes
from mailyard.accounts.model import AccountUpdate
from mailyard.accounts.service import account_not_found
from mailyard.accounts.states import AccountState
from mailyard.errors import MailyardError
from mailyard.events.outbox_health import outbox_health
from mailyard.web.account_fields import (
    FormErrors,
    ServerForm,
    account_create,
    account_update,
    live_check,
    shown_values,
    view_values,
)
from mailyard.web.pages import checked_form, redirect, render
from mailyard.web.signin import Admin

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE_SIZE = 25


@router.get("")
async def home(request: Request, _: Admin) -> Response:
    runtime = request.app.state.runtime
    counts = await runtime.accounts.count_by_state()
    attention = await runtime.accounts.needing_attention()
    return render(request, "home.html", {
        "counts": counts, "total": sum(counts.values()), "states": [s.value for s in AccountState],
        "attention": attention, "outbox": await outbox_health(runtime.db),
    })


@router.get("/accounts")
async def accounts(request: Request, _: Admin, state: str = "", q: str = "", page: int = 0) -> Response:
    runtime = request.app.state.runtime
    states = [s.value for s in AccountState]
    chosen = state if state in states else None
    result = await runtime.accounts.list(state=chosen, query=q[:256] or None, page=max(page, 0),
                                         page_size=PAGE_SIZE, principal=None)

    def page_url(number: int) -> str:
        return "/dashboard/accounts?" + urlencode({"state": chosen or "", "q": q, "page": number})

    return render(request, "accounts.html", {
        "result": result, "states": states, "state": chosen or "", "q": q,
        "previous": page_url(result.page - 1) if result.page > 0 else None,
        "next": page_url(result.page + 1) if result.page + 1 < result.pages else None,
        "pages": max(result.pages, 1),
    })


@router.get("/accounts/states")
async def states(request: Request, _: Admin, ids: str = "") -> JSONResponse:
    """The live state of the accounts a page shows (polled by /static/live.js)."""
    runtime = request.app.state.runtime
    answer: dict[str, Any] = {}
    for account_id in [i for i in ids.split(",") if i][:100]:
        try:
            view = await runtime.accounts.get(account_id, None)
        except MailyardError:
            continue
        error = (view.last_error or {}).get("response") if view.state != AccountState.CONNECTED else None
        answer[account_id] = {"state": view.state, "lastError": error,
                              "syncTime": view.sync_time.isoformat() if view.sync_time else None}
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.get("/accounts/new")
async def new_account(request: Request, _: Admin) -> Response:
    return render(request, "account_form.html", {"form": ServerForm({"verify_tls": "on", "imap_port": "993",
                                                                     "imap_secure": "on", "smtp_port": "587"}),
                                                 "mode": "new"})


async def _test(request: Request, fields: dict[str, str],
                account_id: str | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    """Check the submitted settings live: (field errors, per-server outcome). For an existing account,
    empty password fields mean the stored passwords, as saving would."""
    runtime = request.app.state.runtime
    try:
        if account_id is None:
            body = account_create(fields, None)
            imap, smtp = (incoming(body.imap) if body.imap else None), (incoming(body.smtp) if body.smtp else None)
        else:
            update = account_update(fields)
            stored = await runtime.accounts.load_config(account_id)
            if stored is None:
                raise account_not_found()
            imap, smtp = merge(stored.imap, update.imap), merge(stored.smtp, update.smtp)
    except FormErrors as exc:
        return exc.errors, {}
    return await live_check(imap, smtp, runtime.net)


@router.post("/accounts/test")
async def test_settings(request: Request, _: Admin) -> JSONResponse:
    """The Test button of the add form: checks the settings live without saving anything."""
    errors, outcome = await _test(request, await checked_form(request))
    return JSONResponse({"errors": errors, "checks": outcome}, headers={"Cache-Control": "no-store"})


@router.post("/accounts/{account_id}/test")
async def test_account_settings(request: Request, account_id: str, _: Admin) -> JSONResponse:
    """The Test button of the edit form: the edited settings, with the stored passwords where none is typed."""
    await request.app.state.runtime.accounts.get(account_id, None)
    errors, outcome = await _test(request, await checked_form(request), account_id)
    return JSONResponse({"errors": errors, "checks": outcome}, headers={"Cache-Control": "no-store"})


@router.post("/accounts/new")
async def create_account(request: Request, _: Admin) -> Response:
    fields = await checked_form(request)
    form = ServerForm(shown_values(fields))
    if fields.get("action") == "test":
        form.errors, outcome = await _test(request, fields)
        return render(request, "account_form.html", {"form": form, "mode": "new", "checks": outcome})
    try:
        body = account_create(fields, fields.get("account", "").strip() or None)
        account_id, created = await request.app.state.runtime.accounts.upsert(body, None)
    except FormErrors as exc:
        form.errors = exc.errors
        return render(request, "account_form.html", {"form": form, "mode": "new"}, status=422)
    except MailyardError as exc:
        form.errors = {e.field.replace(".", "_"): e.message for e in exc.errors} or {"form": exc.message}
        return render(request, "account_form.html", {"form": form, "mode": "new"}, status=422)
    return redirect(f"/dashboard/accounts/{account_id}?notice={'added' if created else 'updated'}")


@router.get("/accounts/{account_id}")
async def account_page(request: Request, account_id: str, _: Admin, notice: str = "") -> Response:
    runtime = request.app.state.runtime
    view = await runtime.accounts.get(account_id, None)
    return render(request, "account.html", {
        "account": view, "folders": await list_mailboxes(runtime.db, account_id), "notice": notice,
        "settings": view_values(view),
    })


@router.get("/accounts/{account_id}/edit")
async def edit_page(request: Request, account_id: str, _: Admin) -> Response:
    view = await request.app.state.runtime.accounts.get(account_id, None)
    return render(request, "account_form.html", {"form": ServerForm(view_values(view)), "mode": "edit",
                                                 "account": view})


@router.post("/accounts/{account_id}/edit")
async def edit_account(request: Request, account_id: str, _: Admin) -> Response:
    runtime = request.app.state.runtime
    view = await runtime.accounts.get(account_id, None)
    fields = await checked_form(request)
    form = ServerForm(shown_values(fields))
    if fields.get("action") == "test":
        form.errors, outcome = await _test(request, fields, account_id)
        return render(request, "account_form.html", {"form": form, "mode": "edit", "account": view,
                                                     "checks": outcome})
    try:
        await runtime.accounts.update(account_id, account_update(fields), None)
    except FormErrors as exc:
        form.errors = exc.errors
        return render(request, "account_form.html", {"form": form, "mode": "edit", "account": view}, status=422)
    return redirect(f"/dashboard/accounts/{account_id}?notice=updated")


@router.post("/accounts/{account_id}/reconnect")
async def reconnect(request: Request, account_id: str, _: Admin) -> Response:
    await checked_form(request)
    await request.app.state.runtime.accounts.reconnect(account_id, None)
    return redirect(f"/dashboard/accounts/{account_id}?notice=reconnecting")


@router.post("/accounts/{account_id}/disable")
async def disable(request: Request, account_id: str, _: Admin) -> Response:
    return await _set_disabled(request, account_id, True)


@router.post("/accounts/{account_id}/enable")
async def enable(request: Request, account_id: str, _: Admin) -> Response:
    return await _set_disabled(request, account_id, False)


async def _set_disabled(request: Request, account_id: str, disabled: bool) -> Response:
    await checked_form(request)
    await request.app.state.runtime.accounts.update(account_id, AccountUpdate(disabled=disabled), None)
    return redirect(f"/dashboard/accounts/{account_id}?notice={'disabled' if disabled else 'enabled'}")


@router.get("/accounts/{account_id}/delete")
async def confirm_delete(request: Request, account_id: str, _: Admin) -> Response:
    view = await request.app.state.runtime.accounts.get(account_id, None)
    return render(request, "account_delete.html", {"account": view})


@router.post("/accounts/{account_id}/delete")
async def delete(request: Request, account_id: str, _: Admin) -> Response:
    await checked_form(request)
    await request.app.state.runtime.accounts.delete(account_id, None)
    return redirect("/dashboard/accounts?notice=deleted")

