"""The hosted mailbox service: create, list, read, update, delete and reset the password of mailboxes.

Every rule lives here once: tenancy, active domains only, unique addresses, the default mailbox of a
user, the password policy and history, expiry, and the settings of the Qboxmail document, validated
together so that a request with any bad field changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mailyard.errors import FieldError, MailyardError, conflict, invalid, invalid_fields, not_found
from mailyard.hosting.domains import DomainService, hand_on_default
from mailyard.hosting.listener import HostingListener, NoListener
from mailyard.hosting.mailbox_passwords import NewPassword, expiry, prepare_password, store_password
from mailyard.hosting.mailbox_views import (
    MailboxView,
    QuotaUsage,
    allow_nets_column,
    bounce_reply,
    disabled_services,
    sieve_columns,
    sieve_columns_for,
)
from mailyard.hosting.names import local_part as valid_local_part
from mailyard.hosting.password_policy import PasswordPolicy
from mailyard.hosting.records import HostedAliasRecord, HostedDomainRecord, HostedMailboxRecord, QuotaUsageRecord
from mailyard.hosting.settings import (
    SETTING_FIELDS,
    MailboxSettings,
    apply_settings,
    settings_from_json,
    settings_to_json,
)
from mailyard.hosting.tenancy import acting_user
from mailyard.security import totp
from mailyard.security.secretbox import SecretBox
from mailyard.security.tokens import Principal
from mailyard.store.base import utcnow
from mailyard.store.db import Database

MAILBOX_STATUSES = ("active", "disabled")
_CREATE_FIELDS = frozenset({"domain", "local_part", "display_name", "user_id", "password",
                            "password_confirmation", "status"}) | SETTING_FIELDS
_UPDATE_FIELDS = frozenset({"user_id", "display_name", "status", "password", "password_confirmation"}) | SETTING_FIELDS


def mailbox_not_found() -> MailyardError:
    return not_found("Email account not found", "EmailAccountNotFound", title="Not found")


@dataclass(frozen=True)
class MailboxPage:
    items: list[MailboxView]
    limit: int
    offset: int
    total: int


@dataclass(frozen=True)
class WithPassword:
    mailbox: MailboxView
    password: NewPassword


def _check_fields(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(key for key in body if key not in allowed)
    if unknown:
        raise invalid_fields([FieldError(key, "is not a recognised field") for key in unknown])


def _display_name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 256 or any(ord(c) < 32 for c in value):
        raise invalid("display_name", "must be a string of at most 256 printable characters")
    return value.strip() or None


def _status(value: object) -> str:
    if value not in MAILBOX_STATUSES:
        raise invalid("status", f"must be one of {', '.join(MAILBOX_STATUSES)}")
    assert isinstance(value, str)
    return value


def _settings_changes(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key in SETTING_FIELDS}


def _apply_derived(record: HostedMailboxRecord, settings: MailboxSettings) -> None:
    """Copy what the mail servers' SQL needs out of the settings into plain columns."""
    record.settings = settings_to_json(settings)
    record.disabled_services = disabled_services(settings)
    record.allow_nets = allow_nets_column(settings)
    record.quota_bytes = settings.max_email_quota
    record.bounce_reply = bounce_reply(settings)
    record.sieve_id, record.sieve_script = sieve_columns(settings, record.address)


def _access(record: HostedMailboxRecord) -> tuple[Any, ...]:
    """What decides whether an open session may go on; a change to any of it ends the sessions."""
    return record.status, record.password_hash, record.disabled_services, record.allow_nets


def _mailbox_query() -> Select[Any]:
    m, d, q = HostedMailboxRecord, HostedDomainRecord, QuotaUsageRecord
    return (
        select(m.__table__, d.name.label("domain_name"), q.bytes.label("used_bytes"),
               q.messages.label("used_messages"))
        .join(d, d.id == m.domain_id)
        .outerjoin(q, q.username == m.address)
    )


def _id(value: object, field: str = "id") -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(field, "must be an integer")
    try:
        number = int(value)
    except ValueError:
        raise invalid(field, "must be an integer") from None
    if number < 1 or number > 2**31 - 1:
        raise invalid(field, "must be a positive integer")
    return number


