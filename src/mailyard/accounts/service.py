"""The account service: every rule for creating, reading, listing, updating and deleting connected
accounts. Dialects call it; the engine hears about changes through `AccountChangeListener`."""

from __future__ import annotations

import math
import secrets
import string
from collections.abc import AsyncIterator
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mailyard.accounts import codec
from mailyard.accounts.config import AccountConfig, AccountPage, AccountSummary, AccountView
from mailyard.accounts.model import AccountCreate, AccountFields, AccountUpdate
from mailyard.accounts.records import AccountRecord
from mailyard.accounts.rules import check_new_account
from mailyard.accounts.states import ERROR_STATES, AccountState
from mailyard.errors import conflict, invalid, not_found
from mailyard.events.outbox import NewEvent, write_events
from mailyard.events.types import EventType
from mailyard.security.secretbox import SecretBox
from mailyard.security.tokens import Principal
from mailyard.store.base import utcnow
from mailyard.store.db import Database

_ID_ALPHABET = string.ascii_lowercase + string.digits
# Changing any of these means the engine must reconnect the account.
_CONNECTION_FIELDS = frozenset({"imap", "smtp", "oauth2", "path", "subconnections", "disabled"})


_ACCOUNT_BY_ID = select(AccountRecord.__table__).where(AccountRecord.id == bindparam("id"))


class AccountChangeListener(Protocol):
    """Told after each committed change: the engine acts on the account, webhook delivery wakes up."""

    def account_changed(self, account_id: str) -> None: ...

    def events_written(self) -> None: ...

    def sync_requested(self, account_id: str) -> None: ...


class _NoListener:
    def account_changed(self, account_id: str) -> None:
        return None

    def events_written(self) -> None:
        return None

    def sync_requested(self, account_id: str) -> None:
        return None


def account_not_found() -> Exception:
    return not_found("Account record was not found for requested ID", "AccountNotFound", title="Account not found")


def _search_text(account_id: str, name: str | None, email: str | None) -> str:
    return "\n".join((account_id, name or "", email or "")).lower()


