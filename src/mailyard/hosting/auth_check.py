"""`/v2/auth/check`: may this address log in to this service from this client with this password?

Front ends Mailyard does not run itself (webmail, DAV, ActiveSync, chat ...) delegate logins here. The
answer applies the same SQL login rules Dovecot applies (`login_rules.py`), the mailbox's allowed
networks, and the one-time code a `force_otp` mailbox requires.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, text

from mailyard.errors import invalid
from mailyard.hosting.login_rules import FROM_SQL, denial_case
from mailyard.hosting.names import login_address
from mailyard.hosting.settings import MailboxSettings, settings_from_json
from mailyard.security import totp
from mailyard.security.passwords import verify_password
from mailyard.security.secretbox import SecretBox
from mailyard.security.tokens import Principal
from mailyard.store.db import Database

SERVICES = ("imap", "pop3", "smtp", "submission", "sieve", "webmail", "chat", "activesync", "meeting",
            "calendar", "dav", "api")
BAD_CREDENTIALS = "invalid credentials"


@dataclass(frozen=True)
class AuthDecision:
    allow: bool
    reason: str | None = None
    address: str | None = None
    password_change_required: bool = False

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"allow": self.allow, "reason": self.reason}
        if self.allow:
            body["address"] = self.address
            body["password_change_required"] = self.password_change_required
        return body


def text_field(body: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 1024) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise invalid(name, "is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(name, f"must be a string of at most {limit} characters")
    return value


def _client_allowed(allow_nets: str | None, remote_ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    if not allow_nets:
        return True
    if remote_ip is None:
        return False
    return any(remote_ip in ipaddress.ip_network(net, strict=False) for net in allow_nets.split(","))


class AuthChecker:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box
        # Built from the fixed rule texts only; caller values are bound parameters.
        self._query = text(
            "SELECT m.id, m.address, m.user_id, m.password_hash, m.allow_nets, m.settings, m.otp_secret, "  # noqa: S608
            f"{denial_case(db.backend, ':service')} AS denied FROM {FROM_SQL} WHERE m.address = :address"
        ).columns(settings=JSON)

    async def check(self, principal: Principal | None, body: Mapping[str, Any]) -> AuthDecision:
        unknown = sorted(set(body) - {"address", "password", "service", "remote_ip", "otp"})
        if unknown:
            raise invalid(unknown[0], "is not a recognised field")
        address = login_address(text_field(body, "address", limit=320) or "")
        password = text_field(body, "password") or ""
        service = text_field(body, "service", limit=32)
        if service not in SERVICES:
            raise invalid("service", f"must be one of {', '.join(SERVICES)}")
        remote = text_field(body, "remote_ip", required=False, limit=64)
        try:
            remote_ip = ipaddress.ip_address(remote) if remote else None
        except ValueError:
            raise invalid("remote_ip", "is not a valid IP address") from None
        otp_code = text_field(body, "otp", required=False, limit=16)

        row = await self.verified(principal, address, password, service)
        if row is None:
            return AuthDecision(False, BAD_CREDENTIALS)
        if row.denied:
            return AuthDecision(False, row.denied)
        settings = settings_from_json(row.settings or {})
        if (service != "webmail" or settings.apply_allow_nets_webmail) and not _client_allowed(row.allow_nets,
                                                                                               remote_ip):
            return AuthDecision(False, "client network not allowed")
        refusal = self.otp_refusal(row, settings, otp_code)
        if refusal:
            return AuthDecision(False, refusal)
        return AuthDecision(True, None, row.address, settings.force_new_password)

    async def verified(self, principal: Principal | None, address: str, password: str, service: str) -> Any:
        """The mailbox row (with `denied`, the first broken login rule) when the password matches, else None."""
        row = await self.db.read_one(self._query, {"address": address, "service": service})
        if row is None or (principal is not None and principal.tenant and row.user_id != principal.tenant):
            return None
        # The password first, as Dovecot does: no other reason is revealed to a caller without it.
        if not await asyncio.to_thread(verify_password, row.password_hash, password):
            return None
        return row

    def otp_refusal(self, row: Any, settings: MailboxSettings, code: str | None) -> str | None:
        """Why a force_otp mailbox's one-time code is not acceptable, or None."""
        if not settings.force_otp:
            return None
        if not code:
            return "one-time code required"
        secret = self.box.decrypt_optional(row.otp_secret)
        if secret is None or not totp.verify(secret, code):
            return "invalid one-time code"
        return None
