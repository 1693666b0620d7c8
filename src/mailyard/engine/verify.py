"""`verifyAccount`: real IMAP and SMTP logins with settings that are not stored anywhere."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from mailyard.engine import smtp
from mailyard.engine.failures import Failure, FailureCode
from mailyard.engine.folders import FolderInfo, describe
from mailyard.engine.imap import ImapConnection
from mailyard.engine.net import NetOptions
from mailyard.engine.plan import imap_endpoint, password_credentials, smtp_endpoint


@dataclass
class CheckResult:
    success: bool
    error: str | None = None
    code: str | None = None

    @classmethod
    def failed(cls, failure: Failure) -> CheckResult:
        return cls(False, failure.response, failure.code.value)


@dataclass
class VerifyResult:
    imap: CheckResult | None
    smtp: CheckResult | None
    mailboxes: list[FolderInfo] | None = None


def _target(section: dict[str, Any], name: str) -> tuple[str, int, bool]:
    host, port = section.get("host"), section.get("port")
    if not host or not port:
        raise Failure(FailureCode.NOT_CONFIGURED, f"{name} host and port are required")
    return host, int(port), bool(section.get("secure"))


async def _verify_imap(section: dict[str, Any], want_folders: bool,
                       net: NetOptions) -> tuple[CheckResult, list[FolderInfo] | None]:
    try:
        endpoint = imap_endpoint(section, *_target(section, "IMAP"))
        credentials = password_credentials(section)
        if credentials is None:
            raise Failure(FailureCode.NO_CREDENTIALS, "auth.user and auth.pass (or auth.accessToken) are required")
        connection = await ImapConnection.open(endpoint, net)
        try:
            await connection.authenticate(credentials)
            folders = None
            if want_folders:
                folders = describe(await connection.list_folders(), section, await connection.subscribed())
        finally:
            await connection.logout()
    except Failure as failure:
        return CheckResult.failed(failure), None
    return CheckResult(True), folders


async def _verify_smtp(section: dict[str, Any], net: NetOptions) -> CheckResult:
    try:
        endpoint = smtp_endpoint(section, *_target(section, "SMTP"))
        await smtp.check_login(endpoint, password_credentials(section), net)
    except Failure as failure:
        return CheckResult.failed(failure)
    return CheckResult(True)


async def verify(imap: dict[str, Any] | None, smtp_section: dict[str, Any] | None, *, mailboxes: bool,
                 net: NetOptions) -> VerifyResult:
    """Both checks run at once; nothing is stored and no secret appears in the result."""

    async def nothing() -> None:
        return None

    imap_outcome, smtp_outcome = await asyncio.gather(
        _verify_imap(imap, mailboxes, net) if imap is not None else nothing(),
        _verify_smtp(smtp_section, net) if smtp_section is not None else nothing(),
    )
    imap_result, folders = imap_outcome if imap_outcome is not None else (None, None)
    return VerifyResult(imap_result, smtp_outcome, folders)
