"""The dashboard admin's credentials: password (Argon2id hash), optional TOTP, and the lock-out after failures.

One admin account, named `admin`, managed from the command line (`mailyard admin set-password`,
`mailyard admin totp enable|disable`). After `FREE_FAILURES` wrong attempts in a row every further attempt
must wait, the delay doubling per failure up to `MAX_DELAY`; attempts during the delay are refused
without looking at the password, so guessing cannot go faster than the delay allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete

from mailyard.errors import invalid
from mailyard.security import totp
from mailyard.security.passwords import hash_password, verify_password
from mailyard.security.secretbox import SecretBox
from mailyard.store.base import utcnow
from mailyard.store.db import Database
from mailyard.web.records import AdminCredentialRecord, WebSessionRecord

ADMIN = "admin"
MIN_PASSWORD_LENGTH = 10
FREE_FAILURES = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)


class SignIn(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # wrong password or code (the page does not say which)
    LOCKED = "locked"
    NOT_SET = "not_set"  # no admin password yet


@dataclass(frozen=True)
class SignInResult:
    outcome: SignIn
    retry_after: int = 0  # seconds, when LOCKED


def lockout_delay(failures: int) -> timedelta:
    """How long sign-in stays closed after `failures` consecutive failures."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY)


@dataclass(frozen=True)
class TotpEnrollment:
    secret: str
    uri: str


class AdminAuth:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    async def is_configured(self) -> bool:
        async with self.db.transaction() as session:
            return await session.get(AdminCredentialRecord, ADMIN) is not None

    async def set_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise invalid("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
        hashed = hash_password(password)
        async with self.db.transaction() as session:
            row = await session.get(AdminCredentialRecord, ADMIN, with_for_update=True)
            if row is None:
                row = AdminCredentialRecord(username=ADMIN, totp_last_step=0, failed_count=0)
                session.add(row)
            row.password_hash = hashed
            row.failed_count = 0
            row.locked_until = None
            row.updated_at = utcnow()
        await self.end_sessions()

    async def enable_totp(self) -> TotpEnrollment:
        """A fresh TOTP secret for the admin (replacing any earlier one); the URI goes into an authenticator."""
        secret = totp.new_secret()
        async with self.db.transaction() as session:
            row = await session.get(AdminCredentialRecord, ADMIN, with_for_update=True)
            if row is None:
                raise invalid("password", "set the admin password first (mailyard admin set-password)")
            row.totp_secret = self.box.encrypt(secret)
            row.totp_last_step = 0
            row.updated_at = utcnow()
        return TotpEnrollment(secret, totp.otpauth_uri(secret, ADMIN))

    async def disable_totp(self) -> None:
        async with self.db.transaction() as session:
            row = await session.get(AdminCredentialRecord, ADMIN, with_for_update=True)
            if row is not None:
                row.totp_secret = None
                row.updated_at = utcnow()

    async def totp_enabled(self) -> bool:
        async with self.db.transaction() as session:
            row = await session.get(AdminCredentialRecord, ADMIN)
            return row is not None and row.totp_secret is not None

    async def sign_in(self, username: str, password: str, code: str, *, now: datetime | None = None) -> SignInResult:
        moment = now or utcnow()
        async with self.db.transaction() as session:
            row = await session.get(AdminCredentialRecord, ADMIN, with_for_update=True)
            if row is None:
                return SignInResult(SignIn.NOT_SET)
            if row.locked_until is not None and row.locked_until > moment:
                return SignInResult(SignIn.LOCKED, _seconds_until(row.locked_until, moment))
            accepted = username == ADMIN and verify_password(row.password_hash, password)
            if accepted and row.totp_secret is not None:
                step = self._totp_step(self.box.decrypt(row.totp_secret), code.strip(), moment)
                accepted = step is not None and step > row.totp_last_step
                if accepted:
                    row.totp_last_step = step or 0
            if accepted:
                row.failed_count = 0
                row.locked_until = None
                return SignInResult(SignIn.OK)
            row.failed_count += 1
            delay = lockout_delay(row.failed_count)
            row.locked_until = moment + delay if delay else None
            if delay:
                return SignInResult(SignIn.LOCKED, _seconds_until(moment + delay, moment))
            return SignInResult(SignIn.REFUSED)

    @staticmethod
    def _totp_step(secret: str, code: str, moment: datetime) -> int | None:
        """The time step `code` belongs to (within one step of now), or None."""
        when = moment.timestamp()
        for offset in (0, -1, 1):
            at = when + offset * totp.STEP_SECONDS
            if totp.verify(secret, code, when=at, window=0):
                return int(at // totp.STEP_SECONDS)
        return None

    async def end_sessions(self) -> None:
        """A new password signs every browser out."""
        async with self.db.transaction() as session:
            await session.execute(delete(WebSessionRecord))


def _seconds_until(when: datetime, moment: datetime) -> int:
    return max(1, int((when - moment).total_seconds() + 0.999))
