"""Opening TCP connections to mail servers: name resolution (optionally through a configured DNS server),
connect timeouts, and TLS contexts that verify certificates unless an account opts out."""

from __future__ import annotations

import asyncio
import errno
import functools
import socket
import ssl
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver

from mailyard.engine.failures import Failure, FailureCode


@dataclass(frozen=True)
class NetOptions:
    """Process-wide connection settings."""

    connect_timeout: float = 15.0
    dns_resolver: str | None = None  # "host:port"; None means the system resolver
    ca_file: str | None = None  # extra CAs trusted besides the system's


def make_resolver(address: str | None) -> dns.asyncresolver.Resolver:
    """An async resolver asking `address` ("host:port", IPv6 hosts in brackets), or the system's servers if None."""
    if address is None:
        resolver = dns.asyncresolver.Resolver()
    else:
        host, _, port = address.rpartition(":")
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [host.strip("[]")]
        resolver.port = int(port)
    resolver.lifetime = 5.0
    return resolver


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


async def resolve(host: str, options: NetOptions) -> list[str]:
    """The addresses of `host`; raises Failure(ENOTFOUND)."""
    if _is_ip(host):
        return [host]
    if host.lower().rstrip(".") == "localhost" or host.lower().rstrip(".").endswith(".localhost"):
        return ["127.0.0.1"]  # RFC 6761: never asked of DNS
    if options.dns_resolver:
        resolver = make_resolver(options.dns_resolver)
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = await resolver.resolve(host, rdtype)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
                continue
            except dns.exception.Timeout:
                raise Failure(FailureCode.TIMED_OUT, f"DNS lookup of {host} timed out") from None
            found.extend(r.to_text() for r in answer)
        if not found:
            raise Failure(FailureCode.NOT_FOUND, f"getaddrinfo ENOTFOUND {host}")
        return found
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise Failure(FailureCode.NOT_FOUND, f"getaddrinfo ENOTFOUND {host}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def open_socket(host: str, port: int, options: NetOptions) -> socket.socket:
    """A connected, non-blocking socket to host:port (first address that answers)."""
    loop = asyncio.get_running_loop()
    last: Failure | None = None
    for address in await resolve(host, options):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(options.connect_timeout):
                await loop.sock_connect(sock, (address, port))
            return sock
        except TimeoutError:
            last = Failure(FailureCode.TIMED_OUT, f"connect ETIMEDOUT {address}:{port}")
        except ConnectionRefusedError:
            last = Failure(FailureCode.CONNECTION_REFUSED, f"connect ECONNREFUSED {address}:{port}")
        except OSError as exc:
            code = FailureCode.TIMED_OUT if exc.errno in {errno.ETIMEDOUT, errno.EHOSTUNREACH} else (
                FailureCode.CONNECTION_REFUSED)
            last = Failure(code, f"connect {errno.errorcode.get(exc.errno or 0, 'EIO')} {address}:{port}")
        except BaseException:
            sock.close()
            raise
        sock.close()
    assert last is not None
    raise last


def tls_context(reject_unauthorized: bool, options: NetOptions, min_version: str | None = None) -> ssl.SSLContext:
    return _tls_context(reject_unauthorized, str(options.ca_file) if options.ca_file else None, min_version)


@functools.lru_cache(maxsize=32)
def _tls_context(reject_unauthorized: bool, ca_file: str | None, min_version: str | None) -> ssl.SSLContext:
    # Loading the trust store costs ~40 ms; a configured context is safe to share between connections, so
    # thousands of accounts connecting share a handful (a changed CA file is read on the next start).
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    if not reject_unauthorized:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if min_version:
        context.minimum_version = {
            "TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
            "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
        }[min_version]
    return context


def tls_failure(exc: BaseException) -> Failure:
    reason = getattr(exc, "reason", None) or type(exc).__name__
    verify = getattr(exc, "verify_message", None)
    return Failure(FailureCode.TLS, f"TLS failed: {verify or reason}")
