"""Loopback port helpers: pick free TCP ports, wait for a server to accept connections, see who listens."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"
_TCP_LISTEN = "0A"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now.

    The kernel picks it from the ephemeral range. Another process may take it before the caller binds
    it; that window is short, and the servers here retry with new ports when it happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct free loopback ports.

    All sockets stay bound until every port is chosen so the kernel cannot hand out the same one twice.
    """
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_taken(port: int) -> bool:
    """Tell whether some socket already listens on 127.0.0.1:``port`` (so a daemon could not bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the daemons do, ignore connections lingering in TIME_WAIT; only a listener blocks.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
        return False


def port_is_open(host: str, port: int) -> bool:
    """Tell whether a TCP connection to ``host:port`` succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until ``host:port`` accepts TCP connections; raise ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_open(host, port):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.1f}s")


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def listening_ports_of(pid: int) -> set[int]:
    """TCP ports on which process ``pid`` itself holds a listening socket (Linux /proc).

    Unlike a connection attempt, this cannot be fooled by some other program that grabbed the port
    between ``free_port()`` and the daemon's bind, and it does not bother the daemon with probes.
    """
    inodes = _socket_inodes(pid)
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == _TCP_LISTEN and int(fields[9]) in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
