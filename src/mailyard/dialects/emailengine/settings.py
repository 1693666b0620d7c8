"""EmailEngine dialect: `/v1/settings`, the webhook settings (admin only). `serviceSecret` is write-only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from mailyard.api.auth import require
from mailyard.events.settings import ALL_EVENTS, SettingsService, WebhookSettings
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

router = APIRouter(prefix="/v1", tags=["Settings"])
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]


def _service(request: Request) -> SettingsService:
    return request.app.state.runtime.settings_store


class SettingsOut(BaseModel):
    webhooksEnabled: bool = Field(description="Whether webhooks are sent at all")
    webhooks: str | None = Field(description="Webhook URL (an account's own `webhooks` URL overrides it)")
    webhookEvents: list[str] = Field(description='Event names that are sent; ["*"] for all')
    serviceUrl: str | None = Field(description="This service's public URL, included in every webhook")
    serviceSecretSet: bool = Field(description="Whether a serviceSecret is set (the secret is never shown)")


class SettingsUpdate(BaseModel):
    """Any subset of the settings; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    webhooksEnabled: bool | None = Field(None, description="Send webhooks")
    webhooks: str | None = Field(None, description='http(s) URL receiving webhooks; null or "" clears it')
    webhookEvents: Any = Field(None, description='List of event names to send, or "*" for all',
                               json_schema_extra={"anyOf": [{"type": "array", "items": {"type": "string"}},
                                                            {"type": "string", "enum": ["*"]}]})
    serviceUrl: str | None = Field(None, description="This service's public http(s) URL")
    serviceSecret: str | None = Field(None, description="Secret for the X-EE-Wh-Signature HMAC; null clears it")


class SettingsUpdated(BaseModel):
    updated: list[str] = Field(description="The keys that were updated")


def _out(settings: WebhookSettings) -> SettingsOut:
    events = settings.webhook_events
    return SettingsOut(
        webhooksEnabled=settings.webhooks_enabled,
        webhooks=settings.webhooks,
        webhookEvents=[ALL_EVENTS] if events == ALL_EVENTS else list(events),
        serviceUrl=settings.service_url,
        serviceSecretSet=settings.service_secret_set,
    )


@router.get("/settings", response_model=SettingsOut, summary="Webhook settings (never the serviceSecret)")
async def get_settings(request: Request, _: Admin) -> SettingsOut:
    return _out(await _service(request).webhook_settings())


@router.post("/settings", response_model=SettingsUpdated, summary="Set webhook settings")
async def set_settings(body: SettingsUpdate, request: Request, _: Admin) -> SettingsUpdated:
    changes = body.model_dump(exclude_unset=True)
    await _service(request).update(changes)
    request.app.state.runtime.webhooks.wake()
    return SettingsUpdated(updated=list(changes))
