"""Sending a message for a connected account: compose it, hand it to the account's SMTP server, store a
copy in its Sent folder, and write the `messageSent` event.

All or nothing up to the SMTP server's final reply: a refused sender, recipient (any one of them) or
message resets the transaction, so nothing is sent, copied or recorded, and the caller gets a 4xx naming
the server's reply. After that reply the mail is gone: storing the Sent copy (over its own short-lived
IMAP connection, never the account's IDLE one) or writing the event may fail without turning the answer
into an error; the copy's outcome is reported in `sent_copy`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import aiosmtplib

from mailyard.accounts.config import AccountConfig
from mailyard.accounts.service import account_not_found
from mailyard.accounts.states import AccountState
from mailyard.engine import smtp
from mailyard.engine.failures import Failure, FailureCode
from mailyard.engine.folders import describe
from mailyard.engine.imap import Credentials, ImapConnection
from mailyard.engine.plan import ConnectionPlan, build_plan
from mailyard.errors import ErrorKind, MailyardError, conflict, invalid
from mailyard.events.outbox import NewEvent, write_events
from mailyard.events.types import EventType
from mailyard.mail.compose import Composed, SubmitRequest, compose

if TYPE_CHECKING:
    from mailyard.engine.net import NetOptions
    from mailyard.runtime import Runtime
    from mailyard.security.tokens import Principal

log = logging.getLogger(__name__)

SMTP_REJECTED = "SMTPRejected"
SMTP_AUTH_FAILED = "SMTPAuthFailed"
SMTP_UNAVAILABLE = "SMTPUnavailable"
ERROR_STATUS = 400  # the account's server refused or failed: a 4xx, since a 5xx from Mailyard means a bug
DATA_TIMEOUT = 120.0  # seconds for the DATA phase, which carries up to 25 MB
COPY_TIMEOUT = 120.0  # seconds for the whole Sent copy: connect, log in, find the folder, APPEND
_MASK = "********"


@dataclass(frozen=True)
class SentCopy:
    stored: bool
    path: str | None = None
    reason: str | None = None  # why it was not stored


@dataclass(frozen=True)
class SubmitResult:
    response: str  # the SMTP server's final reply, e.g. "250 2.0.0 Ok: queued as 4Fz"
    message_id: str
    sender: str
    recipients: list[str]
    sent_copy: SentCopy


def _scrub(text: str, *credentials: Credentials | None) -> str:
    """A server's reply with any secret of ours masked (servers do not echo them; this makes sure)."""
    for credential in credentials:
        for secret in (credential.password, credential.access_token) if credential else ():
            if secret and len(secret) >= 3:
                text = text.replace(secret, _MASK)
    return " ".join(text.split())


def _error(code: str, message: str) -> MailyardError:
    return MailyardError(ErrorKind.UPSTREAM, message, code, status=ERROR_STATUS)


def _connect_error(failure: Failure, credentials: Credentials | None) -> MailyardError:
    reply = _scrub(failure.response, credentials)
    if failure.is_auth:
        return _error(SMTP_AUTH_FAILED, f"SMTP authentication failed: {reply}")
    if failure.code == FailureCode.PROTOCOL:
        return _error(SMTP_REJECTED, f"SMTP server refused the connection: {reply}")
    return _error(SMTP_UNAVAILABLE, f"SMTP server is not reachable ({failure.code}): {reply}")


def _reply_error(exc: aiosmtplib.SMTPResponseException, credentials: Credentials | None) -> MailyardError:
    reply = _scrub(f"{exc.code} {exc.message}", credentials)
    if exc.code == 530:  # "Authentication required": the account stores no SMTP login, or the wrong one
        return _error(SMTP_AUTH_FAILED, f"SMTP server requires authentication: {reply}")
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return _error(SMTP_REJECTED, f"Recipient {exc.recipient} was rejected: {reply}")
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return _error(SMTP_REJECTED, f"Sender {exc.sender} was rejected: {reply}")
    return _error(SMTP_REJECTED, f"SMTP server rejected the message: {reply}")


def _plan(config: AccountConfig) -> tuple[ConnectionPlan, str | None]:
    """The connection plan and, when IMAP is unusable, why (the message is still sent, just not copied)."""
    plan = build_plan(config)
    imap_problem = None
    if plan.blocked is not None:
        if plan.blocked.state == AccountState.UNSET:  # OAuth2 without a usable access token
            raise _error(SMTP_AUTH_FAILED, f"Cannot log in to SMTP: {plan.blocked.failure.response}")
        imap_problem = f"IMAP is not usable: {plan.blocked.failure.response}"
        plan = build_plan(replace(config, imap={**(config.imap or {}), "disabled": True}))
    if plan.blocked is not None or plan.smtp is None:
        raise invalid("smtp", "is not configured for this account: set smtp.host and smtp.port")
    return plan, imap_problem


