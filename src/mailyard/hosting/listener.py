"""What the hosting services tell the rest of the process after a change is committed."""

from __future__ import annotations

from typing import Protocol


class HostingListener(Protocol):
    def mailboxes_removed(self, addresses: list[str]) -> None:
        """These mailboxes are gone: end their sessions and remove their mail."""

    def logins_revoked(self, addresses: list[str]) -> None:
        """These mailboxes' open sessions may no longer be allowed: end them (new logins re-check the rules)."""


class NoListener:
    def mailboxes_removed(self, addresses: list[str]) -> None:
        return None

    def logins_revoked(self, addresses: list[str]) -> None:
        return None
