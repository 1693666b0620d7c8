"""CSRF protection for every form: a random cookie, and in each form an HMAC of it under a server key.

A forged cross-site POST carries the browser's cookie but cannot know the form token; a script on another
subdomain that plants its own cookie still cannot produce the matching token without the server's key.
The cookie is HttpOnly and SameSite=Lax: a cross-site POST does not carry it at all, while a link followed
from another site still does, so arriving from elsewhere does not replace it and break forms open in other tabs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "mailyard_csrf"
FIELD = "csrf_token"


class CsrfGuard:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(24)

    def token_for(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token or len(cookie) > 128:
            return False
        return hmac.compare_digest(self.token_for(cookie), token)