async def _transaction(client: aiosmtplib.SMTP, message: Composed) -> str:
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    options = [f"SIZE={len(message.data)}"] if client.supports_extension("size") else []
    try:
        await client.mail(message.sender, options=options)
        for recipient in message.recipients:
            await client.rcpt(recipient)
        response = await client.data(message.data, timeout=DATA_TIMEOUT)
    except aiosmtplib.SMTPResponseException:
        try:  # leave no half-made envelope behind
            async with asyncio.timeout(5):
                await client.rset()
        except (aiosmtplib.SMTPException, TimeoutError, OSError):
            pass
        raise
    return f"{response.code} {response.message}"


async def send(plan: ConnectionPlan, message: Composed, net: NetOptions) -> str:
    """Transmit over the account's SMTP settings; the server's final reply, or MailyardError (4xx)."""
    assert plan.smtp is not None
    credentials = plan.smtp_credentials
    try:
        client = await smtp.connect(plan.smtp, credentials, net)
    except Failure as failure:
        raise _connect_error(failure, credentials) from None
    try:
        return _scrub(await _transaction(client, message), credentials)
    except aiosmtplib.SMTPResponseException as exc:
        raise _reply_error(exc, credentials) from None
    except (aiosmtplib.SMTPException, TimeoutError, OSError) as exc:
        what = "timed out" if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError) else type(exc).__name__
        raise _error(SMTP_UNAVAILABLE, f"SMTP connection failed while sending ({what}); the message was not "
                                       "confirmed by the server") from None
    finally:
        try:
            async with asyncio.timeout(5):
                await client.quit()
        except (aiosmtplib.SMTPException, TimeoutError, OSError):
            client.close()


async def _copy(plan: ConnectionPlan, config: AccountConfig, message: Composed, net: NetOptions) -> SentCopy:
    assert plan.imap is not None and plan.imap_credentials is not None
    path = (config.imap or {}).get("sentMailPath") or None
    connection: ImapConnection | None = None
    stage = "IMAP connection failed"
    try:
        async with asyncio.timeout(COPY_TIMEOUT):
            connection = await ImapConnection.open(plan.imap, net)
            stage = "IMAP login failed"
            await connection.authenticate(plan.imap_credentials)
            stage = "listing the folders failed"
            if path is None:
                folders = describe(await connection.list_folders(), config.imap)
                path = next((f.path for f in folders if f.special_use == "\\Sent" and not f.no_select), None)
                if path is None:
                    return SentCopy(False, reason="the account has no Sent folder")
            stage = "storing the copy failed"
            await connection.append(path, message.sent_copy, "\\Seen")
    except Failure as failure:
        return SentCopy(False, path, f"{stage}: {_scrub(failure.response, plan.imap_credentials)}")
    except TimeoutError:
        return SentCopy(False, path, f"{stage}: timed out")
    except Exception as exc:  # the mail is gone: whatever happens to the copy must not turn into an error
        return SentCopy(False, path, f"{stage}: {type(exc).__name__}")
    finally:
        if connection is not None:
            await connection.logout()
    return SentCopy(True, path)


async def store_sent_copy(plan: ConnectionPlan, config: AccountConfig, message: Composed, net: NetOptions,
                          imap_problem: str | None = None) -> SentCopy:
    """APPEND the message, flagged \\Seen, to `imap.sentMailPath` or the folder whose special use is \\Sent."""
    if plan.imap is None or plan.imap_credentials is None:
        result = SentCopy(False, reason=imap_problem or "IMAP is disabled for this account")
    else:
        result = await _copy(plan, config, message, net)
    if result.stored:
        log.info("account %s: copy of %s stored in %s", config.id, message.message_id, result.path)
    else:
        log.warning("account %s: no copy of %s in Sent: %s", config.id, message.message_id, result.reason)
    return result


async def submit(runtime: Runtime, account_id: str, request: SubmitRequest,
                 principal: Principal | None) -> SubmitResult:
    view = await runtime.accounts.get(account_id, principal)  # 404 for unknown ids and other tenants' accounts
    config = await runtime.accounts.load_config(account_id)
    if config is None:
        raise account_not_found()
    if config.disabled:
        raise conflict("The account is disabled; enable it to send mail", "AccountDisabled")
    message = compose(request, account_name=view.name, account_email=view.email)
    plan, imap_problem = _plan(config)
    response = await send(plan, message, runtime.net)
    log.info("account %s: sent %s: %s", account_id, message.message_id, response)
    sent_copy = await store_sent_copy(plan, config, message, runtime.net, imap_problem)
    data = {"messageId": message.message_id, "response": response,
            "envelope": {"from": message.sender, "to": message.recipients}}
    try:
        async with runtime.db.transaction() as session:
            await write_events(session, account_id, [NewEvent(EventType.MESSAGE_SENT, data)])
    except Exception as exc:  # the mail is gone; answering an error would invite a duplicate send
        log.error("account %s: messageSent event for %s not written (%s)", account_id, message.message_id,
                  type(exc).__name__)
    else:
        runtime.events_written()
    return SubmitResult(response, message.message_id, message.sender, message.recipients, sent_copy)
