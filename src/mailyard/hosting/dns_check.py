"""Checking, right now, which of a hosted domain's DNS records are published and whether they say the right thing.

Statuses per record:

* ``found`` — published as required (the rules per kind are below);
* ``missing`` — the name does not exist, has no record of the type, or none of its records is of this kind;
* ``mismatch`` — a record of this kind exists but would not work (another DKIM key, an SPF policy that does not
  authorise our host, an old verification token, duplicates that receivers reject);
* ``error`` — DNS did not answer (timeout, SERVFAIL, no reachable server); the customer may have done
  everything right, so this is reported as such and never raised.

Rules:

* MX: some MX of the domain points at the mail host; other exchangers next to it are fine.
* SPF: exactly one TXT record starting ``v=spf1``, and, before any ``all``, a pass (``+`` or no qualifier)
  mechanism that covers our host: one of those we publish, ``mx`` (the required MX record makes the domain's
  exchangers ours) or ``a:<mail host>``, or an ``include:``/``redirect=`` of a name under the mail host's parent
  domain (a provider-wide SPF record of ours). ``ip4:``/``ip6:`` are not resolved, and includes of other
  providers do not count: they authorise them, not us, and calling that found would hide the commonest
  mistake when a domain moves over.
* DMARC: exactly one TXT record whose first tag is ``v=DMARC1``, any policy (RFC 7489 §6.6.3: with several,
  receivers apply none).
* DKIM: a TXT record whose ``p=`` equals our public key once whitespace is removed.
* Verification: a TXT record equal to the expected value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver

from mailyard.hosting.dns_records import VERIFICATION_PREFIX, DnsRecord, normalize_name

FOUND, MISSING, MISMATCH, ERROR = "found", "missing", "mismatch", "error"


@dataclass(frozen=True)
class RecordCheck:
    """What DNS showed for one expected record."""

    record: DnsRecord
    status: str  # "found" | "missing" | "mismatch" | "error"
    found: list[str]  # the values of this kind seen at the record's name
    detail: str | None

    def to_json(self) -> dict[str, Any]:
        return {**self.record.to_json(), "status": self.status, "found": list(self.found), "detail": self.detail}


@dataclass(frozen=True)
class _Lookup:
    """One (name, type) query's outcome: values, or why there are none."""

    values: list[str]
    missing: str | None = None
    error: str | None = None


async def check_records(records: list[DnsRecord], resolver: dns.asyncresolver.Resolver) -> list[RecordCheck]:
    """Check every record against DNS, concurrently; the result is in the order of `records`."""
    keys = list(dict.fromkeys((record.name, record.type) for record in records))
    # MX and SPF share the apex name, but each (name, type) is asked only once.
    answers = await asyncio.gather(*(_lookup(resolver, name, rdtype) for name, rdtype in keys))
    lookups = dict(zip(keys, answers, strict=True))
    return [_judge(record, lookups[(record.name, record.type)]) for record in records]


def all_required_found(checks: Iterable[RecordCheck]) -> bool:
    """Whether every required record (MX and verification) was found; what activates a domain."""
    return all(check.status == FOUND for check in checks if check.record.required)


async def _lookup(resolver: dns.asyncresolver.Resolver, name: str, rdtype: str) -> _Lookup:
    try:
        # Absolute, without the search list: a customer's name must never be completed with our own domain.
        answer = await resolver.resolve(dns.name.from_text(name), rdtype, search=False)
    except dns.resolver.NXDOMAIN:
        return _Lookup([], missing=f"{name} does not exist in DNS")
    except dns.resolver.NoAnswer:
        return _Lookup([], missing=f"{name} has no {rdtype} records")
    except dns.exception.Timeout:
        return _Lookup([], error=f"DNS lookup of {name} {rdtype} timed out")
    except dns.resolver.NoNameservers:
        return _Lookup([], error=f"no DNS server answered {name} {rdtype} (SERVFAIL, refused or unreachable)")
    except (dns.exception.DNSException, OSError) as exc:
        return _Lookup([], error=f"DNS lookup of {name} {rdtype} failed: {type(exc).__name__}: {exc}")
    if rdtype == "MX":
        return _Lookup([_exchange(rdata.exchange) for rdata in answer])
    # A TXT record is one or more ≤255-byte strings that together make one value (RFC 7208 §3.3).
    return _Lookup([b"".join(rdata.strings).decode("utf-8", errors="replace") for rdata in answer])


def _exchange(name: dns.name.Name) -> str:
    # A null MX (RFC 7505) is the root name; show it as "." rather than as an empty string.
    return normalize_name(name.to_text()) or "."


def _judge(record: DnsRecord, lookup: _Lookup) -> RecordCheck:
    if lookup.error is not None:
        return RecordCheck(record, ERROR, [], lookup.error)
    status, found, detail = _JUDGES[record.kind](record, lookup.values)
    if status == MISSING and not found and lookup.missing is not None:
        detail = lookup.missing
    return RecordCheck(record, status, found, detail)


_Verdict = tuple[str, list[str], str | None]


