"""Webhook settings (`/v1/settings`): stored in the `settings` table; `serviceSecret` encrypted, write-only.

Each setting is one row keyed by its EmailEngine name. `serviceSecret` lives in the encrypted `secret` column
and is only ever decrypted into memory, for signing. The dispatcher asks for the settings on every event, so
they are cached; an update made in this process refreshes the cache at once, one made by another process is
picked up when the cache is older than `max_age` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mailyard.errors import FieldError, invalid_fields
from mailyard.events.records import SettingRecord
from mailyard.events.types import EventType
from mailyard.security.secretbox import SecretBox
from mailyard.store.base import utcnow
from mailyard.store.db import Database

WEBHOOKS_ENABLED = "webhooksEnabled"
WEBHOOKS = "webhooks"
WEBHOOK_EVENTS = "webhookEvents"
SERVICE_URL = "serviceUrl"
SERVICE_SECRET = "serviceSecret"  # noqa: S105  (a setting's name, not a secret)
KEYS = (WEBHOOKS_ENABLED, WEBHOOKS, WEBHOOK_EVENTS, SERVICE_URL, SERVICE_SECRET)

URL_MAX = 2048
SECRET_MAX = 1024
ALL_EVENTS = "*"
EVENT_NAMES = frozenset(e.value for e in EventType)


@dataclass
class WebhookSettings:
    webhooks_enabled: bool = False
    webhooks: str | None = None
    webhook_events: list[str] | str = field(default_factory=lambda: "*")  # "*" or a list of event names
    service_url: str | None = None
    service_secret: str | None = None  # never rendered; `service_secret_set` says whether one exists

    @property
    def service_secret_set(self) -> bool:
        return bool(self.service_secret)

    def wants(self, event: str) -> bool:
        """Whether `webhookEvents` lets this event through."""
        return self.webhook_events == ALL_EVENTS or event in self.webhook_events


class SettingsService:
    """Reads (cached) and validates-then-writes the webhook settings. Treat returned settings as read-only."""

    def __init__(self, db: Database, box: SecretBox, *, max_age: float = 5.0,
                 default_service_url: str | None = None) -> None:
        self.db = db
        self.box = box
        self.max_age = max_age
        self.default_service_url = default_service_url
        self._cached: WebhookSettings | None = None
        self._loaded_at = 0.0

    async def webhook_settings(self) -> WebhookSettings:
        if self._cached is None or time.monotonic() - self._loaded_at > self.max_age:
            await self._load()
        assert self._cached is not None
        return self._cached

    def invalidate(self) -> None:
        """Forget the cache: the next read goes to the store."""
        self._cached = None

    async def update(self, changes: Mapping[str, Any]) -> WebhookSettings:
        """Validate every given key (EmailEngine names), then store them all in one transaction.

        `webhooks`/`serviceUrl`/`serviceSecret` set to null or "" clear the value; `webhookEvents` null means
        every event ("*"). Any invalid key raises a validation error naming each bad field; nothing changes.
        """
        rows = _validated(changes, self.box)
        if rows:
            for attempt in range(2):
                try:
                    await self._store(rows)
                    break
                except IntegrityError:  # another process inserted the same new key first: update it instead
                    if attempt:
                        raise
        await self._load()
        assert self._cached is not None
        return self._cached

    async def _store(self, rows: dict[str, tuple[Any, str | None]]) -> None:
        now = utcnow()
        async with self.db.transaction() as session:
            for key, (value, secret) in rows.items():
                row = await session.get(SettingRecord, key, with_for_update=True)
                if row is None:
                    session.add(SettingRecord(key=key, value=value, secret=secret, updated_at=now))
                else:
                    row.value, row.secret, row.updated_at = value, secret, now

    async def _load(self) -> None:
        table = SettingRecord.__table__
        rows = await self.db.read(select(table.c.key, table.c.value, table.c.secret).where(table.c.key.in_(KEYS)))
        stored = {row.key: row for row in rows}

        def value(key: str) -> Any:
            row = stored.get(key)
            return None if row is None else row.value

        events = value(WEBHOOK_EVENTS)
        secret_row = stored.get(SERVICE_SECRET)
        loaded = WebhookSettings(
            webhooks_enabled=value(WEBHOOKS_ENABLED) is True,
            webhooks=value(WEBHOOKS) or None,
            webhook_events=[str(e) for e in events] if isinstance(events, list) else ALL_EVENTS,
            service_url=value(SERVICE_URL) or self.default_service_url,
            service_secret=self.box.decrypt(secret_row.secret) if secret_row and secret_row.secret else None,
        )
        self._cached, self._loaded_at = loaded, time.monotonic()


def _validated(changes: Mapping[str, Any], box: SecretBox) -> dict[str, tuple[Any, str | None]]:
    """Checks every change; returns {key: (JSON value, sealed secret)} or raises naming all bad fields."""
    errors: list[FieldError] = []
    rows: dict[str, tuple[Any, str | None]] = {}
    for key, raw in changes.items():
        try:
            if key == WEBHOOKS_ENABLED:
                if not isinstance(raw, bool):
                    raise _Bad("must be a boolean")
                rows[key] = (raw, None)
            elif key in (WEBHOOKS, SERVICE_URL):
                rows[key] = (check_url(raw), None)
            elif key == WEBHOOK_EVENTS:
                rows[key] = (_events(raw), None)
            elif key == SERVICE_SECRET:
                if raw is not None and not isinstance(raw, str):
                    raise _Bad("must be a string")
                if raw and len(raw) > SECRET_MAX:
                    raise _Bad(f"length must be less than or equal to {SECRET_MAX} characters long")
                rows[key] = (None, box.encrypt(raw) if raw else None)
            else:
                raise _Bad("is not allowed")
        except _Bad as bad:
            errors.append(FieldError(key, str(bad)))
    if errors:
        raise invalid_fields(errors)
    return rows


class _Bad(ValueError):
    pass


def check_url(raw: Any) -> str | None:
    """An absolute http(s) URL (None or "" clear the setting); raises ValueError with the reason."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise _Bad("must be a string")
    if len(raw) > URL_MAX:
        raise _Bad(f"length must be less than or equal to {URL_MAX} characters long")
    if any(ch.isspace() or ord(ch) < 32 for ch in raw):
        raise _Bad("must be a valid http(s) URL")
    try:
        parts = urlsplit(raw)
        _ = parts.port  # raises for a port out of range or not a number
    except ValueError:
        raise _Bad("must be a valid http(s) URL") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise _Bad("must be a valid http(s) URL")
    return raw


def _events(raw: Any) -> list[str] | str:
    if raw is None or raw == ALL_EVENTS:
        return ALL_EVENTS
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise _Bad('must be a list of event names or "*"')
    if ALL_EVENTS in raw:
        return ALL_EVENTS
    unknown = [item for item in raw if item not in EVENT_NAMES]
    if unknown:
        shown = unknown[0] if len(unknown[0]) <= 64 else unknown[0][:64] + "…"
        raise _Bad(f'contains unknown event "{shown}" (known: {", ".join(sorted(EVENT_NAMES))})')
    return list(dict.fromkeys(raw))
