"""What a webhook POST carries: the EmailEngine-shaped JSON body, its headers, where it goes, and how a
failed attempt is described (without ever naming the URL, which may hold credentials)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from mailyard import __version__
from mailyard.events.settings import WebhookSettings
from mailyard.events.signing import SIGNATURE_HEADER, sign
from mailyard.timefmt import iso

USER_AGENT = f"Mailyard/{__version__} (webhooks)"
EVENT_ID_HEADER = "X-EE-Wh-Event-Id"
ATTEMPTS_HEADER = "X-EE-Wh-Attempts-Made"




def target(settings: WebhookSettings, account_url: str | None, event: str) -> str | None:
    """The URL this event goes to, or None when it is to be skipped (disabled, filtered out, no URL)."""
    if not settings.webhooks_enabled or not settings.wants(event):
        return None
    return account_url or settings.webhooks or None


def body(row: Any, settings: WebhookSettings) -> dict[str, Any]:
    """`{serviceUrl, account, date, path, specialUse, event, eventId, data}`; path and specialUse only when
    the event has them (EmailEngine leaves absent keys out)."""
    payload: dict[str, Any] = {
        "serviceUrl": settings.service_url,
        "account": row.account,
        "date": iso(row.created_at),
        "path": row.path,
        "specialUse": row.special_use,
        "event": row.event,
        "eventId": row.event_id,
        "data": row.data if row.data is not None else {},
    }
    for key in ("path", "specialUse"):
        if payload[key] is None:
            del payload[key]
    return payload


def request(row: Any, settings: WebhookSettings) -> tuple[bytes, dict[str, str]]:
    """The exact bytes to POST and their headers (signed when a serviceSecret is set)."""
    content = json.dumps(body(row, settings), separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: row.event_id,
        ATTEMPTS_HEADER: str(row.attempts),
    }
    if settings.service_secret:
        headers[SIGNATURE_HEADER] = sign(content, settings.service_secret)
    return content, headers


def failure(exc: BaseException, timeout: float) -> str:
    """A short, secret-free description of a failed attempt (exception texts can echo the URL)."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return f"ETIMEDOUT: no answer within {timeout:g}s"
    if isinstance(exc, httpx.ConnectError):
        return "ECONNREFUSED: could not connect to the webhook receiver"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "ECONNRESET: the receiver closed the connection"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "EINVALIDURL: the webhook URL cannot be used"
    return f"EFAILED: {type(exc).__name__}"
