"""Benchmark of the connection engine against a local Dovecot tuned for many connections.

    .venv/bin/python -m bench.engine [--accounts 10000] [--messages 300] [--rate 30]

Prints: accounts kept connected in one process, time for all to reach `connected` after start, RSS per
connected account, store bytes per synced account, and delivery-to-webhook latency (p50/p99) of messages
delivered over LMTP while every account is connected. Targets: 10,000 accounts; ≤ 100 KiB RSS and
≤ 16 KiB of store per account; ≤ 60 s to connect all; p99 < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import smtplib
import sqlite3
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from bench.harness import Server, free_port, mailyard_server, percentile, rss_kib
from mailyard.engine.imap import Credentials, ImapConnection, ImapEndpoint
from mailyard.engine.net import NetOptions
from tests.servers.dovecot import DovecotServer
from tests.servers.tls import make_throwaway_ca

# Dovecot serves one connection per imap process by default; ten thousand idle clients need the
# "high-performance" login mode and imap processes that each hold many clients.
DOVECOT_TUNING = """
# Logins and folder status from caches and indexes rather than the disk each time.
auth_cache_size = 10M
auth_verbose = no
mailbox_list_index = yes
maildir_very_dirty_syncs = yes
default_process_limit = 200
default_client_limit = 25000
service imap-login {
  service_count = 0
  client_limit = 12000
  process_min_avail = 2
  vsz_limit = 1G
}
service imap {
  service_count = 0
  client_limit = 1000
  process_limit = 100
  vsz_limit = 1G
}
service auth {
  client_limit = 25000
}
service anvil {
  client_limit = 25000
}
protocol imap {
  mail_max_userip_connections = 50
}
"""


class Receiver:
    """A webhook endpoint recording when each messageNew arrived, by subject."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.loads(body)
                if payload.get("event") == "messageNew":
                    receiver.arrivals.setdefault(payload["data"].get("subject") or "", time.time())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


async def create_accounts(server: Server, dovecot: DovecotServer, users: list[tuple[str, str]]) -> None:
    queue: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
    for i, (username, password) in enumerate(users):
        queue.put_nowait((i, username, password))

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i, username, password = queue.get_nowait()
            response = await client.post("/v1/account", json={
                "account": f"b{i:05d}", "email": username,
                "imap": {"host": "127.0.0.1", "port": dovecot.ports.imap, "secure": False, "doSTARTTLS": False,
                         "auth": {"user": username, "pass": password}}})
            response.raise_for_status()

    async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(16)))


async def prewarm(dovecot: DovecotServer, users: list[tuple[str, str]]) -> None:
    """Log every user in once, so their folders exist as in a mailbox that has been in use (Dovecot creates
    folders and indexes at the first login, which is not what a restart of Mailyard meets)."""
    options = NetOptions(connect_timeout=60)
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for user in users:
        queue.put_nowait(user)

    async def worker() -> None:
        while not queue.empty():
            username, password = queue.get_nowait()
            conn = await ImapConnection.open(ImapEndpoint("127.0.0.1", dovecot.ports.imap, starttls=False), options)
            await conn.authenticate(Credentials(username, password))
            await conn.list_with_status()
            await conn.logout()

    await asyncio.gather(*(worker() for _ in range(32)))


def connected(server: Server) -> int:
    response = httpx.get(f"{server.url}/v1/accounts", params={"state": "connected", "pageSize": 1},
                         headers=server.headers, timeout=60)
    return int(response.json()["total"])


def store_bytes(path: Path) -> int:
    """The size the store's data takes, compacted (VACUUM INTO a scratch file)."""
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "copy.db"
        with sqlite3.connect(path) as conn:
            conn.execute("VACUUM INTO ?", (str(target),))
        return target.stat().st_size


