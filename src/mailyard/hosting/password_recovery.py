"""Password recovery through a mailbox's secondary address.

`start` mails a one-time code to `secondary_email_account` (never when `password_recovery_disabled`, the
mailbox may not log in, or no secondary address is set) and answers the same in every case, so nobody
learns which addresses exist or can be recovered. `complete` trades an unused, unexpired code for a new
password under the usual policy. Only the code's SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import JSON, select, text, update

from mailyard.errors import invalid
from mailyard.hosting.auth_check import text_field
from mailyard.hosting.login_rules import FROM_SQL, denial_case
from mailyard.hosting.mailbox_passwords import prepare_password, store_password
from mailyard.hosting.names import login_address
from mailyard.hosting.password_policy import PasswordPolicy
from mailyard.hosting.records import HostedMailboxRecord, RecoveryCodeRecord
from mailyard.hosting.settings import settings_from_json, settings_to_json
from mailyard.security.tokens import Principal
from mailyard.store.base import utcnow
from mailyard.store.db import Database

log = logging.getLogger(__name__)
CODE_LIFETIME = timedelta(minutes=30)
MAX_ATTEMPTS = 5  # wrong codes before the outstanding ones are void
Sender = Callable[[str, str, str], Awaitable[None]]  # (recipient, subject, text)
_INVALID_CODE = "is not a valid recovery code for this address (wrong, used or expired)"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _new_code() -> str:
    # 10 digits: easy to type from a phone, 33 bits against guessing within 30 minutes.
    return "".join(secrets.choice("0123456789") for _ in range(10))


class PasswordRecovery:
    def __init__(self, db: Database, policy: PasswordPolicy, send: Sender) -> None:
        self.db = db
        self.policy = policy
        self.send = send
        self._query = text(
            f"SELECT m.id, m.user_id, m.address, m.settings, {denial_case(db.backend, ':service')} AS denied "  # noqa: S608
            f"FROM {FROM_SQL} WHERE m.address = :address"
        ).columns(settings=JSON)

    async def _mailbox(self, principal: Principal | None, address: str) -> Any:
        row = await self.db.read_one(self._query, {"address": address, "service": "webmail"})
        if row is None or (principal is not None and principal.tenant and row.user_id != principal.tenant):
            return None
        return row

    async def start(self, principal: Principal | None, body: Mapping[str, Any]) -> None:
        unknown = sorted(set(body) - {"address"})
        if unknown:
            raise invalid(unknown[0], "is not a recognised field")
        address = login_address(text_field(body, "address", limit=320) or "")
        row = await self._mailbox(principal, address)
        if row is None:
            return
        settings = settings_from_json(row.settings or {})
        # An expired password is exactly what recovery is for; other refusals stop it.
        if settings.password_recovery_disabled or not settings.secondary_email_account or (
            row.denied and row.denied != "password expired"
        ):
            return
        code = _new_code()
        now = utcnow()
        async with self.db.transaction() as session:
            session.add(RecoveryCodeRecord(mailbox_id=row.id, code_hash=_digest(code), expires_at=now + CODE_LIFETIME,
                                           created_at=now))
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        try:
            await self.send(settings.secondary_email_account, f"Password recovery for {row.address}",
                            f"Someone asked to reset the password of {row.address}.\n\n"
                            f"Recovery code: {code}\n\nIt works once, for {minutes} minutes. "
                            "If it was not you, ignore this message.\n")
        except Exception as exc:  # the caller must not learn more than "done"; the operator sees the log
            log.warning("could not send a password-recovery code: %s", type(exc).__name__)

    async def complete(self, principal: Principal | None, body: Mapping[str, Any]) -> str:
        unknown = sorted(set(body) - {"address", "code", "new_password", "new_password_confirmation"})
        if unknown:
            raise invalid(unknown[0], "is not a recognised field")
        address = login_address(text_field(body, "address", limit=320) or "")
        code = (text_field(body, "code", limit=64) or "").strip()
        row = await self._mailbox(principal, address)
        settings = settings_from_json(row.settings or {}) if row is not None else None
        if row is None or settings is None or settings.password_recovery_disabled:
            raise invalid("code", _INVALID_CODE)
        new = await prepare_password(self.policy, body.get("new_password"), body.get("new_password_confirmation"),
                                     allow_generate=False, field="new_password")
        now = utcnow()
        async with self.db.transaction() as session:
            codes = (await session.scalars(
                select(RecoveryCodeRecord).where(RecoveryCodeRecord.mailbox_id == row.id,
                                                 RecoveryCodeRecord.used_at.is_(None),
                                                 RecoveryCodeRecord.expires_at > now,
                                                 RecoveryCodeRecord.attempts < MAX_ATTEMPTS)
            )).all()
            match = next((c for c in codes if hmac.compare_digest(c.code_hash, _digest(code))), None)
            if match is None:
                # Counted (and committed) so that guessing runs out long before the code expires.
                for outstanding in codes:
                    outstanding.attempts += 1
        if match is None:
            raise invalid("code", _INVALID_CODE)
        async with self.db.transaction() as session:
            spent = await session.execute(update(RecoveryCodeRecord).where(
                RecoveryCodeRecord.id == match.id, RecoveryCodeRecord.used_at.is_(None)).values(used_at=now))
            if spent.rowcount != 1:  # used by a concurrent request meanwhile
                raise invalid("code", _INVALID_CODE)
            record = await session.get(HostedMailboxRecord, row.id, with_for_update=True)
            if record is None:
                raise invalid("code", _INVALID_CODE)
            await store_password(session, record, new, settings, now, self.policy)
            record.settings = settings_to_json(settings.model_copy(update={"force_new_password": False}))
            record.updated_at = now
            # Every outstanding code of the mailbox is spent: one recovery, one code.
            await session.execute(update(RecoveryCodeRecord).where(RecoveryCodeRecord.mailbox_id == row.id,
                                                                   RecoveryCodeRecord.used_at.is_(None))
                                  .values(used_at=now))
        return record.address
