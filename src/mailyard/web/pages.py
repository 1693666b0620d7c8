"""Rendering pages: the Jinja2 environment, the CSRF cookie every form relies on, and security headers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from mailyard.web import csrf
from mailyard.web.csrf import CsrfGuard
from mailyard.web.forms import read_form

# Inline scripts and styles are refused: everything comes from /static, so injected markup cannot run.
# Every HTML answer carries these, error pages included (see `html_response`).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _bytes(value: int | None) -> str:
    size = float(value or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


environment = Environment(
    loader=PackageLoader("mailyard.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def account_url(account_id: str, action: str = "", **query: str) -> str:
    """The dashboard URL of one account. The id travels in the query, never as a path segment: ids such as
    `..` would be resolved away by the browser (even percent-encoded) and `new` would collide with a route."""
    path = "/dashboard/account" + (f"/{action}" if action else "")
    return f"{path}?{urlencode({'id': account_id, **query})}"


def domain_url(name: str, **query: str) -> str:
    path = f"/dashboard/domains/{quote(name, safe='')}"
    return f"{path}?{urlencode(query)}" if query else path


environment.filters["when"] = _when
environment.filters["bytes"] = _bytes
environment.globals["account_url"] = account_url
environment.globals["domain_url"] = domain_url


def guard(request: Request) -> CsrfGuard:
    return request.app.state.csrf


def secure_cookies(request: Request) -> bool:
    """Cookies are marked Secure when the page was served over TLS (directly or behind a TLS proxy)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def html_response(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status: int = 200) -> HTMLResponse:
    """The page, with a CSRF token for its forms (issuing the CSRF cookie on the first visit)."""
    cookie = request.cookies.get(csrf.COOKIE)
    # Only a GET issues a cookie: a POST without one is a forged cross-site form (SameSite=Lax keeps the
    # cookie off those), and answering it with a new cookie would break the forms open in the user's tabs.
    fresh = (not cookie or len(cookie) > 128) and request.method == "GET"
    if fresh:
        cookie = CsrfGuard.new_cookie()
    values = {"request": request, "csrf_token": guard(request).token_for(cookie or ""),
              "user": getattr(request.state, "web_user", None)}
    values.update(context or {})
    response = html_response(environment.get_template(template).render(values), status)
    if fresh:
        # Lax, not Strict: a Strict cookie is withheld when the user arrives from a link on another site,
        # so the page would issue a new one and every form already open in another tab would be refused.
        # The token in the form is what stops forgery; the cookie only binds it to this browser.
        response.set_cookie(csrf.COOKIE, cookie or "", httponly=True, samesite="lax",
                            secure=secure_cookies(request), path="/")
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


class CsrfRefused(Exception):
    """A form arrived without the token of the page that showed it."""


async def checked_form(request: Request) -> dict[str, str]:
    """The submitted fields, once the form's CSRF token matches the browser's cookie."""
    fields = await read_form(request)
    if not guard(request).valid(request.cookies.get(csrf.COOKIE), fields.get(csrf.FIELD)):
        raise CsrfRefused
    return fields
