"""`mailyard mailserver config` renders a Dovecot that starts as-is; `serve --mailserver` runs it as a child."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers.dovecot import require_dovecot
from tests.servers.ports import free_ports
from tests.support.dirs import server_dir

PORT_NAMES = ("imap", "imaps", "pop3", "pop3s", "submission", "lmtp", "sieve")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    with server_dir("my-cli-") as directory:
        yield directory


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILYARD_")}
    env.update(MAILYARD_DATA_DIR=str(data_dir), MAILYARD_MAIL_ROOT=str(data_dir / "mail"),
               MAILYARD_MAIL_HOSTNAME="mx.mailyard.test", MAILYARD_HOST="127.0.0.1")
    return env


def _port_args(ports: list[int]) -> list[str]:
    args: list[str] = []
    for name, port in zip(PORT_NAMES, ports, strict=True):
        args += [f"--{name}-port", str(port)]
    return args


def _greeting(port: int, timeout: float = 15.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                return sock.recv(200)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _health(port: int, timeout: float = 15.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_rendered_config_starts_with_every_runtime_path_under_its_directory(short_dir: Path) -> None:
    require_dovecot()
    data_dir, out = short_dir / "var", short_dir / "mx"
    ports = free_ports(len(PORT_NAMES))
    rendered = subprocess.run([sys.executable, "-m", "mailyard", "mailserver", "config", "--out", str(out),
                               *_port_args(ports)], env=_env(data_dir), capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    config = (out / "dovecot.conf").read_text()
    assert f"port = {ports[0]}" in config and "/etc/dovecot" not in config
    assert oct((out / "dovecot-sql.conf.ext").stat().st_mode & 0o777) == "0o600"  # it may hold DB credentials
    dovecot = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(out / "dovecot.conf")],
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _greeting(ports[0]).startswith(b"* OK")
        assert _greeting(ports[2]).startswith(b"+OK")
        assert (out / "run" / "master.pid").exists() and (out / "dovecot.log").exists()
    finally:
        os.killpg(dovecot.pid, signal.SIGTERM)
        dovecot.wait(timeout=20)


def test_serve_with_mailserver_runs_dovecot_and_stops_it_on_exit(short_dir: Path) -> None:
    require_dovecot()
    data_dir = short_dir / "var"
    http_port, *ports = free_ports(1 + len(PORT_NAMES))
    env = _env(data_dir) | {"MAILYARD_PORT": str(http_port), "MAILYARD_ENGINE": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "mailyard", "serve", "--mailserver", "--mailserver-dir",
                             str(short_dir / "mx"), *_port_args(ports)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert _greeting(ports[0], timeout=30).startswith(b"* OK")
        assert _health(http_port)["status"] == "ok"
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    # uvicorn finishes its shutdown and then re-raises SIGTERM, so the exit status is the signal's.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert _closed(ports[0]), "Dovecot outlived mailyard serve"
