"""The dashboard admin's sign-in rules, against the real store: password, TOTP, replay and lock-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from mailyard.errors import MailyardError
from mailyard.runtime import Runtime
from mailyard.security import totp
from mailyard.store.base import utcnow
from mailyard.web.admin_auth import ADMIN, FREE_FAILURES, MAX_DELAY, SignIn, lockout_delay

PASSWORD = "correct horse battery"


async def test_sign_in_before_a_password_is_set_says_so(runtime: Runtime) -> None:
    result = await runtime.admin_auth.sign_in(ADMIN, "anything", "")
    assert result.outcome == SignIn.NOT_SET


async def test_password_is_stored_hashed_and_checked(runtime: Runtime) -> None:
    await runtime.admin_auth.set_password(PASSWORD)
    assert (await runtime.admin_auth.sign_in(ADMIN, PASSWORD, "")).outcome == SignIn.OK
    assert (await runtime.admin_auth.sign_in(ADMIN, PASSWORD + "x", "")).outcome == SignIn.REFUSED
    assert (await runtime.admin_auth.sign_in("root", PASSWORD, "")).outcome == SignIn.REFUSED
    stored = await runtime.db.read_scalar(text(
        "SELECT password_hash FROM admin_credentials"))
    assert PASSWORD not in stored and stored.startswith("{ARGON2ID}$argon2id$")


async def test_short_password_is_refused(runtime: Runtime) -> None:
    with pytest.raises(MailyardError) as caught:
        await runtime.admin_auth.set_password("short")
    assert caught.value.errors[0].field == "password"
    assert not await runtime.admin_auth.is_configured()


async def test_totp_code_is_required_once_enabled_and_cannot_be_replayed(runtime: Runtime) -> None:
    await runtime.admin_auth.set_password(PASSWORD)
    enrollment = await runtime.admin_auth.enable_totp()
    assert enrollment.uri.startswith("otpauth://totp/Mailyard:admin?secret=")
    now = utcnow()
    code = totp.code_at(enrollment.secret, now.timestamp())
    assert (await runtime.admin_auth.sign_in(ADMIN, PASSWORD, "", now=now)).outcome == SignIn.REFUSED
    assert (await runtime.admin_auth.sign_in(ADMIN, PASSWORD, code, now=now)).outcome == SignIn.OK
    # The same code again, inside its 30-second window: a replay.
    assert (await runtime.admin_auth.sign_in(ADMIN, PASSWORD, code, now=now)).outcome == SignIn.REFUSED
    later = now + timedelta(seconds=totp.STEP_SECONDS)
    fresh = totp.code_at(enrollment.secret, later.timestamp())
    assert (await runtime.admin_auth.sign_in(ADMIN, PASSWORD, fresh, now=later)).outcome == SignIn.OK
    await runtime.admin_auth.disable_totp()
    assert (await runtime.admin_auth.sign_in(ADMIN, PASSWORD, "", now=later)).outcome == SignIn.OK


async def test_totp_secret_is_encrypted_at_rest(runtime: Runtime) -> None:
    await runtime.admin_auth.set_password(PASSWORD)
    enrollment = await runtime.admin_auth.enable_totp()
    stored = await runtime.db.read_scalar(text("SELECT totp_secret FROM admin_credentials"))
    assert enrollment.secret not in stored and stored.startswith("v1:")


async def test_repeated_failures_lock_sign_in_even_for_the_right_password(runtime: Runtime) -> None:
    await runtime.admin_auth.set_password(PASSWORD)
    now = utcnow()
    for _ in range(FREE_FAILURES - 1):
        assert (await runtime.admin_auth.sign_in(ADMIN, "wrong", "", now=now)).outcome == SignIn.REFUSED
    locked = await runtime.admin_auth.sign_in(ADMIN, "wrong", "", now=now)
    assert locked.outcome == SignIn.LOCKED and locked.retry_after == 30
    during = await runtime.admin_auth.sign_in(ADMIN, PASSWORD, "", now=now + timedelta(seconds=10))
    assert during.outcome == SignIn.LOCKED and during.retry_after == 20
    after = await runtime.admin_auth.sign_in(ADMIN, PASSWORD, "", now=now + timedelta(seconds=31))
    assert after.outcome == SignIn.OK


def test_lockout_delay_doubles_up_to_its_cap() -> None:
    assert lockout_delay(FREE_FAILURES - 1) == timedelta(0)
    assert lockout_delay(FREE_FAILURES) == timedelta(seconds=30)
    assert lockout_delay(FREE_FAILURES + 1) == timedelta(seconds=60)
    assert lockout_delay(FREE_FAILURES + 20) == MAX_DELAY


async def test_new_password_signs_every_browser_out(runtime: Runtime) -> None:
    await runtime.admin_auth.set_password(PASSWORD)
    cookie = await runtime.web_sessions.start(ADMIN)
    assert await runtime.web_sessions.user(cookie) == ADMIN
    await runtime.admin_auth.set_password(PASSWORD + " again")
    assert await runtime.web_sessions.user(cookie) is None
