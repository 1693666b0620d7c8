"""`mailyard mailserver config` renders a Dovecot that starts as-is; `serve --mailserver` runs it as a child."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mailyard.mailserver.ports import PORT_NAMES
from tests.servers.dovecot import require_dovecot
from tests.servers.ports import free_ports
from tests.servers.postfix import require_postfix
from tests.support.dirs import server_dir


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


def _port(ports: list[int], name: str) -> int:
    return ports[PORT_NAMES.index(name)]


def test_rendered_configs_start_as_is_with_every_runtime_path_under_their_directory(short_dir: Path) -> None:
    require_dovecot()
    require_postfix()
    data_dir, out = short_dir / "var", short_dir / "mx"
    ports = free_ports(len(PORT_NAMES))
    rendered = subprocess.run([sys.executable, "-m", "mailyard", "mailserver", "config", "--out", str(out),
                               *_port_args(ports)], env=_env(data_dir), capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    # Issue 5: `dovecot -c DIR/dovecot.conf` is the entry point.
    config = (out / "dovecot.conf").read_text()
    assert f"port = {_port(ports, 'imap')}" in config and "/etc/dovecot" not in config
    assert not (out / "dovecot" / "dovecot.conf").exists()
    conf = out / "postfix" / "conf"
    # The printed instructions name the entry points and the steps a production Postfix needs.
    assert f"dovecot -c {out / 'dovecot.conf'}" in rendered.stdout
    assert "alternate_config_directories" in rendered.stdout and "postconf -e" in rendered.stdout
    assert f"postfix -c {conf} set-permissions" in rendered.stdout
    assert f"postfix -c {conf} start" in rendered.stdout
    # Every path the configurations name is under DIR, or is the mail root, a binary or a system file.
    for path in re.findall(r"(?<![\w.~])(/[\w./-]+)", config + (conf / "main.cf").read_text()):
        assert path.startswith((str(out), str(data_dir / "mail"), "/usr/", "/etc/ssl/")) or path == "/", path
    # They may hold database credentials.
    assert oct((out / "dovecot" / "dovecot-sql.conf.ext").stat().st_mode & 0o777) == "0o600"
    assert oct((conf / "mailboxes.cf").stat().st_mode & 0o777) == "0o600"
    dovecot = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(out / "dovecot.conf")],
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    postfix = subprocess.Popen(["/usr/lib/postfix/sbin/master", "-c", str(conf), "-d"], start_new_session=True,
                               env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "MAIL_CONFIG": str(conf)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _greeting(_port(ports, "imap")).startswith(b"* OK")
        assert _greeting(_port(ports, "pop3")).startswith(b"+OK")
        assert _greeting(_port(ports, "smtp")).startswith(b"220 ")
        assert _greeting(_port(ports, "submission")).startswith(b"220 ")
        assert (out / "dovecot" / "run" / "master.pid").exists() and (out / "dovecot" / "dovecot.log").exists()
        assert (out / "postfix" / "queue" / "pid" / "master.pid").exists()
    finally:
        for process in (postfix, dovecot):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)


def test_serve_with_mailserver_runs_dovecot_and_postfix_and_stops_them_on_exit(short_dir: Path) -> None:
    require_dovecot()
    require_postfix()
    data_dir = short_dir / "var"
    http_port, milter, policy, hook, *ports = free_ports(4 + len(PORT_NAMES))
    env = _env(data_dir) | {"MAILYARD_PORT": str(http_port), "MAILYARD_ENGINE": "false",
                            "MAILYARD_MILTER_PORT": str(milter), "MAILYARD_POLICY_PORT": str(policy),
                            "MAILYARD_HOOK_PORT": str(hook)}
    proc = subprocess.Popen([sys.executable, "-m", "mailyard", "serve", "--mailserver", "--mailserver-dir",
                             str(short_dir / "mx"), *_port_args(ports)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert _greeting(_port(ports, "imap"), timeout=30).startswith(b"* OK")
        assert _greeting(_port(ports, "smtp"), timeout=30).startswith(b"220 ")
        assert _health(http_port)["status"] == "ok"
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    # uvicorn finishes its shutdown and then re-raises SIGTERM, so the exit status is the signal's.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    for name in ("imap", "smtp"):
        assert _closed(_port(ports, name)), f"the {name} server outlived mailyard serve"
    for port in (milter, policy, hook):
        assert _closed(port)