def _judge_mx(record: DnsRecord, hosts: list[str]) -> _Verdict:
    if normalize_name(record.value) in hosts:
        return FOUND, hosts, None
    if not hosts:
        return MISSING, hosts, f"{record.name} has no MX records"
    return MISSING, hosts, f"the MX records of {record.name} do not point at {record.value}"


def _judge_spf(record: DnsRecord, values: list[str]) -> _Verdict:
    spf = [value for value in values if _is_spf(value)]
    if not spf:
        return MISSING, spf, f"{record.name} has no SPF (v=spf1) TXT record"
    if len(spf) > 1:
        return MISMATCH, spf, "several SPF records: receivers treat that as an error (RFC 7208 §4.5); merge them"
    if _spf_authorises(spf[0], record):
        return FOUND, spf, None
    return MISMATCH, spf, f"the SPF record does not authorise our mail host; publish {record.value!r}"


def _is_spf(value: str) -> bool:
    # RFC 7208 §4.5: exactly "v=spf1", then a space or the end ("v=spf10" is not SPF).
    head = value.strip().lower()
    return head == "v=spf1" or head.startswith("v=spf1 ")


def _spf_term(term: str, domain: str) -> tuple[str, str]:
    """(qualifier, mechanism) with the CIDR suffix dropped and `mx:<the domain itself>` read as `mx`."""
    qualifier, mechanism = (term[0], term[1:]) if term[0] in "+-~?" else ("+", term)
    if mechanism.startswith(("a", "mx")):
        mechanism = mechanism.split("/", 1)[0]
    if mechanism.startswith(("a:", "mx:")):
        kind, target = mechanism.split(":", 1)
        mechanism = kind if normalize_name(target) == domain else f"{kind}:{normalize_name(target)}"
    return qualifier, mechanism


def _spf_authorises(value: str, expected: DnsRecord) -> bool:
    ours = {_spf_term(term, expected.name)[1] for term in expected.value.lower().split()[1:]} - {"all"}
    hosts = [mechanism[2:] for mechanism in ours if mechanism.startswith("a:")]
    # Our provider's own SPF lives next to the mail host: mx.mailyard.net -> anything under mailyard.net.
    parents = {".".join(host.split(".")[1:]) if host.count(".") > 1 else host for host in hosts}

    def is_ours(target: str) -> bool:
        target = normalize_name(target)
        return any(target == parent or target.endswith("." + parent) for parent in parents)

    for term in value.lower().split()[1:]:
        qualifier, mechanism = _spf_term(term, expected.name)
        if mechanism == "all":
            return False  # nothing after "all" is ever evaluated (RFC 7208 §5.1)
        if qualifier != "+":
            continue
        if mechanism in ours:
            return True
        for prefix in ("include:", "redirect="):
            if mechanism.startswith(prefix) and is_ours(mechanism.removeprefix(prefix)):
                return True
    return False


def _tags(value: str) -> dict[str, str]:
    """A DKIM/DMARC tag list (RFC 6376 §3.2) as a dict; whitespace around names and values is not significant."""
    tags: dict[str, str] = {}
    for part in value.split(";"):
        name, sep, tag_value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), tag_value.strip())
    return tags


def _judge_dmarc(record: DnsRecord, values: list[str]) -> _Verdict:
    dmarc = [value for value in values if _is_dmarc(value)]
    if not dmarc:
        return MISSING, dmarc, f"{record.name} has no DMARC (v=DMARC1) TXT record"
    if len(dmarc) > 1:
        return MISMATCH, dmarc, "several DMARC records: receivers then apply none (RFC 7489 §6.6.3); keep one"
    return FOUND, dmarc, None


def _is_dmarc(value: str) -> bool:
    # The version tag must come first and be exactly "DMARC1" (RFC 7489 §6.4).
    name, sep, version = value.split(";", 1)[0].partition("=")
    return bool(sep) and name.strip().lower() == "v" and version.strip() == "DMARC1"


def _dkim_key(value: str) -> str | None:
    key = _tags(value).get("p")
    # Base64 in a tag may be folded with whitespace (RFC 6376 §3.6.1), and providers often add some.
    return None if key is None else "".join(key.split())


def _judge_dkim(record: DnsRecord, values: list[str]) -> _Verdict:
    ours = _dkim_key(record.value)
    keys = [value for value in values if _dkim_key(value) is not None]
    if any(_dkim_key(value) == ours for value in keys):
        return FOUND, keys, None
    if keys:
        return MISMATCH, keys, f"{record.name} publishes a different DKIM key"
    return MISSING, keys, f"{record.name} has no DKIM (p=) TXT record"


def _judge_verification(record: DnsRecord, values: list[str]) -> _Verdict:
    if record.value in values:
        return FOUND, values, None
    if any(value.strip().startswith(VERIFICATION_PREFIX) for value in values):
        return MISMATCH, values, "the verification TXT record holds another token"
    return MISSING, values, f"{record.name} has no TXT record {record.value}"


_JUDGES = {
    "mx": _judge_mx, "spf": _judge_spf, "dmarc": _judge_dmarc, "dkim": _judge_dkim, "verification": _judge_verification,
}
