"""A dnsmasq DNS server on a free loopback port (UDP and TCP) answering only the records tests set.

dnsmasq reads MX, TXT and SRV records only at start-up (SIGHUP reloads hosts files, not these), so every
change rewrites its configuration file and restarts it on the same port; a restart takes a few
milliseconds. Wrap several changes in ``with dns.batch():`` to restart once. ``local=/#/`` makes every
unknown name an authoritative NXDOMAIN instead of a REFUSED "no upstream servers".

Long TXT values (a 2048-bit DKIM key is ~410 bytes) are split into the ≤255-byte character-strings a TXT
record is made of; resolvers concatenate them again.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .ports import LOOPBACK, free_port
from .process import GroupProcess, ServerStartError, require_file, start_with_port_retries, tail

DNSMASQ_BINARY = "/usr/sbin/dnsmasq"
_MAX_STRING = 255


def require_dnsmasq() -> None:
    require_file(DNSMASQ_BINARY, "dnsmasq-base", "dnsmasq")


def _normalize(name: str) -> str:
    return name.strip().rstrip(".").lower()


def split_txt(value: str | bytes) -> list[bytes]:
    """Cut one TXT value into character-strings of at most 255 bytes."""
    raw = value.encode() if isinstance(value, str) else value
    return [raw[i : i + _MAX_STRING] for i in range(0, len(raw), _MAX_STRING)] or [b""]


def _quote(chunk: bytes) -> bytes:
    # dnsmasq unescapes \\ \" and \n inside quoted option values; anything else is taken literally.
    escaped = chunk.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
    return b'"' + escaped + b'"'


@dataclass
class DnsRecords:
    """The record sets served, keyed by normalized owner name."""

    addresses: dict[str, list[str]] = field(default_factory=dict)
    mx: dict[str, dict[str, int]] = field(default_factory=dict)
    txt: dict[str, list[list[bytes]]] = field(default_factory=dict)
    srv: dict[str, dict[tuple[str, int], tuple[int, int]]] = field(default_factory=dict)

    def remove(self, name: str) -> None:
        for table in (self.addresses, self.mx, self.txt, self.srv):
            table.pop(name, None)

    def render(self) -> bytes:
        lines: list[bytes] = [b"local=/#/"]
        for name, ips in self.addresses.items():
            lines.extend(f"host-record={name},{ip}".encode() for ip in ips)
        for domain, hosts in self.mx.items():
            lines.extend(f"mx-host={domain},{host},{pref}".encode() for host, pref in hosts.items())
        for name, records in self.txt.items():
            for strings in records:
                lines.append(f"txt-record={name},".encode() + b",".join(_quote(s) for s in strings))
        for name, targets in self.srv.items():
            for (target, port), (priority, weight) in targets.items():
                lines.append(f"srv-host={name},{target},{port},{priority},{weight}".encode())
        return b"\n".join(lines) + b"\n"


class DnsServer:
    """dnsmasq answering authoritatively for the records set through this object, nothing else."""

    host = LOOPBACK

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.records = DnsRecords()
        self._process: GroupProcess | None = None
        self._batching = 0

    @property
    def resolver_address(self) -> str:
        """``"127.0.0.1:PORT"``, the form the app's resolver setting takes."""
        return f"{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "records.conf"

    @property
    def log_path(self) -> Path:
        return self.directory / "dnsmasq.log"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        require_dnsmasq()
        self.directory.mkdir(parents=True, exist_ok=True)
        start_with_port_retries(lambda: self._start_once(timeout), self._repick_port, lambda: [self.port])

    def _repick_port(self) -> None:
        self.port = free_port()

    def _start_once(self, timeout: float) -> None:
        self.config_path.write_bytes(self.records.render())
        self._process = GroupProcess(
            [
                DNSMASQ_BINARY,
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                f"--listen-address={self.host}",
                f"--port={self.port}",
                f"--conf-file={self.config_path}",
                f"--pid-file={self.directory / 'dnsmasq.pid'}",
                "--log-facility=-",
                "--log-queries",
            ],
            self.log_path,
        )
        self._process.start()
        try:
            # dnsmasq binds its UDP and TCP sockets together, after parsing the records.
            self._process.wait_for_ports([self.port], timeout)
        except ServerStartError as exc:
            self.stop()
            raise ServerStartError(
                f"dnsmasq did not start: {exc}\n--- {self.log_path} ---\n{tail(self.log_path)}"
            ) from exc

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(grace=5.0)
            self._process = None

    def __enter__(self) -> DnsServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _apply(self) -> None:
        if self._batching or self._process is None:
            return
        self.stop()
        self.start()

    @contextmanager
    def batch(self) -> Iterator[DnsServer]:
        """Apply all changes made inside the block with a single restart at the end."""
        self._batching += 1
        try:
            yield self
        finally:
            self._batching -= 1
            self._apply()

    # -- records ---------------------------------------------------------------------------------

    def set_a(self, name: str, *ips: str) -> None:
        """Replace the address records of ``name`` (IPv6 addresses become AAAA records)."""
        for ip in ips:
            ipaddress.ip_address(ip)
        self.records.addresses[_normalize(name)] = list(ips)
        self._apply()

    def set_mx(self, domain: str, host: str, pref: int = 10) -> None:
        """Add ``host`` as a mail exchanger of ``domain`` (or change its preference)."""
        self.records.mx.setdefault(_normalize(domain), {})[_normalize(host)] = pref
        self._apply()

    def set_txt(self, name: str, *strings: str | bytes) -> None:
        """Replace the TXT records of ``name`` with one record made of ``strings`` (each split at 255)."""
        self.records.txt[_normalize(name)] = [self._txt_strings(strings)]
        self._apply()

    def add_txt(self, name: str, *strings: str | bytes) -> None:
        """Add one more TXT record to ``name`` (a domain often has SPF and verification records)."""
        self.records.txt.setdefault(_normalize(name), []).append(self._txt_strings(strings))
        self._apply()

    @staticmethod
    def _txt_strings(strings: tuple[str | bytes, ...]) -> list[bytes]:
        return [chunk for value in strings or ("",) for chunk in split_txt(value)]

    def set_srv(self, name: str, target: str, port: int, priority: int = 0, weight: int = 0) -> None:
        """Add (or update) the SRV record ``name`` → ``target:port``; a target of ``"."`` publishes the
        RFC 2782 "service not offered here" record."""
        targets = self.records.srv.setdefault(_normalize(name), {})
        targets[(_normalize(target), port)] = (priority, weight)
        self._apply()

    def remove(self, name: str) -> None:
        """Drop every record of ``name``; it answers NXDOMAIN afterwards."""
        self.records.remove(_normalize(name))
        self._apply()

    def clear(self) -> None:
        if self.records == DnsRecords():
            return
        self.records = DnsRecords()
        self._apply()
