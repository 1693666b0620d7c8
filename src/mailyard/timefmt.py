"""The one date format the APIs and webhooks speak: ISO 8601 in UTC with milliseconds and `Z`
(`2024-01-15T10:30:00.000Z`), as EmailEngine writes dates."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
