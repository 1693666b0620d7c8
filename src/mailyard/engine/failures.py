"""Why a connection or login failed, as stable codes (the ones EmailEngine clients know)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FailureCode(StrEnum):
    AUTHENTICATION_FAILED = "AUTHENTICATIONFAILED"
    CONNECTION_REFUSED = "ECONNREFUSED"
    TIMED_OUT = "ETIMEDOUT"
    NOT_FOUND = "ENOTFOUND"
    TLS = "ETLS"
    CONNECTION_LOST = "ECONNRESET"
    PROTOCOL = "EPROTOCOL"
    NO_CREDENTIALS = "NoCredentials"
    NOT_CONFIGURED = "NotConfigured"


AUTH_CODES = frozenset({FailureCode.AUTHENTICATION_FAILED, FailureCode.NO_CREDENTIALS})


@dataclass(frozen=True)
class Failure(Exception):
    """A failed connect or login. `response` is safe to show: it never holds a credential."""

    code: FailureCode
    response: str

    @property
    def is_auth(self) -> bool:
        return self.code in AUTH_CODES

    def __str__(self) -> str:
        return f"{self.code}: {self.response}"
