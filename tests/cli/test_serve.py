"""`mailyard serve` as `make run` starts it: listens where told, prints the first admin token once."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILYARD_")}
    env.update(MAILYARD_DATA_DIR=str(data_dir), MAILYARD_PORT=str(port), MAILYARD_HOST="127.0.0.1")
    return subprocess.Popen([sys.executable, "-m", "mailyard", "serve"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_healthy(port: int, proc: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("mailyard serve did not answer /health")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    output, _ = proc.communicate(timeout=20)
    return output


def test_serve_on_a_fresh_data_dir_answers_health_and_docs_and_prints_a_token_once(tmp_path: Path) -> None:
    port = _free_port()
    proc = _start(tmp_path / "var", port)
    try:
        health = _wait_healthy(port, proc)
        assert health.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
    finally:
        output = _stop(proc)
    assert (tmp_path / "var" / "mailyard.db").exists()
    match = re.search(r"^\s+([0-9a-f]{64})$", output, re.MULTILINE)
    assert match, output
    assert f"http://127.0.0.1:{port}/docs" in output
    token = match.group(1)

    proc = _start(tmp_path / "var", port)
    try:
        _wait_healthy(port, proc)
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/tokens", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200
        httpx.get(f"http://127.0.0.1:{port}/health", params={"access_token": token})
    finally:
        output = _stop(proc)
    assert token not in output  # not printed again, and redacted from the access log
