"""Dashboard pages of the hosted side: domains with their DNS records, mailboxes with quota usage, and the
operator's actions on them (verify, add a domain or mailbox, reset a password, disable or enable).

Both lists come in pages (`?page=`, as the accounts list). A refused form shows each error beside its field,
and an error about anything the form does not show (such as the domain not being active) at its top.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from mailyard.errors import MailyardError
from mailyard.hosting.records import HostedDomainRecord
from mailyard.web.form_errors import from_error
from mailyard.web.pages import checked_form, domain_url, redirect, render
from mailyard.web.paging import PageNumber, pager
from mailyard.web.signin import Admin

router = APIRouter(prefix="/dashboard", include_in_schema=False)
DOMAIN_PAGE = 50
MAILBOX_PAGE = 50
DOMAIN_FORM_FIELDS = ("domain", "user_id")
MAILBOX_FORM_FIELDS = ("local_part", "display_name", "password", "password_confirmation")


@router.get("/domains")
async def domains(request: Request, _: Admin, page: PageNumber = 0, notice: str = "") -> Response:
    return await _domains_page(request, page, notice=notice)


async def _domains_page(request: Request, page: int = 0, *, notice: str = "", form: dict[str, str] | None = None,
                        errors: dict[str, str] | None = None, status: int = 200) -> Response:
    runtime = request.app.state.runtime
    total = await runtime.db.read_scalar(select(func.count()).select_from(HostedDomainRecord)) or 0
    views = await runtime.domains.list_all(limit=DOMAIN_PAGE, offset=page * DOMAIN_PAGE)
    return render(request, "domains.html", {
        "domains": views, "total": total, "pager": pager("/dashboard/domains", {}, page, total, DOMAIN_PAGE),
        "notice": notice, "values": form or {}, "errors": errors or {}}, status=status)


@router.post("/domains")
async def add_domain(request: Request, _: Admin) -> Response:
    fields = await checked_form(request)
    body = {"domain": fields.get("domain", "").strip(), "user_id": fields.get("user_id", "").strip()}
    try:
        view = await request.app.state.runtime.domains.create(None, body)
    except MailyardError as exc:
        return await _domains_page(request, form=body, errors=from_error(exc, DOMAIN_FORM_FIELDS), status=422)
    return redirect(domain_url(view.domain, notice="added"))


async def _domain_page(request: Request, name: str, page: int = 0, *, notice: str = "",
                       context: dict[str, Any] | None = None, status: int = 200) -> Response:
    runtime = request.app.state.runtime
    owner = await runtime.domains.owner(name)
    view = await runtime.domains.info(None, name, owner)
    mailboxes = await runtime.mailboxes.list(None, owner, domain=view.domain, limit=MAILBOX_PAGE,
                                             offset=page * MAILBOX_PAGE)
    checks = {check["kind"]: check for check in view.checks or []}
    values: dict[str, Any] = {
        "domain": view, "checks": checks, "mailboxes": mailboxes.items, "total": mailboxes.total,
        "pager": pager(domain_url(view.domain), {}, page, mailboxes.total, MAILBOX_PAGE),
        "notice": notice, "values": {}, "errors": {}
    }
    values.update(context or {})
    return render(request, "domain.html", values, status=status)


@router.get("/domains/{name}")
async def domain(request: Request, name: str, _: Admin, page: PageNumber = 0, notice: str = "") -> Response:
    return await _domain_page(request, name, page, notice=notice)


@router.post("/domains/{name}/verify")
async def verify_domain(request: Request, name: str, _: Admin) -> Response:
    await checked_form(request)
    runtime = request.app.state.runtime
    result = await runtime.domains.verify(None, name, await runtime.domains.owner(name))
    return redirect(domain_url(result.domain.domain, notice="verified" if result.verified else "checked"))


@router.post("/domains/{name}/mailboxes")
async def create_mailbox(request: Request, name: str, _: Admin) -> Response:
    fields = await checked_form(request)
    runtime = request.app.state.runtime
    owner = await runtime.domains.owner(name)
    body: dict[str, Any] = {"user_id": owner, "domain": name, "local_part": fields.get("local_part", "").strip()}
    if fields.get("display_name", "").strip():
        body["display_name"] = fields["display_name"].strip()
    if fields.get("password"):
        body["password"] = fields["password"]
        body["password_confirmation"] = fields.get("password_confirmation", "")
    try:
        created = await runtime.mailboxes.create(None, body)
    except MailyardError as exc:
        shown = {k: v for k, v in body.items() if not k.startswith("password")}
        return await _domain_page(request, name, context={
            "values": shown, "errors": from_error(exc, MAILBOX_FORM_FIELDS)}, status=422)
    # Shown on this response only: reloading does not show it again, and it is stored only as a hash.
    return render(request, "mailbox_password.html", {"mailbox": created.mailbox, "password": created.password.plain,
                                                     "created": True})


@router.post("/mailboxes/{mailbox_id}/reset")
async def reset_password(request: Request, mailbox_id: str, _: Admin) -> Response:
    await checked_form(request)
    runtime = request.app.state.runtime
    owner = await runtime.mailboxes.owner(mailbox_id)
    reset = await runtime.mailboxes.reset_password(None, mailbox_id, {"user_id": owner})
    return render(request, "mailbox_password.html", {"mailbox": reset.mailbox, "password": reset.password.plain,
                                                     "created": False})


@router.post("/mailboxes/{mailbox_id}/status")
async def set_status(request: Request, mailbox_id: str, _: Admin) -> Response:
    fields = await checked_form(request)
    runtime = request.app.state.runtime
    owner = await runtime.mailboxes.owner(mailbox_id)
    status = "disabled" if fields.get("status") == "disabled" else "active"
    view = await runtime.mailboxes.update(None, mailbox_id, {"user_id": owner, "status": status})
    return redirect(domain_url(view.domain, notice=status))
