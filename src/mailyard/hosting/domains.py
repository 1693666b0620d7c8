"""The domain service: register a domain, tell which DNS records to publish, verify them, delete it.

A domain starts `pending`. Verification (on request, or by the background re-check) turns it `active`
once its MX and verification TXT are published; an admin may also set `active` or `suspended` directly.
Only active domains get new mailboxes and accept logins.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mailyard.errors import FieldError, MailyardError, conflict, forbidden, invalid, not_found
from mailyard.hosting.dkim import generate_dkim_key
from mailyard.hosting.dns_check import RecordCheck, all_required_found, check_records
from mailyard.hosting.dns_records import DnsRecord, new_verification_token, records_for
from mailyard.hosting.listener import HostingListener, NoListener
from mailyard.hosting.names import domain_name
from mailyard.hosting.records import HostedAliasRecord, HostedDomainRecord, HostedMailboxRecord, QuotaUsageRecord
from mailyard.hosting.tenancy import acting_user
from mailyard.security.secretbox import SecretBox
from mailyard.security.tokens import Principal
from mailyard.store.base import utcnow
from mailyard.store.db import Database

log = logging.getLogger(__name__)

DOMAIN_STATUSES = ("pending", "active", "suspended")
DKIM_SELECTOR = "mailyard"


async def hand_on_default(session: AsyncSession, user_id: str) -> None:
    """The user's default mailbox is gone: their oldest remaining mailbox (if any) takes over."""
    heir = await session.scalar(select(HostedMailboxRecord).where(HostedMailboxRecord.user_id == user_id)
                                .order_by(HostedMailboxRecord.id).limit(1))
    if heir is not None:
        heir.is_default = True


def domain_not_found(field: str | None = None) -> MailyardError:
    """404 for a domain that does not exist or belongs to another user (tenants cannot tell which).
    `field` names the request field that named it, when that was a body or query field."""
    error = not_found("Domain not found", "DomainNotFound", title="Not found")
    if field:
        error.errors.append(FieldError(field, "was not found"))
    return error


@dataclass(frozen=True)
class DomainView:
    id: int
    domain: str
    user_id: str
    organization_id: str | None
    status: str
    records: list[DnsRecord]
    checks: list[dict[str, Any]] | None
    checked_at: datetime | None
    verified_at: datetime | None
    created_at: datetime
    forward_mode: str = "store"
    webhook_url: str | None = None
    webhook_secret_set: bool = False
    mailboxes: int | None = None


@dataclass(frozen=True)
class VerifyResult:
    domain: DomainView
    checks: list[RecordCheck]
    verified: bool


