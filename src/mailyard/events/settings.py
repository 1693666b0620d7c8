"""Webhook settings (`/v1/settings`): stored in the `settings` table; `serviceSecret` encrypted, write-only."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailyard.security.secretbox import SecretBox
from mailyard.store.db import Database


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


class SettingsService:
    """Placeholder: implemented in the webhook part of issue 4."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    async def webhook_settings(self) -> WebhookSettings:
        raise NotImplementedError
