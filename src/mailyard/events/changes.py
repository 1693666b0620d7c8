"""The change feed behind `GET /v1/changes`: account state changes fanned out to subscribers."""

from __future__ import annotations

from typing import Any


class ChangeFeed:
    """Placeholder: implemented in the webhook part of issue 4."""

    def publish(self, change: dict[str, Any]) -> None:
        return None
