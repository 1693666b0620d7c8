"""SMTP adapter over aiosmtplib: connect (implicit TLS, STARTTLS or plain), authenticate, send, and
turn every failure into a stable code."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

import aiosmtplib

from mailyard.engine.failures import Failure, FailureCode
from mailyard.engine.imap import Credentials
from mailyard.engine.net import NetOptions, open_socket, tls_context, tls_failure

# aiosmtplib's debug log carries the AUTH exchange.
logging.getLogger("aiosmtplib").setLevel(logging.WARNING)


@dataclass(frozen=True)
class SmtpEndpoint:
    host: str
    port: int
    secure: bool = False
    starttls: bool | None = None
    reject_unauthorized: bool = True
    min_tls_version: str | None = None
    servername: str | None = None


def _smtp_failure(exc: BaseException) -> Failure:
    if isinstance(exc, Failure):
        return exc
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return Failure(FailureCode.AUTHENTICATION_FAILED, f"{exc.code} {exc.message}".strip())
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return Failure(FailureCode.TIMED_OUT, "SMTP server did not answer in time")
    if isinstance(exc, ssl.SSLError):
        return tls_failure(exc)
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ssl.SSLError):
            return tls_failure(cause)
        return Failure(FailureCode.CONNECTION_LOST, f"SMTP connection failed: {exc}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Failure(FailureCode.PROTOCOL, f"{exc.code} {exc.message}".strip())
    if isinstance(exc, aiosmtplib.SMTPException):
        return Failure(FailureCode.PROTOCOL, str(exc))
    return Failure(FailureCode.CONNECTION_LOST, f"SMTP connection failed: {type(exc).__name__}")


async def connect(endpoint: SmtpEndpoint, credentials: Credentials | None, options: NetOptions) -> aiosmtplib.SMTP:
    """An SMTP client connected, upgraded as configured, and logged in when credentials are given."""
    sock = await open_socket(endpoint.host, endpoint.port, options)
    client = aiosmtplib.SMTP(
        sock=sock,
        hostname=endpoint.servername or endpoint.host,
        use_tls=endpoint.secure,
        start_tls=False if endpoint.secure else endpoint.starttls,
        tls_context=tls_context(endpoint.reject_unauthorized, options, endpoint.min_tls_version),
        timeout=options.connect_timeout,
        local_hostname="mailyard.localhost",
    )
    try:
        await client.connect()
        if credentials is not None:
            if credentials.access_token:
                await client.auth_xoauth2(credentials.user, credentials.access_token)
            elif credentials.password is not None:
                await client.login(credentials.user, credentials.password)
            else:
                raise Failure(FailureCode.NO_CREDENTIALS, "no SMTP password or access token is stored")
    except BaseException as exc:
        client.close()  # the transport owns the socket from connect() on; it closes it
        if isinstance(exc, Exception):
            raise _smtp_failure(exc) from None
        raise
    return client


async def check_login(endpoint: SmtpEndpoint, credentials: Credentials | None, options: NetOptions) -> None:
    """Connect, log in and quit; raises Failure."""
    client = await connect(endpoint, credentials, options)
    try:
        await client.quit()
    except aiosmtplib.SMTPException:
        client.close()
