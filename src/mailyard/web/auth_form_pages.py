"""The hosted authentication form: the page a signed link opens, where a person connects their mailbox.

The link (see `mailyard.accounts.auth_form`) is checked on showing the page and again on submitting it.
The login is verified live before anything is stored; only then is the link claimed (it works once) and
the account created or updated, and the browser sent on to `redirectUrl?account=…&state=new|existing`.
Each link runs a limited number of login checks (`MAX_CHECKS`); after the last one fails, it is spent.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mailyard.accounts.auth_form import FORM_PATH, MAX_CHECKS, FormRequest, LinkError, redirect_target
from mailyard.accounts.autoconfig import detect
from mailyard.accounts.codec import incoming
from mailyard.engine.net import make_resolver
from mailyard.errors import MailyardError
from mailyard.security.tokens import Principal
from mailyard.web.account_fields import (
    HOSTED_FORM_FIELDS,
    FormErrors,
    ServerForm,
    account_create,
    detected_values,
    live_check,
    shown_values,
)
from mailyard.web.form_errors import TOP, place
from mailyard.web.pages import checked_form, redirect, render

router = APIRouter(include_in_schema=False)


def _link_error(request: Request, error: LinkError) -> Response:
    return render(request, "link_error.html", {"message": str(error)}, status=410)


def _page(request: Request, link: FormRequest, form: ServerForm, checks_left: int, *,
          status: int = 200) -> Response:
    form.errors = place(form.errors, HOSTED_FORM_FIELDS)
    return render(request, "auth_form.html", {
        "link": link, "form": form, "query": request.url.query,
        "advanced_open": any(k not in {"password", "email", TOP} for k in form.errors),
        # Said only once the link has been used for a check: a fresh link needs no warning.
        "checks_left": checks_left if checks_left < MAX_CHECKS else None,
    }, status=status)


@router.get(FORM_PATH)
async def form_page(request: Request, data: str | None = None, sig: str | None = None) -> Response:
    runtime = request.app.state.runtime
    try:
        link = await runtime.form_links.open(data, sig)
    except LinkError as exc:
        return _link_error(request, exc)
    values = {"email": link.email or "", "name": link.name or "", "verify_tls": "on"}
    if link.email:
        detected = await detect(link.email, make_resolver(runtime.settings.dns_resolver))
        values.update(detected_values(detected, link.email))
    return _page(request, link, ServerForm(values), await runtime.form_links.checks_left(link))


@router.post(FORM_PATH)
async def submit_form(request: Request, data: str | None = None, sig: str | None = None) -> Response:
    runtime = request.app.state.runtime
    fields = await checked_form(request)
    try:
        link = await runtime.form_links.open(data, sig)
    except LinkError as exc:
        return _link_error(request, exc)
    if link.email:
        fields["email"] = link.email  # the link fixes the address; the form cannot change it
    if link.name:
        fields["name"] = link.name
    if not fields.get("imap_host", "").strip() and "@" in fields.get("email", ""):
        # No settings given (a link without an email shows none): detect them from the address typed in.
        try:
            detected = await detect(fields["email"].strip(), make_resolver(runtime.settings.dns_resolver))
        except ValueError:
            pass
        else:
            fields = {**fields, **detected_values(detected, fields["email"].strip())}
    form = ServerForm(shown_values(fields))
    try:
        body = account_create(fields, link.account)
    except FormErrors as exc:
        form.errors = exc.errors
        return _page(request, link, form, await runtime.form_links.checks_left(link), status=422)
    try:
        left = await runtime.form_links.count_check(link)
    except LinkError as exc:
        return _link_error(request, exc)
    form.errors, _ = await live_check(incoming(body.imap) if body.imap else None,
                                      incoming(body.smtp) if body.smtp else None, runtime.net)
    if form.errors:
        if left <= 0:
            return _link_error(request, LinkError(
                "The login failed, and that was the last attempt this link allows: it no longer works. "
                "Ask for a new one."))
        return _page(request, link, form, left, status=422)
    try:
        await runtime.form_links.claim(link)
    except LinkError as exc:
        return _link_error(request, exc)
    principal = Principal("form-link", frozenset(), link.tenant, ()) if link.tenant else None
    try:
        account_id, created = await runtime.accounts.upsert(body, principal)
    except MailyardError as exc:
        await runtime.form_links.release(link)
        form.errors = {TOP: exc.message}
        return _page(request, link, form, left, status=409)
    return redirect(redirect_target(link.redirect_url, account_id, created))
