"""Links to the hosted authentication form (`POST /v1/authentication/form`).

A link carries its request (account id, email, name, redirect URL, the tenant of the token that made it)
as base64url JSON in `data`, signed with HMAC-SHA256 in `sig` under a key derived from the service secret.
It expires after `LIFETIME` and works once: completing the form claims the link's nonce in the store,
and a claimed nonce is refused for good (claims are kept until the link would have expired anyway).
Each link runs at most `MAX_CHECKS` live login checks, counted in the store (so across processes): whoever
holds a link cannot use the form to guess a password for long.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from mailyard.accounts.model import ACCOUNT_ID_MAX, AccountCreate
from mailyard.accounts.records import FormLinkCheckRecord, FormLinkUseRecord
from mailyard.errors import invalid
from mailyard.store.base import utcnow
from mailyard.store.db import Database

LIFETIME = timedelta(hours=24)
FORM_PATH = "/accounts/new"
MAX_DATA = 8192
MAX_CHECKS = 10
_SPENT = "This link was used for too many failed sign-in attempts and no longer works. Ask for a new one."


class LinkError(Exception):
    """The link cannot be used; the message is shown to the person who followed it."""


@dataclass(frozen=True)
class FormRequest:
    account: str | None
    email: str | None
    name: str | None
    redirect_url: str
    tenant: str | None
    nonce: str
    expires: int  # Unix seconds


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_redirect_url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("redirectUrl", "is required")
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise invalid("redirectUrl", "must be an absolute http or https URL")
    return value.strip()


def redirect_target(redirect_url: str, account: str, created: bool) -> str:
    """`redirectUrl` with `account` and `state` added to its query (anything already there is kept)."""
    parts = urlsplit(redirect_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in {"account", "state"}]
    query += [("account", account), ("state", "new" if created else "existing")]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class FormLinks:
    def __init__(self, db: Database, key: bytes, base_url: str) -> None:
        self.db = db
        self._key = key
        self.base_url = base_url.rstrip("/")

    def _sign(self, data: str) -> str:
        return _b64(hmac.new(self._key, data.encode("ascii"), hashlib.sha256).digest())

    def create(self, body: dict[str, Any], tenant: str | None, *, now: datetime | None = None) -> str:
        """The signed form URL for a request body (fields validated as an account create would be)."""
        account = body.get("account")
        if account is not None:
            if not isinstance(account, str) or not account or len(account) > ACCOUNT_ID_MAX:
                raise invalid("account", f"must be a string of 1 to {ACCOUNT_ID_MAX} characters, or null")
            try:
                AccountCreate(account=account, email="x@example.org")  # the id rules of a real create
            except ValueError:
                raise invalid("account", "must not contain '/' or control characters") from None
        email = body.get("email")
        if email is not None:
            if not isinstance(email, str):
                raise invalid("email", "must be a string")
            try:
                AccountCreate(account=None, email=email)
            except ValueError:
                raise invalid("email", "must be a valid email address") from None
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 256):
            raise invalid("name", "must be a string of at most 256 characters")
        unknown = set(body) - {"account", "email", "name", "redirectUrl"}
        if unknown:
            raise invalid(sorted(unknown)[0], "is not allowed")
        moment = now or utcnow()
        request = FormRequest(
            account=account, email=email.strip() if email else None, name=name,
            redirect_url=check_redirect_url(body.get("redirectUrl")), tenant=tenant,
            nonce=secrets.token_urlsafe(16), expires=int((moment + LIFETIME).timestamp()),
        )
        data = _b64(json.dumps(asdict(request), separators=(",", ":")).encode())
        return f"{self.base_url}{FORM_PATH}?{urlencode({'data': data, 'sig': self._sign(data)})}"

    async def open(self, data: str | None, sig: str | None, *, now: datetime | None = None) -> FormRequest:
        """The request a link carries; LinkError when it was altered, has expired or was already used."""
        if not data or not sig or len(data) > MAX_DATA:
            raise LinkError("This link is incomplete. Ask for a new one.")
        if not hmac.compare_digest(self._sign(data), sig):
            raise LinkError("This link is not valid: it was changed after it was made. Ask for a new one.")
        try:
            request = FormRequest(**json.loads(_unb64(data)))
        except (ValueError, TypeError, binascii.Error):
            raise LinkError("This link is not valid. Ask for a new one.") from None
        moment = now or utcnow()
        if request.expires <= moment.timestamp():
            raise LinkError("This link has expired. Ask for a new one.")
        used = await self.db.read_one(select(FormLinkUseRecord.nonce).where(FormLinkUseRecord.nonce == request.nonce))
        if used is not None:
            raise LinkError("This link has already been used. Ask for a new one.")
        if await self.checks_left(request) <= 0:
            raise LinkError(_SPENT)
        return request

    async def checks_left(self, request: FormRequest) -> int:
        """How many more live login checks this link may run."""
        done = await self.db.read_scalar(
            select(FormLinkCheckRecord.checks).where(FormLinkCheckRecord.nonce == request.nonce))
        return max(MAX_CHECKS - (done or 0), 0)

    async def count_check(self, request: FormRequest) -> int:
        """Count one live login check before it runs; the checks left after it. LinkError when the link has
        none left. Counting first (not after a failure) bounds checks running at the same time as well."""
        for _ in range(2):  # a second round only when another process created the row at the same moment
            try:
                async with self.db.transaction() as session:
                    changed = await session.execute(
                        update(FormLinkCheckRecord).where(FormLinkCheckRecord.nonce == request.nonce)
                        .values(checks=FormLinkCheckRecord.checks + 1))
                    if not changed.rowcount:
                        now = utcnow()
                        await session.execute(delete(FormLinkCheckRecord).where(FormLinkCheckRecord.expires_at < now))
                        session.add(FormLinkCheckRecord(nonce=request.nonce, checks=1,
                                                        expires_at=datetime.fromtimestamp(request.expires, now.tzinfo)))
                        await session.flush()
                    done = await session.scalar(
                        select(FormLinkCheckRecord.checks).where(FormLinkCheckRecord.nonce == request.nonce))
            except IntegrityError:
                continue
            if (done or 0) > MAX_CHECKS:
                raise LinkError(_SPENT)
            return MAX_CHECKS - (done or 0)
        raise LinkError(_SPENT)

    async def claim(self, request: FormRequest) -> None:
        """Mark the link used; LinkError when another submission got there first."""
        now = utcnow()
        try:
            async with self.db.transaction() as session:
                await session.execute(delete(FormLinkUseRecord).where(FormLinkUseRecord.expires_at < now))
                session.add(FormLinkUseRecord(nonce=request.nonce, used_at=now,
                                              expires_at=datetime.fromtimestamp(request.expires, now.tzinfo)))
        except IntegrityError:
            raise LinkError("This link has already been used. Ask for a new one.") from None

    async def release(self, request: FormRequest) -> None:
        """Undo a claim whose account could not be saved, so the person can try again."""
        async with self.db.transaction() as session:
            await session.execute(delete(FormLinkUseRecord).where(FormLinkUseRecord.nonce == request.nonce))