class DomainService:
    def __init__(self, db: Database, box: SecretBox, *, mail_host: str, resolver: Callable[[], Any],
                 listener: HostingListener | None = None) -> None:
        self.db = db
        self.box = box
        self.mail_host = mail_host
        self.resolver = resolver
        self.listener: HostingListener = listener or NoListener()

    def _records(self, row: Any) -> list[DnsRecord]:
        return records_for(row.name, mail_host=self.mail_host, verification_token=row.verification_token,
                           dkim_selector=row.dkim_selector, dkim_public_b64=row.dkim_public_key)

    def _view(self, row: Any, mailboxes: int | None = None) -> DomainView:
        return DomainView(
            id=row.id, domain=row.name, user_id=row.user_id, organization_id=row.organization_id,
            status=row.status, records=self._records(row), checks=row.dns_checks, checked_at=row.checked_at,
            verified_at=row.verified_at, created_at=row.created_at, mailboxes=mailboxes,
            forward_mode=row.forward_mode or "store", webhook_url=row.webhook_url,
            webhook_secret_set=row.webhook_secret is not None,
        )

    async def _row(self, name: object, user_id: str, field: str | None = None) -> Any:
        """The domain row `user_id` owns. A name from the URL path that cannot be a domain is simply not
        found; a name from a body or query `field` that cannot be one is bad input naming that field."""
        if field:
            normalized = domain_name(name, field)
        else:
            try:
                normalized = domain_name(name)
            except MailyardError:
                raise domain_not_found() from None
        row = await self.db.read_one(select(HostedDomainRecord.__table__).where(HostedDomainRecord.name == normalized))
        if row is None or row.user_id != user_id:
            raise domain_not_found(field)
        return row

    # -- create / read ---------------------------------------------------------------------------
    async def create(self, principal: Principal | None, body: dict[str, Any]) -> DomainView:
        user_id = acting_user(principal, body.get("user_id"))
        name = domain_name(body.get("domain"))
        organization_id = body.get("organization_id")
        if organization_id is not None and (not isinstance(organization_id, str) or len(organization_id) > 255):
            raise invalid("organization_id", "must be a string of at most 255 characters")
        # 2048-bit RSA generation takes ~50-200 ms of CPU: off the event loop.
        key = await asyncio.to_thread(generate_dkim_key, DKIM_SELECTOR)
        now = utcnow()
        record = HostedDomainRecord(
            name=name, user_id=user_id, organization_id=organization_id, status="pending",
            verification_token=new_verification_token(), dkim_selector=key.selector,
            dkim_private_key=self.box.encrypt(key.private_pem), dkim_public_key=key.public_b64,
            created_at=now, updated_at=now,
        )
        try:
            async with self.db.transaction() as session:
                if await session.scalar(select(HostedDomainRecord.id).where(HostedDomainRecord.name == name)):
                    raise conflict(f"Domain {name} is already registered", "DomainExists")
                session.add(record)
        except IntegrityError:
            raise conflict(f"Domain {name} is already registered", "DomainExists") from None
        return self._view(record, mailboxes=0)

    async def list(self, principal: Principal | None, user_id: object, *, limit: int, offset: int) -> list[DomainView]:
        uid = acting_user(principal, user_id)
        rows = await self.db.read(
            select(HostedDomainRecord.__table__).where(HostedDomainRecord.user_id == uid)
            .order_by(HostedDomainRecord.id).limit(limit).offset(offset)
        )
        return [self._view(row) for row in rows]

    async def list_all(self, *, limit: int, offset: int) -> list[DomainView]:
        """Every user's domains with their mailbox counts: the operator's view (the dashboard)."""
        counts = (select(HostedMailboxRecord.domain_id, func.count().label("n"))
                  .group_by(HostedMailboxRecord.domain_id).subquery())
        rows = await self.db.read(
            select(HostedDomainRecord.__table__, counts.c.n)
            .outerjoin(counts, counts.c.domain_id == HostedDomainRecord.id)
            .order_by(HostedDomainRecord.name).limit(limit).offset(offset)
        )
        return [self._view(row, mailboxes=row.n or 0) for row in rows]

    async def owner(self, name: object) -> str:
        """The `user_id` a domain belongs to, for operator actions that have no user of their own."""
        try:
            normalized = domain_name(name)
        except MailyardError:
            raise domain_not_found() from None
        user_id = await self.db.read_scalar(
            select(HostedDomainRecord.user_id).where(HostedDomainRecord.name == normalized))
        if user_id is None:
            raise domain_not_found()
        return str(user_id)

    async def info(self, principal: Principal | None, name: object, user_id: object) -> DomainView:
        row = await self._row(name, acting_user(principal, user_id))
        count = await self.db.read_scalar(
            select(func.count()).select_from(HostedMailboxRecord).where(HostedMailboxRecord.domain_id == row.id)
        )
        return self._view(row, mailboxes=count or 0)

    async def get_for_mailboxes(self, principal: Principal | None, name: object, user_id: str,
                                field: str | None = None) -> Any:
        """The domain row a mailbox operation names (404 unless it belongs to `user_id`); `field` when
        the name came from the request body or query rather than the path."""
        return await self._row(name, user_id, field)

    # -- delete ----------------------------------------------------------------------------------
    async def delete(self, principal: Principal | None, body: dict[str, Any]) -> DomainView:
        user_id = acting_user(principal, body.get("user_id"))
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise invalid("force", "must be a boolean")
        row = await self._row(body.get("domain"), user_id, "domain")
        async with self.db.transaction() as session:
            mailboxes = (await session.execute(
                select(HostedMailboxRecord.address, HostedMailboxRecord.user_id, HostedMailboxRecord.is_default)
                .where(HostedMailboxRecord.domain_id == row.id)
            )).all()
            addresses = [mailbox.address for mailbox in mailboxes]
            if addresses and not force:
                raise conflict(
                    f"Domain {row.name} still has {len(addresses)} mailbox(es); delete them or pass force: true",
                    "DomainNotEmpty",
                )
            await session.execute(delete(QuotaUsageRecord).where(QuotaUsageRecord.username.in_(addresses)))
            await session.execute(delete(HostedAliasRecord).where(HostedAliasRecord.domain_id == row.id))
            await session.execute(delete(HostedMailboxRecord).where(HostedMailboxRecord.domain_id == row.id))
            await session.execute(delete(HostedDomainRecord).where(HostedDomainRecord.id == row.id))
            for owner in {mailbox.user_id for mailbox in mailboxes if mailbox.is_default}:
                await hand_on_default(session, owner)
        if addresses:
            self.listener.mailboxes_removed(addresses)
        return self._view(row, mailboxes=0)

    # -- status ----------------------------------------------------------------------------------
    async def set_status(self, principal: Principal | None, name: object, body: dict[str, Any]) -> DomainView:
        user_id = acting_user(principal, body.get("user_id"))
        if principal is not None and not principal.is_admin:
            raise forbidden("Only an admin token may set a domain's status")
        status = body.get("status")
        if status not in DOMAIN_STATUSES:
            raise invalid("status", f"must be one of {', '.join(DOMAIN_STATUSES)}")
        row = await self._row(name, user_id)
        now = utcnow()
        async with self.db.transaction() as session:
            record = await session.get(HostedDomainRecord, row.id)
            if record is None:
                raise domain_not_found()
            record.status = status
            record.updated_at = now
            if status == "active" and record.verified_at is None:
                record.verified_at = now
            addresses = list(await session.scalars(
                select(HostedMailboxRecord.address).where(HostedMailboxRecord.domain_id == row.id)
            ))
        if status != "active" and addresses:
            self.listener.logins_revoked(addresses)
        return await self.info(principal, name, user_id)

    # -- verification ----------------------------------------------------------------------------
    async def verify(self, principal: Principal | None, name: object, user_id: object) -> VerifyResult:
        row = await self._row(name, acting_user(principal, user_id))
        return await self._verify_row(row)

    async def _verify_row(self, row: Any) -> VerifyResult:
        checks = await check_records(self._records(row), self.resolver())
        verified = all_required_found(checks)
        now = utcnow()
        async with self.db.transaction() as session:
            record = await session.get(HostedDomainRecord, row.id)
            if record is None:
                raise domain_not_found()
            record.dns_checks = [check.to_json() for check in checks]
            record.checked_at = now
            # A suspended domain stays suspended: that is an operator's decision, not DNS's.
            if verified and record.status == "pending":
                record.status = "active"
                record.verified_at = now
            record.updated_at = now
        fresh = await self.db.read_one(select(HostedDomainRecord.__table__).where(HostedDomainRecord.id == row.id))
        return VerifyResult(self._view(fresh), checks, verified)

    async def recheck_pending(self) -> int:
        """Verify every pending domain once; returns how many became active."""
        rows = await self.db.read(
            select(HostedDomainRecord.__table__).where(HostedDomainRecord.status == "pending")
            .order_by(HostedDomainRecord.id)
        )
        activated = 0
        for row in rows:
            try:
                result = await self._verify_row(row)
            except MailyardError:
                continue  # deleted meanwhile
            activated += result.domain.status == "active"
        if activated:
            log.info("DNS re-check activated %d domain(s)", activated)
        return activated
