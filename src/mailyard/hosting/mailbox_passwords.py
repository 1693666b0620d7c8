"""Setting a hosted mailbox's password: policy, confirmation, reuse of old passwords, expiry.

The hash is Dovecot's `{ARGON2ID}` form so the mail server checks logins against the store directly.
"""

from __future__ import annotations

import asyncio
from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mailyard.errors import invalid
from mailyard.hosting.password_policy import PasswordPolicy
from mailyard.hosting.records import HostedMailboxRecord, PasswordHistoryRecord
from mailyard.hosting.settings import MailboxSettings
from mailyard.security.passwords import hash_password, verify_password

PASSWORD_NOTE = "Save this password now. It will not be shown again."  # noqa: S105  the note, not a password


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months, clamping the day (31 Jan + 1 month = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def expiry(set_at: datetime, months: int) -> datetime | None:
    """When a password set at `set_at` expires under `password_expiration` (-1 = never)."""
    return None if months <= 0 else add_months(set_at, months)


@dataclass(frozen=True)
class NewPassword:
    """A password about to be stored; `plain` is returned to the caller once and never kept."""

    plain: str
    hash: str
    generated: bool


async def prepare_password(
    policy: PasswordPolicy, password: object, confirmation: object, *, allow_generate: bool, field: str = "password"
) -> NewPassword:
    """Check a caller's password against the policy, or generate one when none is given."""
    if password is None and allow_generate:
        if confirmation is not None:
            raise invalid("password_confirmation", "must match password")
        plain = policy.generate()
        generated = True
    else:
        policy.check(password, confirmation, field=field)
        assert isinstance(password, str)
        plain, generated = password, False
    # Argon2 is deliberately slow: keep it off the event loop.
    return NewPassword(plain, await asyncio.to_thread(hash_password, plain), generated)


async def check_not_reused(session: AsyncSession, record: HostedMailboxRecord, plain: str, history: int) -> None:
    """block_old_password: the new password may not be the current one nor one of the last `history`."""
    hashes = [record.password_hash, *await session.scalars(
        select(PasswordHistoryRecord.password_hash).where(PasswordHistoryRecord.mailbox_id == record.id)
        .order_by(PasswordHistoryRecord.id.desc()).limit(history)
    )]
    for stored in hashes:
        if await asyncio.to_thread(verify_password, stored, plain):
            raise invalid("password", f"must differ from the last {history} passwords of this mailbox")


async def store_password(session: AsyncSession, record: HostedMailboxRecord, new: NewPassword,
                         settings: MailboxSettings, now: datetime, policy: PasswordPolicy) -> None:
    """Make `new` the mailbox's password under its settings (block_old_password, password_expiration)."""
    if settings.block_old_password:
        await check_not_reused(session, record, new.plain, policy.history_size)
    await replace_password(session, record, new, now, policy.history_size, settings.password_expiration)


async def replace_password(
    session: AsyncSession, record: HostedMailboxRecord, new: NewPassword, now: datetime, history: int,
    expiration_months: int,
) -> None:
    """Store `new` on `record`, remembering the old hash and keeping only `history` of them."""
    session.add(PasswordHistoryRecord(mailbox_id=record.id, password_hash=record.password_hash, created_at=now))
    await session.flush()
    keep = select(PasswordHistoryRecord.id).where(PasswordHistoryRecord.mailbox_id == record.id) \
        .order_by(PasswordHistoryRecord.id.desc()).limit(history)
    await session.execute(delete(PasswordHistoryRecord).where(
        PasswordHistoryRecord.mailbox_id == record.id, PasswordHistoryRecord.id.not_in(keep.scalar_subquery())
    ))
    record.password_hash = new.hash
    record.password_set_at = now
    record.password_expires_at = expiry(now, expiration_months)
