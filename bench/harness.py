"""Shared benchmark plumbing: a real `mailyard serve` in a temporary data directory, and wrk runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    token: str
    data_dir: Path
    process: subprocess.Popen[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextmanager
def mailyard_server(data_dir: Path | None = None, token: str | None = None, **env: str) -> Iterator[Server]:
    """Start `mailyard serve` on a free loopback port with a fresh SQLite store (or MAILYARD_DATABASE_URL).
    With `data_dir` the store is kept (pass the first run's `token` to later runs)."""
    keep = data_dir is not None
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="mailyard-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAILYARD_")}
    full_env.update(MAILYARD_DATA_DIR=str(data_dir), MAILYARD_PORT=str(port), MAILYARD_LOG_LEVEL="warning",
                    MAILYARD_SECRET="benchmark-secret-0123456789", **env)
    log_path = data_dir / "serve.log"
    log = log_path.open("a")
    process = subprocess.Popen([sys.executable, "-m", "mailyard", "serve"], env=full_env, text=True,
                               stdout=log, stderr=subprocess.STDOUT)
    found = token or ""
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"mailyard serve exited; see {log_path}")
            if not found:
                match = re.search(r"^\s+([0-9a-f]{64})\s*$", log_path.read_text(), re.MULTILINE)
                found = match.group(1) if match else ""
            try:
                if found and httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        if not found:
            raise RuntimeError("mailyard serve did not print its admin token")
        yield Server(url, found, data_dir, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def rss_kib(pid: int) -> int:
    """Resident set size of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int

    def line(self, label: str) -> str:
        return (f"{label:<42} {self.requests_per_second:>9.0f} req/s   p50 {self.p50_ms:6.2f} ms   "
                f"p99 {self.p99_ms:6.2f} ms   non-2xx/errors {self.errors}")


_LUA_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout
  io.write(string.format("JSON{\\"rps\\": %f, \\"p50\\": %f, \\"p99\\": %f, \\"errors\\": %d}\\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors))
end
"""


def wrk(url: str, script: str, *, connections: int = 16, seconds: int = 10, threads: int = 2) -> WrkResult:
    """Run wrk with a Lua `request` function; returns throughput and latency percentiles."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does it)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + _LUA_REPORT)
        path = handle.name
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", path, url],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(path)
    data = json.loads(out.split("JSON", 1)[1].splitlines()[0])
    return WrkResult(data["rps"], data["p50"], data["p99"], data["errors"])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]
