"""Mail to webhook, end to end: real deliveries into Dovecot, Mailyard syncing them, a real receiver. Nothing
is lost while the receiver is down or when Mailyard is killed, and nothing is announced twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mailyard.events.signing import SIGNATURE_HEADER, verify
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUser, MailUserFactory
from tests.support.accounts import imap_body
from tests.support.app import TEST_SECRET, ApiFactory
from tests.support.webhooks import Receiver

SERVICE_SECRET = "receiver-shared-secret"


def message(subject: str) -> bytes:
    return f"From: a@example.test\r\nTo: b@example.test\r\nSubject: {subject}\r\n\r\nhello\r\n".encode()


def plain_imap(dovecot: DovecotServer, user: MailUser) -> dict[str, object]:
    return imap_body(dovecot, user, secure=False, doSTARTTLS=False)


def message_news(receiver: Receiver) -> dict[str, set[str]]:
    """Per announced message (its id), the eventIds it was announced with."""
    found: dict[str, set[str]] = defaultdict(set)
    for request in receiver.delivered:
        body = request.json
        if body["event"] == "messageNew":
            found[body["data"]["subject"]].add(body["eventId"])
    return found


async def wait_until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_receiver_down_then_back_gets_all_100_once_and_signed(
        api_factory: ApiFactory, dovecot: DovecotServer, mail_user: MailUserFactory, receiver: Receiver) -> None:
    api = await api_factory(webhook_retry_base=0.05, webhook_retry_cap=0.3)
    user = mail_user()
    await api.post("/v1/settings", {"webhooksEnabled": True, "webhooks": receiver.url(),
                                    "webhookEvents": ["messageNew"], "serviceSecret": SERVICE_SECRET})
    await api.post("/v1/account", {"account": "acc", "email": user.email, "imap": plain_imap(dovecot, user)})
    await api.wait_state("acc", "connected")
    await receiver.down()
    for n in range(100):
        dovecot.deliver(user.username, message(f"m{n:03d}"))
    await api.wait_for("/v1/account/acc", lambda b: b["counters"]["events"].get("messageNew") == 100, timeout=30)
    await receiver.up()
    await wait_until(lambda: len(message_news(receiver)) == 100)
    news = message_news(receiver)
    assert sorted(news) == [f"m{n:03d}" for n in range(100)]
    assert all(len(ids) == 1 for ids in news.values())
    assert [r.json["data"]["subject"] for r in receiver.delivered] == sorted(news)  # in order
    for request in receiver.delivered:
        assert verify(request.body, request.headers[SIGNATURE_HEADER.lower()], SERVICE_SECRET)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """`mailyard serve` in a subprocess on the store under test, so it can be killed outright."""

    def __init__(self, data_dir: Path, store_url: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MAILYARD_")}
        self.env.update(MAILYARD_DATA_DIR=str(data_dir), MAILYARD_DATABASE_URL=store_url, MAILYARD_SECRET=TEST_SECRET,
                        MAILYARD_PORT=str(self.port), MAILYARD_RECONNECT_BASE="0.2", MAILYARD_RECONNECT_CAP="1",
                        MAILYARD_WEBHOOK_RETRY_BASE="0.05", MAILYARD_WEBHOOK_RETRY_CAP="0.3",
                        MAILYARD_LOG_LEVEL="warning")
        self.log = data_dir / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "mailyard", "serve"], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(self.log.read_text())

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def served(tmp_path: Path, store_url: str) -> Iterator[Served]:
    server = Served(tmp_path / "data", store_url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def admin(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    from tests.support.store import run_sync

    async def token() -> str:
        from mailyard.runtime import Runtime
        from tests.support.app import make_settings

        runtime = await Runtime.open(make_settings(Path(served.env["MAILYARD_DATA_DIR"]),
                                                   served.env["MAILYARD_DATABASE_URL"]))
        try:
            return (await runtime.tokens.create(["admin"]))[1]
        finally:
            await runtime.close()

    secret = run_sync(token())
    async with httpx.AsyncClient(base_url=served.url, headers={"Authorization": f"Bearer {secret}"},
                                 timeout=30) as client:
        yield client


async def test_killed_and_restarted_mid_stream_loses_nothing_and_repeats_nothing(
        served: Served, admin: httpx.AsyncClient, dovecot: DovecotServer, mail_user: MailUserFactory,
        receiver: Receiver) -> None:
    user = mail_user()
    served.start()
    await admin.post("/v1/settings", json={"webhooksEnabled": True, "webhooks": receiver.url(),
                                           "webhookEvents": ["messageNew"]})
    await admin.post("/v1/account", json={"account": "acc", "email": user.email, "imap": plain_imap(dovecot, user)})
    for _ in range(200):
        if (await admin.get("/v1/account/acc")).json().get("state") == "connected":
            break
        await asyncio.sleep(0.05)
    for n in range(20):
        dovecot.deliver(user.username, message(f"k{n:02d}"))
        await asyncio.sleep(0.02)
    served.kill()  # mid-stream: some announced, some synced but not posted, some not seen yet
    for n in range(20, 40):
        dovecot.deliver(user.username, message(f"k{n:02d}"))
    served.start()
    await wait_until(lambda: len(message_news(receiver)) == 40, timeout=60)
    await asyncio.sleep(1.0)  # anything announced twice would have arrived by now
    news = message_news(receiver)
    assert sorted(news) == [f"k{n:02d}" for n in range(40)]
    assert all(len(ids) == 1 for ids in news.values()), {s: ids for s, ids in news.items() if len(ids) > 1}
