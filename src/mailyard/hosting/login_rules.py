"""The login rules of hosted mailboxes, written once as SQL and used by both Dovecot and /v2/auth/check.

Each rule is a condition over `m` (hosted_mailboxes) and `d` (hosted_domains) that refuses the login
with its reason when true. `{service}` stands for the protocol asking (Dovecot's `%s`, or the service
named to /v2/auth/check) and `{now}` for the database's current time. Client networks (`allow_nets`)
are not here: Dovecot applies its own `allow_nets` passdb field, and auth/check the same list in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Backend = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class LoginRule:
    reason: str
    condition: str


LOGIN_RULES: tuple[LoginRule, ...] = (
    LoginRule("mailbox disabled", "m.status <> 'active'"),
    LoginRule("domain not active", "d.status <> 'active'"),
    LoginRule("password expired", "m.password_expires_at IS NOT NULL AND m.password_expires_at < {now}"),
    LoginRule("service disabled for this mailbox", "m.disabled_services LIKE '%,' || {service} || ',%'"),
)

# SQLAlchemy stores SQLite datetimes as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, which sorts against
# datetime('now') as text; PostgreSQL compares timestamptz natively.
NOW_SQL: dict[Backend, str] = {"sqlite": "datetime('now')", "postgresql": "now()"}

FROM_SQL = "hosted_mailboxes m JOIN hosted_domains d ON d.id = m.domain_id"


def _rules(backend: Backend, service: str, *, percent: str) -> list[tuple[str, str]]:
    """(reason, condition) pairs; `percent` is how a literal % must be written for the consumer."""
    return [
        (rule.reason, rule.condition.replace("%", percent).format(now=NOW_SQL[backend], service=service))
        for rule in LOGIN_RULES
    ]


def denial_case(backend: Backend, service: str, *, percent: str = "%") -> str:
    """`CASE WHEN rule THEN 'reason' ... END`: the first broken rule's reason, NULL when none applies."""
    whens = " ".join(f"WHEN {condition} THEN '{reason}'" for reason, condition in _rules(backend, service,
                                                                                            percent=percent))
    return f"CASE {whens} END"