def deliver_and_measure(server: Server, dovecot: DovecotServer, users: list[tuple[str, str]], count: int,
                        rate: float) -> list[float]:
    receiver = Receiver()
    try:
        httpx.post(f"{server.url}/v1/settings", headers=server.headers, timeout=30, json={
            "webhooksEnabled": True, "webhooks": f"http://127.0.0.1:{receiver.port}/hook",
            "webhookEvents": ["messageNew"]}).raise_for_status()
        sent: dict[str, float] = {}
        rng = random.Random(7)
        with smtplib.LMTP("127.0.0.1", dovecot.ports.lmtp, timeout=30) as lmtp:
            for n in range(count):
                username, _ = rng.choice(users)
                subject = f"bench-{n}"
                message = (f"From: bench@example.test\r\nTo: {username}\r\nSubject: {subject}\r\n"
                           f"Message-ID: <{subject}@bench.test>\r\n\r\nhello\r\n")
                sent[subject] = time.time()
                lmtp.sendmail("bench@example.test", [username], message)
                time.sleep(1 / rate)
        deadline = time.monotonic() + 60
        while len(receiver.arrivals) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        missing = count - len(receiver.arrivals)
        if missing:
            print(f"  {missing} of {count} messageNew webhooks did not arrive within 60 s")
        return [receiver.arrivals[s] - t for s, t in sent.items() if s in receiver.arrivals]
    finally:
        receiver.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="messages per second delivered")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mailyard-bench-engine-"))
    root.chmod(0o755)
    dovecot = DovecotServer(root / "dovecot", make_throwaway_ca(root / "tls"), relay_port=9,
                            extra_config=DOVECOT_TUNING)
    dovecot.start()
    try:
        users = [(f"user{i:05d}@bench.test", f"pw-{i}") for i in range(args.accounts)]
        dovecot.add_users(users)
        started = time.monotonic()
        asyncio.run(prewarm(dovecot, users))
        print(f"logged every user in once (their folders now exist) in {time.monotonic() - started:.1f} s")
        data = root / "mailyard"
        engine_env = {"MAILYARD_CONNECT_TIMEOUT": "60", "MAILYARD_PARALLEL_CONNECTS": "200",
                      "MAILYARD_RESYNC_INTERVAL": "86400"}
        with mailyard_server(data, MAILYARD_ENGINE="false") as server:
            started = time.monotonic()
            asyncio.run(create_accounts(server, dovecot, users))
            print(f"created {args.accounts} accounts through the API in {time.monotonic() - started:.1f} s")
            token = server.token
        with mailyard_server(data, token, MAILYARD_ENGINE="false") as server:
            connected(server)
            baseline = rss_kib(server.process.pid)
        started = time.monotonic()
        with mailyard_server(data, token, **engine_env) as server:
            reached, best = None, 0
            while time.monotonic() - started < 600:
                best = max(best, connected(server))
                if best >= args.accounts:
                    reached = time.monotonic() - started
                    break
                time.sleep(0.5)
            time.sleep(5)
            held = connected(server)
            rss = rss_kib(server.process.pid)
            print(f"accounts connected in one process: {held} of {args.accounts}")
            if reached is not None:
                print(f"time from start to all connected: {reached:.1f} s")
            else:
                print(f"not all connected within 600 s (best {best})")
            print(f"RSS: {baseline / 1024:.0f} MiB with the engine off, {rss / 1024:.0f} MiB with {held} connected "
                  f"→ {(rss - baseline) / max(held, 1):.1f} KiB per connected account")
            latencies = deliver_and_measure(server, dovecot, users, args.messages, args.rate)
            if latencies:
                print(f"delivery-to-webhook latency over {len(latencies)} messages: "
                      f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p99 {percentile(latencies, 99) * 1000:.0f} ms, "
                      f"max {max(latencies) * 1000:.0f} ms")
        total = store_bytes(data / "mailyard.db")
        with sqlite3.connect(data / "mailyard.db") as conn:
            events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        empty_root = Path(tempfile.mkdtemp())
        with mailyard_server(empty_root / "empty", MAILYARD_ENGINE="false"):
            pass
        empty = store_bytes(empty_root / "empty" / "mailyard.db")
        print(f"store: {total / 1024 / 1024:.1f} MiB for {args.accounts} synced accounts ({events} events kept) "
              f"→ {(total - empty) / args.accounts / 1024:.2f} KiB per account")
    finally:
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
