"""Dashboard pages of the hosted side: domains with their DNS records, mailboxes with quota usage, and the
operator's actions on them (verify, add a domain or mailbox, reset a password, disable or enable)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mailyard.errors import MailyardError
from mailyard.web.pages import checked_form, redirect, render
from mailyard.web.signin import Admin

router = APIRouter(prefix="/dashboard", include_in_schema=False)
MAILBOX_PAGE = 200


def _field_errors(exc: MailyardError) -> dict[str, str]:
    return {e.field: e.message for e in exc.errors} or {"form": exc.message}


@router.get("/domains")
async def domains(request: Request, _: Admin, notice: str = "") -> Response:
    return await _domains_page(request, notice=notice)


async def _domains_page(request: Request, *, notice: str = "", form: dict[str, str] | None = None,
                        errors: dict[str, str] | None = None, status: int = 200) -> Response:
    views = await request.app.state.runtime.domains.list_all(limit=500, offset=0)
    return render(request, "domains.html", {"domains": views, "notice": notice, "values": form or {},
                                            "errors": errors or {}}, status=status)


@router.post("/domains")
async def add_domain(request: Request, _: Admin) -> Response:
    fields = await checked_form(request)
    body = {"domain": fields.get("domain", "").strip(), "user_id": fields.get("user_id", "").strip()}
    try:
        view = await request.app.state.runtime.domains.create(None, body)
    except MailyardError as exc:
        return await _domains_page(request, form=body, errors=_field_errors(exc), status=422)
    return redirect(f"/dashboard/domains/{view.domain}?notice=added")


async def _domain_page(request: Request, name: str, *, notice: str = "", context: dict[str, Any] | None = None,
                       status: int = 200) -> Response:
    runtime = request.app.state.runtime
    owner = await runtime.domains.owner(name)
    view = await runtime.domains.info(None, name, owner)
    page = await runtime.mailboxes.list(None, owner, domain=view.domain, limit=MAILBOX_PAGE, offset=0)
    checks = {check["kind"]: check for check in view.checks or []}
    values: dict[str, Any] = {"domain": view, "checks": checks, "mailboxes": page.items, "total": page.total,
                              "notice": notice, "values": {}, "errors": {}}
    values.update(context or {})
    return render(request, "domain.html", values, status=status)


@router.get("/domains/{name}")
async def domain(request: Request, name: str, _: Admin, notice: str = "") -> Response:
    return await _domain_page(request, name, notice=notice)


@router.post("/domains/{name}/verify")
async def verify_domain(request: Request, name: str, _: Admin) -> Response:
    await checked_form(request)
    runtime = request.app.state.runtime
    result = await runtime.domains.verify(None, name, await runtime.domains.owner(name))
    return redirect(f"/dashboard/domains/{result.domain.domain}?notice={'verified' if result.verified else 'checked'}")


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
        return await _domain_page(request, name, context={"values": shown, "errors": _field_errors(exc)},
                                  status=422)
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
    return redirect(f"/dashboard/domains/{view.domain}?notice={status}")
