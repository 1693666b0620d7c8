"""Credentials are write-only: never in a response, a log line, or the database file in plaintext; a
deleted account's encrypted credentials are erased from the file too."""

import base64
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from mailyard.accounts.records import AccountRecord
from mailyard.store.urls import sqlite_path
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUserFactory
from tests.support.accounts import account_body
from tests.support.app import Api


async def _store_bytes(api: Api) -> bytes | None:
    """The SQLite file and its WAL as raw bytes (None on PostgreSQL), after closing every connection."""
    path = sqlite_path(api.runtime.db.url)
    if path is None:
        return None
    await api.runtime.stop_engine()
    await api.runtime.db.dispose()
    raw = b""
    for candidate in (Path(path), Path(path + "-wal")):
        if candidate.exists():
            raw += candidate.read_bytes()
    return raw


async def test_no_secret_in_responses_logs_or_database(api: Api, dovecot: DovecotServer,
                                                       mail_user: MailUserFactory,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    user = mail_user(password="Sup3r-Secret-Passw0rd")
    body = account_body(dovecot, user)
    answers = [await api.post("/v1/account", body)]
    await api.wait_state("user123", "connected")
    new_smtp = {**body["smtp"], "auth": {"user": user.username, "pass": "Another-Secret-Passw0rd"}}
    answers.append(await api.put("/v1/account/user123", {"smtp": new_smtp}))
    wrong = dict(body["imap"], auth={"user": user.username, "pass": "Wr0ng-Secret-Passw0rd"})
    answers += [
        await api.get("/v1/account/user123"),
        await api.get("/v1/accounts"),
        await api.post("/v1/verifyAccount", {"imap": body["imap"], "smtp": body["smtp"]}),
        await api.post("/v1/verifyAccount", {"imap": wrong}),
    ]
    secrets = ["Sup3r-Secret-Passw0rd", "Another-Secret-Passw0rd", "Wr0ng-Secret-Passw0rd"]
    sasl = [base64.b64encode(f"\0{user.username}\0{s}".encode()).decode() for s in secrets]
    for answer in answers:
        assert answer.status_code == 200
        assert not [s for s in secrets if s in answer.text]
    assert not [s for s in secrets + sasl if s in caplog.text]
    raw = await _store_bytes(api)
    if raw is not None:
        assert not [s for s in secrets if s.encode() in raw]


async def test_deleted_account_leaves_no_trace_of_its_credentials(api: Api) -> None:
    await api.post("/v1/account", {"account": "gone", "email": "g@example.com", "imap": {
        "host": "imap.example.com", "port": 993, "secure": True,
        "auth": {"user": "g@example.com", "pass": "Deleted-Secret-0"}}})
    async with api.runtime.db.transaction() as session:
        sealed = await session.scalar(select(AccountRecord.credentials).where(AccountRecord.id == "gone"))
    assert sealed and sealed.startswith("v1:")
    assert (await api.delete("/v1/account/gone")).status_code == 200
    async with api.runtime.db.transaction() as session:
        assert await session.get(AccountRecord, "gone") is None
    raw = await _store_bytes(api)
    if raw is not None:
        assert sealed.encode() not in raw
