"""From an account's stored settings to what the engine connects to, or why it cannot connect at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mailyard.accounts.config import AccountConfig
from mailyard.accounts.states import AccountState
from mailyard.engine.failures import Failure, FailureCode
from mailyard.engine.imap import Credentials, ImapEndpoint
from mailyard.engine.smtp import SmtpEndpoint

# Where OAuth2 providers keep their mail servers (used when the account gives no imap/smtp host).
PROVIDER_SERVERS: dict[str, tuple[tuple[str, int, bool], tuple[str, int, bool]]] = {
    "gmail": (("imap.gmail.com", 993, True), ("smtp.gmail.com", 465, True)),
    "gmailService": (("imap.gmail.com", 993, True), ("smtp.gmail.com", 465, True)),
    "outlook": (("outlook.office365.com", 993, True), ("smtp.office365.com", 587, False)),
    "mailRu": (("imap.mail.ru", 993, True), ("smtp.mail.ru", 465, True)),
}
_TOKEN_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True)
class Blocked:
    """The account cannot connect until its settings change."""

    state: AccountState
    failure: Failure


@dataclass(frozen=True)
class ConnectionPlan:
    imap: ImapEndpoint | None
    imap_credentials: Credentials | None
    smtp: SmtpEndpoint | None
    smtp_credentials: Credentials | None
    blocked: Blocked | None = None


def _tls_fields(section: dict[str, Any]) -> dict[str, Any]:
    tls = section.get("tls") or {}
    return {
        "reject_unauthorized": tls.get("rejectUnauthorized", True),
        "min_tls_version": tls.get("minVersion"),
        "servername": tls.get("servername"),
    }


def imap_endpoint(section: dict[str, Any], host: str, port: int, secure: bool) -> ImapEndpoint:
    return ImapEndpoint(host, int(port), bool(secure), section.get("doSTARTTLS"), **_tls_fields(section))


def smtp_endpoint(section: dict[str, Any], host: str, port: int, secure: bool) -> SmtpEndpoint:
    return SmtpEndpoint(host, int(port), bool(secure), section.get("doSTARTTLS"), **_tls_fields(section))


def password_credentials(section: dict[str, Any]) -> Credentials | None:
    auth = section.get("auth") or {}
    if not auth.get("user") or not (auth.get("pass") or auth.get("accessToken")):
        return None
    return Credentials(auth["user"], password=auth.get("pass"), access_token=auth.get("accessToken"))


def _oauth2_token(oauth2: dict[str, Any], email: str | None, now: datetime) -> Credentials | None:
    token = oauth2.get("accessToken")
    user = (oauth2.get("auth") or {}).get("user") or email
    expires = oauth2.get("expires")
    if expires:
        when = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if when <= now + _TOKEN_MARGIN:
            return None
    if not token or not user:
        return None
    return Credentials(user, access_token=token)


def _blocked(state: AccountState, code: FailureCode, response: str) -> ConnectionPlan:
    return ConnectionPlan(None, None, None, None, Blocked(state, Failure(code, response)))


def build_plan(config: AccountConfig, now: datetime | None = None) -> ConnectionPlan:
    now = now or datetime.now(UTC)
    imap = config.imap or {}
    smtp = config.smtp or {}
    oauth2 = config.oauth2
    provider = PROVIDER_SERVERS.get((oauth2 or {}).get("provider") or "")
    token: Credentials | None = None
    if oauth2 is not None:
        token = _oauth2_token(oauth2, config.email, now)
        if token is None:
            return _blocked(AccountState.UNSET, FailureCode.NO_CREDENTIALS,
                            "OAuth2 authentication is not complete: no usable access token")

    imap_target: ImapEndpoint | None = None
    imap_credentials: Credentials | None = None
    if not imap.get("disabled"):
        host, port, secure = imap.get("host"), imap.get("port"), imap.get("secure")
        if not host and provider:
            host, port, secure = provider[0]
        if not host or not port:
            return _blocked(AccountState.CONNECT_ERROR, FailureCode.NOT_CONFIGURED,
                            'IMAP host and port are not set (an update without "partial": true replaces the '
                            "whole imap object)")
        imap_target = imap_endpoint(imap, host, port, bool(secure))
        imap_credentials = token or password_credentials(imap)
        if imap_credentials is None:
            reason = ("authentication server is not configured" if imap.get("useAuthServer")
                      else "no IMAP password or access token is stored")
            return _blocked(AccountState.AUTHENTICATION_ERROR, FailureCode.NO_CREDENTIALS, reason)

    smtp_target: SmtpEndpoint | None = None
    smtp_credentials: Credentials | None = None
    host, port, secure = smtp.get("host"), smtp.get("port"), smtp.get("secure")
    if not host and provider and config.smtp is None:
        host, port, secure = provider[1]
    if host and port:
        smtp_target = smtp_endpoint(smtp, host, port, bool(secure))
        smtp_credentials = token or password_credentials(smtp)
    if imap_target is None and smtp_target is None:
        return _blocked(AccountState.CONNECT_ERROR, FailureCode.NOT_CONFIGURED, "neither IMAP nor SMTP is configured")
    return ConnectionPlan(imap_target, imap_credentials, smtp_target, smtp_credentials)
