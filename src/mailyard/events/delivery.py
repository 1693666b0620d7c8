"""Webhook delivery from the outbox: signed POSTs, retried with backoff, in order per account."""

from __future__ import annotations

from dataclasses import dataclass

from mailyard.events.settings import SettingsService
from mailyard.store.db import Database


@dataclass(frozen=True)
class DeliveryOptions:
    timeout: float = 10.0
    retry_base: float = 1.0
    retry_cap: float = 3600.0
    retry_window_hours: float = 48.0
    retention_days: float = 7.0
    parallel: int = 32


class WebhookDispatcher:
    """Placeholder: implemented in the webhook part of issue 4."""

    def __init__(self, db: Database, settings: SettingsService, options: DeliveryOptions) -> None:
        self.db = db
        self.settings = settings
        self.options = options

    def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def wake(self) -> None:
        return None