def _like_pattern(query: str) -> str:
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class AccountService:
    def __init__(self, db: Database, box: SecretBox, listener: AccountChangeListener | None = None) -> None:
        self.db = db
        self.box = box
        self.listener: AccountChangeListener = listener or _NoListener()

    # -- reading ---------------------------------------------------------------------------------
    async def _load(self, session: AsyncSession, account_id: str, principal: Principal | None) -> AccountRecord:
        row = await session.get(AccountRecord, account_id)
        if row is None or (principal is not None and principal.tenant and row.tenant != principal.tenant):
            raise account_not_found()
        return row

    async def get(self, account_id: str, principal: Principal | None) -> AccountView:
        row = await self.db.read_one(_ACCOUNT_BY_ID, {"id": account_id})
        if row is None or (principal is not None and principal.tenant and row.tenant != principal.tenant):
            raise account_not_found()
        return self._view(row)

    @staticmethod
    def _view(row: Any) -> AccountView:
        return AccountView(
            id=row.id, name=row.name, email=row.email, state=row.state, disabled=row.disabled,
            imap=row.imap, smtp=row.smtp, oauth2=row.oauth2, path=row.path,
            subconnections=list(row.subconnections or []), webhooks=row.webhooks, notify_from=row.notify_from,
            sync_time=row.sync_time, last_error=row.last_error, smtp_status=row.smtp_status,
            counters=dict(row.counters or {}), created_at=row.created_at, updated_at=row.updated_at,
        )

    async def list(
        self, *, state: str | None, query: str | None, page: int, page_size: int, principal: Principal | None
    ) -> AccountPage:
        conditions: list[Any] = []
        if state is not None:
            if state not in {s.value for s in AccountState}:
                raise invalid("state", f"must be one of {', '.join(s.value for s in AccountState)}")
            conditions.append(AccountRecord.state == state)
        if query:
            conditions.append(AccountRecord.search.like(_like_pattern(query), escape="\\"))
        if principal is not None and principal.tenant:
            conditions.append(AccountRecord.tenant == principal.tenant)
        columns = (AccountRecord.id, AccountRecord.name, AccountRecord.email, AccountRecord.state,
                   AccountRecord.sync_time, AccountRecord.last_error)
        # Both use covering indexes: (state, id) for the state filter, (id, search) for `query`.
        total = await self.db.read_scalar(select(func.count()).select_from(AccountRecord).where(*conditions)) or 0
        rows = await self.db.read(
            select(*columns).where(*conditions).order_by(AccountRecord.id).limit(page_size).offset(page * page_size)
        )
        return AccountPage(
            accounts=[AccountSummary(*row) for row in rows],
            total=total, page=page, pages=math.ceil(total / page_size) if total else 0,
        )

    async def needing_attention(self, limit: int = 20) -> list[AccountSummary]:
        """Accounts in an error state, or retrying after one (a failing account passes through
        `connecting` on every retry and would otherwise drop off the list between attempts)."""
        retrying = (AccountState.INIT.value, AccountState.CONNECTING.value)
        condition = or_(AccountRecord.state.in_([s.value for s in ERROR_STATES]),
                        and_(AccountRecord.state.in_(retrying), AccountRecord.last_error.is_not(None),
                             AccountRecord.disabled.is_(False)))
        rows = await self.db.read(
            select(AccountRecord.id, AccountRecord.name, AccountRecord.email, AccountRecord.state,
                   AccountRecord.sync_time, AccountRecord.last_error)
            .where(condition).order_by(AccountRecord.updated_at.desc()).limit(limit)
        )
        return [AccountSummary(*row) for row in rows]

    async def count_by_state(self) -> dict[str, int]:
        rows = await self.db.read(select(AccountRecord.state, func.count()).group_by(AccountRecord.state))
        return {state: count for state, count in rows}

    async def load_config(self, account_id: str) -> AccountConfig | None:
        """The engine's view of an account, secrets decrypted; None when it no longer exists."""
        row = await self.db.read_one(_ACCOUNT_BY_ID, {"id": account_id})
        return None if row is None else self._config(row)

    async def enabled_configs(self, batch: int = 500) -> AsyncIterator[AccountConfig]:
        """Every enabled account, in id order, a batch at a time (the engine's start-up)."""
        last = ""
        while True:
            table = AccountRecord.__table__
            rows = await self.db.read(
                select(table).where(table.c.disabled.is_(False), table.c.id > last).order_by(table.c.id).limit(batch)
            )
            for row in rows:
                yield self._config(row)
            if len(rows) < batch:
                return
            last = rows[-1].id

    def _config(self, row: Any) -> AccountConfig:
        full = codec.unseal(self.box, {"imap": row.imap, "smtp": row.smtp, "oauth2": row.oauth2}, row.credentials)
        return AccountConfig(
            id=row.id, generation=row.generation, disabled=row.disabled, email=row.email,
            imap=full["imap"], smtp=full["smtp"], oauth2=full["oauth2"], path=row.path,
            subconnections=list(row.subconnections or []), notify_from=row.notify_from, webhooks=row.webhooks,
            initialized_at=row.initialized_at, notified_error=row.notified_error,
        )

    # -- writing ---------------------------------------------------------------------------------
    async def upsert(self, body: AccountCreate, principal: Principal | None, *,
                     only_new: bool = False) -> tuple[str, bool]:
        """Create the account, or update it when the id exists; returns (id, created). `only_new` refuses
        an existing id instead (409 AccountIdInUse), checked in the same transaction as the insert."""
        account_id = body.account or await self._fresh_id()
        async with self.db.transaction() as session:
            row = await session.get(AccountRecord, account_id, with_for_update=True)
            if row is not None:
                if only_new or (principal is not None and principal.tenant and row.tenant != principal.tenant):
                    raise conflict("This account id is already in use", "AccountIdInUse")
                self._apply(row, body, replace_missing=False)
                created = False
            else:
                sections = {name: codec.merge(None, getattr(body, name)) for name in codec.SECTIONS}
                check_new_account(sections["imap"], sections["smtp"], sections["oauth2"])
                row = AccountRecord(id=account_id, tenant=principal.tenant if principal else None,
                                    counters={}, created_at=utcnow())
                self._apply(row, body, replace_missing=True)
                session.add(row)
                await session.flush()
                await write_events(session, account_id, [NewEvent(EventType.ACCOUNT_ADDED, {
                    "account": account_id, "name": row.name, "email": row.email})])
                created = True
        self.listener.account_changed(account_id)
        if created:
            self.listener.events_written()
        return account_id, created

    async def update(self, account_id: str, body: AccountUpdate, principal: Principal | None) -> str:
        async with self.db.transaction() as session:
            row = await self._load(session, account_id, principal)
            self._apply(row, body, replace_missing=False)
        self.listener.account_changed(account_id)
        return account_id

    def _apply(self, row: AccountRecord, body: AccountFields, *, replace_missing: bool) -> None:
        sent = body.model_fields_set
        stored = codec.unseal(self.box, {"imap": row.imap, "smtp": row.smtp, "oauth2": row.oauth2}, row.credentials)
        sections = {
            name: codec.merge(stored[name], getattr(body, name)) if name in sent else stored[name]
            for name in codec.SECTIONS
        }
        public, row.credentials = codec.seal(self.box, sections)
        row.imap, row.smtp, row.oauth2 = public["imap"], public["smtp"], public["oauth2"]
        if "name" in sent or replace_missing:
            row.name = body.name
        if "email" in sent or replace_missing:
            row.email = body.email
        if "path" in sent or replace_missing:
            row.path = body.path if body.path is not None else "*"
        if "subconnections" in sent or replace_missing:
            row.subconnections = list(body.subconnections or [])
        if "webhooks" in sent or replace_missing:
            row.webhooks = str(body.webhooks) if body.webhooks else None
        if "notifyFrom" in sent or replace_missing:
            row.notify_from = body.notifyFrom
        if "disabled" in sent or replace_missing:
            row.disabled = bool(body.disabled)
        row.search = _search_text(row.id, row.name, row.email)
        row.updated_at = utcnow()
        if replace_missing or sent & _CONNECTION_FIELDS:
            row.generation = (row.generation or 0) + 1
            row.state = (AccountState.DISCONNECTED if row.disabled else AccountState.INIT).value
            if row.disabled:
                row.last_error = None

    async def reconnect(self, account_id: str, principal: Principal | None) -> None:
        async with self.db.transaction() as session:
            row = await self._load(session, account_id, principal)
            if not row.disabled:
                row.generation += 1
        self.listener.account_changed(account_id)

    async def request_sync(self, account_id: str, principal: Principal | None) -> None:
        """Resync every watched folder of the account now (`PUT /v1/account/{id}/sync`)."""
        await self.get(account_id, principal)
        self.listener.sync_requested(account_id)

    async def delete(self, account_id: str, principal: Principal | None) -> None:
        """Remove the account and its stored credentials; nothing on the mail server is touched."""
        async with self.db.transaction() as session:
            row = await self._load(session, account_id, principal)
            await write_events(session, account_id, [NewEvent(EventType.ACCOUNT_DELETED, {"account": account_id})],
                               count=False)
            await session.delete(row)
        self.listener.account_changed(account_id)
        self.listener.events_written()

    async def _fresh_id(self) -> str:
        while True:
            candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))
            if await self.db.read_one(_ACCOUNT_BY_ID, {"id": candidate}) is None:
                return candidate
