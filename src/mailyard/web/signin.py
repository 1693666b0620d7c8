"""Signing in and out of the dashboard, and the guard every dashboard page passes through."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mailyard.web import sessions
from mailyard.web.admin_auth import ADMIN, SignIn
from mailyard.web.pages import checked_form, redirect, render, secure_cookies

router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """The page needs a signed-in admin; the browser is sent to the sign-in page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


async def signed_in(request: Request) -> str:
    user = await request.app.state.runtime.web_sessions.user(request.cookies.get(sessions.COOKIE))
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    request.state.web_user = user
    return user


Admin = Annotated[str, Depends(signed_in)]


def _safe_next(value: str | None) -> str:
    # Only paths of this site: "//evil.example" or "https://..." would make sign-in an open redirect.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/dashboard"


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    runtime = request.app.state.runtime
    return render(request, "login.html", {
        "next": _safe_next(next), "totp": await runtime.admin_auth.totp_enabled(),
        "configured": await runtime.admin_auth.is_configured(), "username": ADMIN,
    })


@router.post("/login")
async def login(request: Request) -> Response:
    runtime = request.app.state.runtime
    form = await checked_form(request)
    result = await runtime.admin_auth.sign_in(form.get("username", ""), form.get("password", ""),
                                              form.get("code", ""))
    target = _safe_next(form.get("next"))
    if result.outcome == SignIn.OK:
        token = await runtime.web_sessions.start(ADMIN)
        response = redirect(target)
        response.set_cookie(sessions.COOKIE, token, httponly=True, samesite="lax", secure=secure_cookies(request),
                            max_age=int(sessions.LIFETIME.total_seconds()), path="/")
        return response
    messages = {
        SignIn.REFUSED: "Wrong username, password or code.",
        SignIn.LOCKED: f"Too many failed attempts. Try again in {result.retry_after} seconds.",
        SignIn.NOT_SET: "No admin password is set yet: run `mailyard admin set-password` on the server.",
    }
    return render(request, "login.html", {
        "next": target, "totp": await runtime.admin_auth.totp_enabled(), "error": messages[result.outcome],
        "configured": result.outcome != SignIn.NOT_SET, "username": form.get("username", ADMIN),
    }, status=429 if result.outcome == SignIn.LOCKED else 401)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    await request.app.state.runtime.web_sessions.end(request.cookies.get(sessions.COOKIE))
    response = redirect("/login")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


def login_redirect(path: str) -> Response:
    return redirect(f"/login?next={quote(path, safe='')}")
