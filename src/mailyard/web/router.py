"""Mounts the web pages on the app: routes, static files, and HTML answers for the failures pages meet."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from mailyard.dialects.registry import Dialect, reason, register, status_of
from mailyard.errors import MailyardError
from mailyard.web import account_forms, account_pages, auth_form_pages, hosted_pages, signin
from mailyard.web.csrf import CsrfGuard
from mailyard.web.forms import FormTooLarge
from mailyard.web.pages import CsrfRefused, environment, html_response, redirect, render
from mailyard.web.signin import SignInRequired, login_redirect

STATIC = Path(__file__).parent / "static"
_PAGE_PREFIXES = ("/dashboard", "/accounts", "/login", "/logout")


def _error_page(error: MailyardError) -> Response:
    # The dialect hook has no request, so no CSRF token: the page has no form (it is shown signed out).
    status = status_of(error)
    html = environment.get_template("error.html").render({"title": error.title or reason(status),
                                                          "message": error.message})
    return html_response(html, status)


for _prefix in _PAGE_PREFIXES:
    register(Dialect("web", _prefix, _error_page))


def install(app: FastAPI) -> None:
    app.state.csrf = CsrfGuard(app.state.runtime.box.subkey("csrf"))
    for module in (signin, account_pages, account_forms, hosted_pages, auth_form_pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return redirect("/dashboard")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.method == "GET":
            return login_redirect(exc.path)
        return render(request, "error.html", {"title": "Signed out",
                                              "message": "Your session has ended. Sign in again."}, status=401)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return render(request, "error.html", {
            "title": "Form expired", "message": "This form is out of date or was sent from another site. "
                                                "Go back, reload the page and try again."}, status=403)

    @app.exception_handler(FormTooLarge)
    async def _too_large(request: Request, exc: FormTooLarge) -> Response:
        return render(request, "error.html", {"title": "Too large", "message": "The form is too large."},
                      status=413)
