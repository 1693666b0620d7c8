"""Aliases of hosted domains: an address that delivers to up to 20 destinations, inside or outside Mailyard.

Postfix expands them (virtual_alias_maps over `hosted_aliases.destinations_text`). An alias address may
not also be a mailbox, may not deliver to itself, and may not point at a `.invalid` domain (where Mailyard's
webhook copies go). An alias's owner (a mailbox among its destinations) may send as it when the mailbox has
restrict_from_field, and its autoresponder answers mail sent to the alias: creating or deleting an alias
re-renders the Sieve scripts of the mailboxes it reaches, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import PydanticCustomError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from mailyard.errors import FieldError, MailyardError, conflict, invalid, invalid_fields, not_found
from mailyard.hosting.domains import DomainService
from mailyard.hosting.mailbox_views import mailboxes_reached, refresh_sieve
from mailyard.hosting.names import local_part
from mailyard.hosting.records import HostedAliasRecord, HostedMailboxRecord
from mailyard.hosting.settings import normalize_email
from mailyard.hosting.tenancy import acting_user
from mailyard.security.tokens import Principal
from mailyard.store.base import utcnow
from mailyard.store.db import Database

MAX_DESTINATIONS = 20


@dataclass(frozen=True)
class AliasView:
    id: int
    domain: str
    name: str
    address: str
    destinations: list[str]
    created_at: datetime


def alias_not_found() -> MailyardError:
    return not_found("Alias not found", "AliasNotFound", title="Not found")


def _destinations(value: object, address: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise invalid("destinations", f"must be a list of 1 to {MAX_DESTINATIONS} email addresses")
    errors: list[FieldError] = []
    found: list[str] = []
    for index, item in enumerate(value):
        try:
            if not isinstance(item, str):
                raise ValueError
            destination = normalize_email(item)
        except PydanticCustomError as exc:
            errors.append(FieldError(f"destinations.{index}", exc.message()))
            continue
        except ValueError:
            errors.append(FieldError(f"destinations.{index}", "is not a valid email address"))
            continue
        if destination.lower() not in (f.lower() for f in found):
            found.append(destination)
    if errors:
        raise invalid_fields(errors)
    if len(found) > MAX_DESTINATIONS:
        raise invalid("destinations", f"must have at most {MAX_DESTINATIONS} addresses")
    if address.lower() in (f.lower() for f in found):
        # Postfix would expand it into itself until its recursion limit and bounce every message.
        raise invalid("destinations", f"must not include the alias's own address {address}")
    return found


class AliasService:
    def __init__(self, db: Database, domains: DomainService) -> None:
        self.db = db
        self.domains = domains

    @staticmethod
    def _view(row: Any, domain: str) -> AliasView:
        return AliasView(row.id, domain, row.name, row.address, list(row.destinations), row.created_at)

    async def create(self, principal: Principal | None, domain: object, body: Mapping[str, Any]) -> AliasView:
        unknown = sorted(set(body) - {"user_id", "name", "destinations"})
        if unknown:
            raise invalid(unknown[0], "is not a recognised field")
        user_id = acting_user(principal, body.get("user_id"))
        row = await self.domains.get_for_mailboxes(principal, domain, user_id)
        name = local_part(body.get("name"), field="name")
        address = f"{name}@{row.name}"
        destinations = _destinations(body.get("destinations"), address)
        record = HostedAliasRecord(domain_id=row.id, user_id=user_id, name=name, address=address,
                                   destinations=destinations, destinations_text=",".join(destinations),
                                   created_at=utcnow())
        try:
            async with self.db.transaction() as session:
                for model in (HostedMailboxRecord, HostedAliasRecord):
                    if await session.scalar(select(model.id).where(model.address == address)):
                        raise conflict(f"{address} already exists", "AliasExists")
                session.add(record)
                await refresh_sieve(session, await mailboxes_reached(session, destinations))
        except IntegrityError:
            raise conflict(f"{address} already exists", "AliasExists") from None
        return self._view(record, row.name)

    async def list(self, principal: Principal | None, domain: object, user_id: object, *, limit: int,
                   offset: int) -> list[AliasView]:
        uid = acting_user(principal, user_id)
        row = await self.domains.get_for_mailboxes(principal, domain, uid)
        rows = await self.db.read(select(HostedAliasRecord.__table__).where(HostedAliasRecord.domain_id == row.id)
                                  .order_by(HostedAliasRecord.name).limit(limit).offset(offset))
        return [self._view(alias, row.name) for alias in rows]

    async def delete(self, principal: Principal | None, domain: object, name: object, user_id: object) -> AliasView:
        uid = acting_user(principal, user_id)
        row = await self.domains.get_for_mailboxes(principal, domain, uid)
        try:
            alias_name = local_part(name, field="name")
        except MailyardError:
            raise alias_not_found() from None
        address = f"{alias_name}@{row.name}"
        async with self.db.transaction() as session:
            alias = await session.scalar(select(HostedAliasRecord).where(HostedAliasRecord.address == address))
            if alias is None:
                raise alias_not_found()
            view = self._view(alias, row.name)
            reached = await mailboxes_reached(session, view.destinations)
            await session.execute(delete(HostedAliasRecord).where(HostedAliasRecord.id == alias.id))
            await refresh_sieve(session, reached)
        return view