class MailboxService:
    def __init__(self, db: Database, box: SecretBox, domains: DomainService, policy: PasswordPolicy,
                 listener: HostingListener | None = None) -> None:
        self.db = db
        self.box = box
        self.domains = domains
        self.policy = policy
        self.listener: HostingListener = listener or NoListener()

    # -- reading ---------------------------------------------------------------------------------
    @staticmethod
    def _view(row: Any, otp: dict[str, str] | None = None) -> MailboxView:
        settings = settings_from_json(row.settings or {})
        return MailboxView(
            id=row.id, user_id=row.user_id, domain=row.domain_name, local_part=row.local_part,
            address=row.address, display_name=row.display_name, status=row.status, is_default=row.is_default,
            password_set_at=row.password_set_at, password_expires_at=row.password_expires_at,
            created_at=row.created_at, updated_at=row.updated_at, settings=settings,
            quota=QuotaUsage(row.quota_bytes, row.used_bytes or 0, row.used_messages or 0), otp=otp,
        )

    async def _read(self, mailbox_id: int, user_id: str, otp: dict[str, str] | None = None) -> MailboxView:
        row = await self.db.read_one(_mailbox_query().where(HostedMailboxRecord.id == mailbox_id))
        if row is None or row.user_id != user_id:
            raise mailbox_not_found()
        return self._view(row, otp)

    async def get(self, principal: Principal | None, mailbox_id: object, user_id: object) -> MailboxView:
        uid = acting_user(principal, user_id)
        try:
            number = _id(mailbox_id)
        except MailyardError:
            raise mailbox_not_found() from None
        return await self._read(number, uid)

    async def owner(self, mailbox_id: object) -> str:
        """The `user_id` a mailbox belongs to, for operator actions that have no user of their own."""
        try:
            number = _id(mailbox_id)
        except MailyardError:
            raise mailbox_not_found() from None
        user_id = await self.db.read_scalar(select(HostedMailboxRecord.user_id).where(HostedMailboxRecord.id == number))
        if user_id is None:
            raise mailbox_not_found()
        return str(user_id)

    async def list(self, principal: Principal | None, user_id: object, *, domain: object = None,
                   limit: int, offset: int) -> MailboxPage:
        uid = acting_user(principal, user_id)
        conditions: list[Any] = [HostedMailboxRecord.user_id == uid]
        if domain is not None:
            row = await self.domains.get_for_mailboxes(principal, domain, uid, "domain")
            conditions.append(HostedMailboxRecord.domain_id == row.id)
        total = await self.db.read_scalar(
            select(func.count()).select_from(HostedMailboxRecord).where(and_(*conditions))
        ) or 0
        rows = await self.db.read(
            _mailbox_query().where(*conditions).order_by(HostedMailboxRecord.id).limit(limit).offset(offset)
        )
        return MailboxPage([self._view(row) for row in rows], limit, offset, total)

    # -- creating --------------------------------------------------------------------------------
    async def create(self, principal: Principal | None, body: Mapping[str, Any]) -> WithPassword:
        _check_fields(body, _CREATE_FIELDS)
        uid = acting_user(principal, body.get("user_id"))
        domain = await self.domains.get_for_mailboxes(principal, body.get("domain"), uid, "domain")
        local = valid_local_part(body.get("local_part"))
        display_name = _display_name(body.get("display_name"))
        status = _status(body.get("status", "active"))
        settings = apply_settings(_settings_changes(body))
        if domain.status != "active":
            raise invalid("domain", f"is {domain.status}: mailboxes can only be created in active domains")
        new = await prepare_password(self.policy, body.get("password"), body.get("password_confirmation"),
                                     allow_generate=True)
        address = f"{local}@{domain.name}"
        now = utcnow()
        otp = self._new_otp(address) if settings.force_otp else None
        record = HostedMailboxRecord(
            domain_id=domain.id, user_id=uid, local_part=local, address=address, display_name=display_name,
            status=status, password_hash=new.hash, password_set_at=now,
            password_expires_at=expiry(now, settings.password_expiration),
            otp_secret=self.box.encrypt(otp["secret"]) if otp else None, created_at=now, updated_at=now,
        )
        _apply_derived(record, settings)
        try:
            async with self.db.transaction() as session:
                for model in (HostedMailboxRecord, HostedAliasRecord):
                    if await session.scalar(select(model.id).where(model.address == address)):
                        raise conflict(f"{address} already exists", "EmailAccountExists")
                # The first mailbox of a user is their default one.
                record.is_default = not await session.scalar(
                    select(HostedMailboxRecord.id).where(HostedMailboxRecord.user_id == uid).limit(1)
                )
                record.sieve_id, record.sieve_script = await sieve_columns_for(session, settings, address)
                session.add(record)
        except IntegrityError:
            raise conflict(f"{address} already exists", "EmailAccountExists") from None
        return WithPassword(await self._read(record.id, uid, otp), new)

    def _new_otp(self, address: str) -> dict[str, str]:
        secret = totp.new_secret()
        return {"secret": secret, "uri": totp.otpauth_uri(secret, address)}

    # -- updating --------------------------------------------------------------------------------
    async def _locked(self, session: AsyncSession, mailbox_id: int, user_id: str) -> HostedMailboxRecord:
        record = await session.get(HostedMailboxRecord, mailbox_id, with_for_update=True)
        if record is None or record.user_id != user_id:
            raise mailbox_not_found()
        return record

    async def update(self, principal: Principal | None, mailbox_id: object, body: Mapping[str, Any]) -> MailboxView:
        _check_fields(body, _UPDATE_FIELDS)
        uid = acting_user(principal, body.get("user_id"))
        try:
            number = _id(mailbox_id)
        except MailyardError:
            raise mailbox_not_found() from None
        new: NewPassword | None = None
        if "password" in body or "password_confirmation" in body:
            new = await prepare_password(self.policy, body.get("password"), body.get("password_confirmation"),
                                         allow_generate=False)
        otp: dict[str, str] | None = None
        now = utcnow()
        async with self.db.transaction() as session:
            record = await self._locked(session, number, uid)
            access_before = _access(record)
            current = settings_from_json(record.settings or {})
            settings = apply_settings(_settings_changes(body), current)
            if "display_name" in body:
                record.display_name = _display_name(body["display_name"])
            if "status" in body:
                record.status = _status(body["status"])
            if new is not None:
                await store_password(session, record, new, settings, now, self.policy)
            elif settings.password_expiration != current.password_expiration:
                record.password_expires_at = expiry(record.password_set_at, settings.password_expiration)
            if settings.force_otp and not record.otp_secret:
                otp = self._new_otp(record.address)
                record.otp_secret = self.box.encrypt(otp["secret"])
            elif not settings.force_otp:
                record.otp_secret = None
            _apply_derived(record, settings)
            record.sieve_id, record.sieve_script = await sieve_columns_for(session, settings, record.address)
            record.updated_at = now
            revoked = _access(record) != access_before
        if revoked:
            self.listener.logins_revoked([record.address])
        return await self._read(number, uid, otp)

    async def reset_password(self, principal: Principal | None, mailbox_id: object,
                             body: Mapping[str, Any]) -> WithPassword:
        _check_fields(body, frozenset({"user_id", "password", "password_confirmation"}))
        uid = acting_user(principal, body.get("user_id"))
        try:
            number = _id(mailbox_id)
        except MailyardError:
            raise mailbox_not_found() from None
        new = await prepare_password(self.policy, body.get("password"), body.get("password_confirmation"),
                                     allow_generate=True)
        now = utcnow()
        async with self.db.transaction() as session:
            record = await self._locked(session, number, uid)
            settings = settings_from_json(record.settings or {})
            await store_password(session, record, new, settings, now, self.policy)
            record.updated_at = now
        # A reset is how an operator locks out whoever knew the old password: their sessions end too.
        self.listener.logins_revoked([record.address])
        return WithPassword(await self._read(number, uid), new)

    # -- deleting --------------------------------------------------------------------------------
    async def delete(self, principal: Principal | None, body: Mapping[str, Any]) -> MailboxView:
        uid = acting_user(principal, body.get("user_id"))
        if "id" not in body:
            raise invalid("id", "is required")
        number = _id(body.get("id"))
        view = await self._read(number, uid)
        async with self.db.transaction() as session:
            record = await self._locked(session, number, uid)
            await session.delete(record)
            await session.execute(delete(QuotaUsageRecord).where(QuotaUsageRecord.username == record.address))
            await session.flush()
            if record.is_default:
                await hand_on_default(session, uid)
        self.listener.mailboxes_removed([view.address])
        return view
