"""Mailbox users changing their own password (through a webmail or account page that delegates here).

The current password proves who is asking, so this works for an expired password too: that is how a
user whose password expired gets back in. It honours password_change_disabled, the password policy,
block_old_password and force_otp, and clears force_new_password.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailyard.errors import forbidden, invalid
from mailyard.hosting.auth_check import AuthChecker, text_field
from mailyard.hosting.mailbox_passwords import prepare_password, store_password
from mailyard.hosting.names import login_address
from mailyard.hosting.password_policy import PasswordPolicy
from mailyard.hosting.records import HostedMailboxRecord
from mailyard.hosting.settings import settings_from_json, settings_to_json
from mailyard.security.tokens import Principal
from mailyard.store.base import utcnow
from mailyard.store.db import Database

_FIELDS = frozenset({"address", "password", "new_password", "new_password_confirmation", "otp"})
# Refusals that do not stop a user from replacing their password.
_CHANGE_DESPITE = frozenset({"password expired", "service disabled for this mailbox"})


@dataclass(frozen=True)
class PasswordChanged:
    address: str
    password_expires_at: datetime | None


class PasswordChanger:
    def __init__(self, db: Database, checker: AuthChecker, policy: PasswordPolicy) -> None:
        self.db = db
        self.checker = checker
        self.policy = policy

    async def change(self, principal: Principal | None, body: Mapping[str, Any]) -> PasswordChanged:
        unknown = sorted(set(body) - _FIELDS)
        if unknown:
            raise invalid(unknown[0], "is not a recognised field")
        address = login_address(text_field(body, "address", limit=320) or "")
        current = text_field(body, "password") or ""
        row = await self.checker.verified(principal, address, current, "webmail")
        if row is None:
            raise invalid("password", "does not match the current password of this address")
        if row.denied and row.denied not in _CHANGE_DESPITE:
            raise forbidden(f"This mailbox may not log in: {row.denied}")
        settings = settings_from_json(row.settings or {})
        refusal = self.checker.otp_refusal(row, settings, body.get("otp") if isinstance(body.get("otp"), str) else None)
        if refusal:
            raise invalid("otp", refusal)
        if settings.password_change_disabled:
            raise forbidden("Password changes are disabled for this mailbox")
        new = await prepare_password(self.policy, body.get("new_password"), body.get("new_password_confirmation"),
                                     allow_generate=False, field="new_password")
        now = utcnow()
        async with self.db.transaction() as session:
            record = await session.get(HostedMailboxRecord, row.id, with_for_update=True)
            if record is None:
                raise invalid("address", "no longer exists")
            await store_password(session, record, new, settings, now, self.policy)
            record.settings = settings_to_json(settings.model_copy(update={"force_new_password": False}))
            record.updated_at = now
        return PasswordChanged(record.address, record.password_expires_at)
