"""Working out IMAP and SMTP settings from an email address (`GET /v1/autoconfig`).

In order: a built-in table of well-known providers; DNS SRV records (RFC 6186, plus RFC 8314's
`_submissions` for implicit-TLS submission); the domain's preferred MX (a known provider's MX means that
provider's settings, otherwise the MX host itself serves IMAP and submission); a guess of
`imap.<domain>` and `smtp.<domain>`. DNS failures count as "nothing found", never as errors.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name

from mailyard.accounts.providers import MX_SUFFIXES, PROVIDERS, Provider

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")


@dataclass(frozen=True)
class Endpoint:
    """Where a mail service listens. `secure`: implicit TLS; otherwise STARTTLS (EmailEngine's flag)."""

    host: str
    port: int
    secure: bool


@dataclass(frozen=True)
class DetectedSettings:
    """The IMAP and SMTP endpoints found, and how: "builtin", "srv", "mx" or "guess"."""

    imap: Endpoint
    smtp: Endpoint
    source: str


def email_domain(email: str) -> str:
    """The domain of `email`, lower-case and in its ASCII (IDNA) form; ValueError if it is not an address."""
    address = email.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address):
        raise ValueError("email must be an address like name@example.org")
    try:
        ascii_domain = domain.removesuffix(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("email has a domain that is not a valid host name") from None
    if len(ascii_domain) > 253 or not all(_LABEL.match(label) for label in ascii_domain.split(".")):
        raise ValueError("email has a domain that is not a valid host name")
    return ascii_domain


def _from_provider(provider: Provider, source: str) -> DetectedSettings:
    return DetectedSettings(Endpoint(*provider.imap), Endpoint(*provider.smtp), source)


def _guess(domain: str) -> DetectedSettings:
    return DetectedSettings(Endpoint(f"imap.{domain}", 993, True), Endpoint(f"smtp.{domain}", 587, False), "guess")


def _host(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


async def _srv(resolver: dns.asyncresolver.Resolver, name: str) -> tuple[str, int] | None:
    """The preferred target of an SRV name (lowest priority, then highest weight), skipping targets of "."
    (the service is not offered there); None when there is none."""
    try:
        answer = await resolver.resolve(name, "SRV")
    except dns.exception.DNSException:
        return None
    for record in sorted(answer, key=lambda r: (r.priority, -r.weight)):
        if record.target != dns.name.root:
            return _host(record.target), int(record.port)
    return None


async def _preferred_mx(resolver: dns.asyncresolver.Resolver, domain: str) -> str | None:
    """The MX host with the lowest preference; None without one (or with only a null MX, RFC 7505)."""
    try:
        answer = await resolver.resolve(domain, "MX")
    except dns.exception.DNSException:
        return None
    hosts = sorted((r.preference, _host(r.exchange)) for r in answer if r.exchange != dns.name.root)
    return hosts[0][1] if hosts else None


def _mx_settings(mx_host: str) -> DetectedSettings:
    for suffix, provider in MX_SUFFIXES:
        if mx_host == suffix or mx_host.endswith("." + suffix):
            return _from_provider(PROVIDERS[provider], "mx")
    return DetectedSettings(Endpoint(mx_host, 993, True), Endpoint(mx_host, 587, False), "mx")


def _endpoint(tls: tuple[str, int] | None, starttls: tuple[str, int] | None) -> Endpoint | None:
    if tls:
        return Endpoint(*tls, True)
    return Endpoint(*starttls, False) if starttls else None


async def detect(email: str, resolver: dns.asyncresolver.Resolver) -> DetectedSettings:
    """The settings to suggest for `email`; ValueError("email ...") if it is not an address."""
    domain = email_domain(email)
    if domain in PROVIDERS:
        return _from_provider(PROVIDERS[domain], "builtin")
    # Every lookup at once: a slow or dead DNS server costs one resolver lifetime, not five.
    imaps, imap, submissions, submission, mx_host = await asyncio.gather(
        _srv(resolver, f"_imaps._tcp.{domain}"), _srv(resolver, f"_imap._tcp.{domain}"),
        _srv(resolver, f"_submissions._tcp.{domain}"), _srv(resolver, f"_submission._tcp.{domain}"),
        _preferred_mx(resolver, domain))
    imap_endpoint, smtp_endpoint = _endpoint(imaps, imap), _endpoint(submissions, submission)
    if imap_endpoint and smtp_endpoint:
        return DetectedSettings(imap_endpoint, smtp_endpoint, "srv")
    fallback = _mx_settings(mx_host) if mx_host else _guess(domain)
    if imap_endpoint or smtp_endpoint:
        # SRV named one service only: the other comes from the MX or the guess.
        return DetectedSettings(imap_endpoint or fallback.imap, smtp_endpoint or fallback.smtp, "srv")
    return fallback
