"""The dashboard's add and edit forms of a connected account, each with a **Test** button that runs the live
verification (as `/v1/verifyAccount`) without saving anything.

Test works without JavaScript (the form posts `action=test` and the page comes back with the results) and
with it (/static/live.js posts the same fields to the `.../test` route and shows the answer in place).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from mailyard.accounts.codec import incoming, merge
from mailyard.accounts.config import AccountConfig
from mailyard.accounts.service import account_not_found
from mailyard.errors import ErrorKind, MailyardError
from mailyard.web.account_fields import (
    ADD_FORM_FIELDS,
    EDIT_FORM_FIELDS,
    FormErrors,
    ServerForm,
    account_create,
    account_update,
    live_check,
    shown_values,
    view_values,
)
from mailyard.web.account_pages import AccountId
from mailyard.web.form_errors import from_error, place
from mailyard.web.pages import account_url, checked_form, redirect, render
from mailyard.web.signin import Admin

router = APIRouter(prefix="/dashboard", include_in_schema=False)
_NEW_DEFAULTS = {"verify_tls": "on", "imap_port": "993", "imap_secure": "on", "smtp_port": "587"}


async def _stored(request: Request, account_id: str) -> AccountConfig:
    """The account's saved settings, secrets included: they fill the password fields left empty."""
    stored = await request.app.state.runtime.accounts.load_config(account_id)
    if stored is None:
        raise account_not_found()
    return stored


async def _test(request: Request, fields: dict[str, str],
                stored: AccountConfig | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    """Check the submitted settings live: (field errors, per-server outcome). For an existing account
    (`stored`), the settings are those saving would produce: empty password fields mean the stored ones."""
    visible = ADD_FORM_FIELDS if stored is None else EDIT_FORM_FIELDS
    try:
        if stored is None:
            body = account_create(fields, None)
            imap, smtp = (incoming(body.imap) if body.imap else None), (incoming(body.smtp) if body.smtp else None)
        else:
            update = account_update(fields, stored)
            imap, smtp = merge(stored.imap, update.imap), merge(stored.smtp, update.smtp)
    except FormErrors as exc:
        return place(exc.errors, visible), {}
    errors, outcome = await live_check(imap, smtp, request.app.state.runtime.net)
    return place(errors, visible), outcome


def _test_answer(errors: dict[str, str], outcome: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"errors": errors, "checks": outcome}, headers={"Cache-Control": "no-store"})


@router.get("/accounts/new")
async def new_account(request: Request, _: Admin) -> Response:
    return render(request, "account_form.html", {"form": ServerForm(dict(_NEW_DEFAULTS)), "mode": "new"})


@router.post("/accounts/test")
async def test_settings(request: Request, _: Admin) -> JSONResponse:
    """The Test button of the add form: checks the settings live without saving anything."""
    return _test_answer(*await _test(request, await checked_form(request)))


@router.post("/accounts/new")
async def create_account(request: Request, _: Admin) -> Response:
    fields = await checked_form(request)
    form = ServerForm(shown_values(fields))
    if fields.get("action") == "test":
        form.errors, outcome = await _test(request, fields)
        return render(request, "account_form.html", {"form": form, "mode": "new", "checks": outcome})
    try:
        body = account_create(fields, fields.get("account", "").strip() or None)
        # Adding never replaces: an id already in use is refused in the same transaction as the insert.
        account_id, _created = await request.app.state.runtime.accounts.upsert(body, None, only_new=True)
    except FormErrors as exc:
        form.errors = place(exc.errors, ADD_FORM_FIELDS)
        return render(request, "account_form.html", {"form": form, "mode": "new"}, status=422)
    except MailyardError as exc:
        if exc.code == "AccountIdInUse":
            form.errors = {"account": "is already the id of another account: choose another one"}
            return render(request, "account_form.html", {"form": form, "mode": "new"}, status=409)
        if exc.kind != ErrorKind.VALIDATION:
            raise
        form.errors = from_error(exc, ADD_FORM_FIELDS)
        return render(request, "account_form.html", {"form": form, "mode": "new"}, status=422)
    return redirect(account_url(account_id, notice="added"))


@router.get("/account/edit")
async def edit_page(request: Request, account_id: AccountId, _: Admin) -> Response:
    view = await request.app.state.runtime.accounts.get(account_id, None)
    return render(request, "account_form.html", {"form": ServerForm(view_values(view)), "mode": "edit",
                                                 "account": view})


@router.post("/account/test")
async def test_account_settings(request: Request, account_id: AccountId, _: Admin) -> JSONResponse:
    """The Test button of the edit form: the edited settings, with the stored passwords where none is typed."""
    fields = await checked_form(request)
    return _test_answer(*await _test(request, fields, await _stored(request, account_id)))


@router.post("/account/edit")
async def edit_account(request: Request, account_id: AccountId, _: Admin) -> Response:
    runtime = request.app.state.runtime
    fields = await checked_form(request)
    view = await runtime.accounts.get(account_id, None)
    stored = await _stored(request, account_id)
    form = ServerForm(shown_values(fields))
    if fields.get("action") == "test":
        form.errors, outcome = await _test(request, fields, stored)
        return render(request, "account_form.html", {"form": form, "mode": "edit", "account": view,
                                                     "checks": outcome})
    try:
        await runtime.accounts.update(account_id, account_update(fields, stored), None)
    except FormErrors as exc:
        form.errors = place(exc.errors, EDIT_FORM_FIELDS)
        return render(request, "account_form.html", {"form": form, "mode": "edit", "account": view}, status=422)
    except MailyardError as exc:
        if exc.kind != ErrorKind.VALIDATION:
            raise
        form.errors = from_error(exc, EDIT_FORM_FIELDS)
        return render(request, "account_form.html", {"form": form, "mode": "edit", "account": view}, status=422)
    return redirect(account_url(account_id, notice="updated"))
