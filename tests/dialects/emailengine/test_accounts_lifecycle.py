"""Accounts against the real Dovecot: every state, recovery, partial versus full update, TLS variants,
disable/enable/delete applied at once."""

import asyncio
import time

from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import MailUserFactory
from tests.servers.mailbox import fetch_messages
from tests.support.accounts import account_body, imap_body, smtp_body
from tests.support.app import Api, ApiFactory


async def test_account_with_password_connects_and_checks_smtp(api: Api, dovecot: DovecotServer,
                                                              mail_user: MailUserFactory) -> None:
    user = mail_user()
    assert (await api.post("/v1/account", account_body(dovecot, user))).json() == {"account": "user123",
                                                                                  "state": "new"}
    body = await api.wait_state("user123", "connected")
    assert body["syncTime"].endswith("Z")
    assert "lastError" not in body
    body = await api.wait_for("/v1/account/user123", lambda b: "smtpStatus" in b)
    assert body["smtpStatus"]["status"] == "ok"
    assert body["imap"]["auth"] == {"user": user.username}


async def test_wrong_password_is_authentication_error_and_recovers_when_fixed(
        api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    dovecot.set_password(user.username, "changed-on-the-server")
    await api.post("/v1/account", account_body(dovecot, user))
    body = await api.wait_state("user123", "authenticationError")
    assert body["lastError"]["serverResponseCode"] == "AUTHENTICATIONFAILED"
    assert body["lastError"]["response"]
    dovecot.set_password(user.username, user.password)
    await api.wait_state("user123", "connected", timeout=15)


async def test_new_credentials_reconnect_an_account_in_error(api: Api, dovecot: DovecotServer,
                                                            mail_user: MailUserFactory) -> None:
    user = mail_user()
    body = account_body(dovecot, user)
    body["imap"]["auth"]["pass"] = "wrong"
    await api.post("/v1/account", body)
    await api.wait_state("user123", "authenticationError")
    await api.put("/v1/account/user123", {"imap": {"partial": True, "auth": {"user": user.username,
                                                                             "pass": user.password}}})
    await api.wait_state("user123", "connected")


async def test_closed_port_is_connect_error_and_recovers_after_the_fix(api: Api, dovecot: DovecotServer,
                                                                      mail_user: MailUserFactory) -> None:
    user = mail_user()
    body = account_body(dovecot, user)
    body["imap"]["port"] = 1
    await api.post("/v1/account", body)
    error = await api.wait_state("user123", "connectError")
    assert error["lastError"]["serverResponseCode"] == "ECONNREFUSED"
    await api.put("/v1/account/user123", {"imap": {"partial": True, "port": dovecot.ports.imaps}})
    await api.wait_state("user123", "connected")


async def test_partial_imap_update_keeps_password(api: Api, dovecot: DovecotServer,
                                                  mail_user: MailUserFactory) -> None:
    user = mail_user()
    await api.post("/v1/account", account_body(dovecot, user, imap=imap_body(dovecot, user, sentMailPath="Sent")))
    await api.wait_state("user123", "connected")
    await api.put("/v1/account/user123", {"imap": {"partial": True, "port": dovecot.ports.imap, "secure": False}})
    body = await api.wait_state("user123", "connected")
    assert body["imap"] == {"host": "localhost", "port": dovecot.ports.imap, "secure": False,
                            "auth": {"user": user.username}, "sentMailPath": "Sent"}


async def test_full_imap_update_drops_what_it_does_not_repeat(api: Api, dovecot: DovecotServer,
                                                              mail_user: MailUserFactory) -> None:
    user = mail_user()
    await api.post("/v1/account", account_body(dovecot, user, imap=imap_body(dovecot, user, sentMailPath="Sent")))
    await api.wait_state("user123", "connected")
    await api.put("/v1/account/user123", {"imap": {"host": "localhost", "port": dovecot.ports.imaps, "secure": True}})
    body = await api.wait_state("user123", "authenticationError")
    assert "sentMailPath" not in body["imap"] and "auth" not in body["imap"]
    assert body["lastError"]["serverResponseCode"] == "NoCredentials"


async def test_starttls_and_plain_connections(api: Api, dovecot: DovecotServer,
                                              mail_user: MailUserFactory) -> None:
    user = mail_user()
    await api.post("/v1/account", account_body(dovecot, user, account="starttls",
                                               imap=imap_body(dovecot, user, secure=False)))
    await api.post("/v1/account", account_body(dovecot, user, account="plain",
                                               imap=imap_body(dovecot, user, secure=False, doSTARTTLS=False)))
    await api.wait_state("starttls", "connected")
    await api.wait_state("plain", "connected")


async def test_self_signed_certificate_is_rejected_unless_opted_out(api_factory: ApiFactory, dovecot: DovecotServer,
                                                                    mail_user: MailUserFactory) -> None:
    api = await api_factory(tls_ca_file=None)
    user = mail_user()
    await api.post("/v1/account", account_body(dovecot, user, account="strict"))
    body = await api.wait_state("strict", "connectError")
    assert body["lastError"]["serverResponseCode"] == "ETLS"
    relaxed = account_body(dovecot, user, account="relaxed",
                           imap=imap_body(dovecot, user, tls={"rejectUnauthorized": False}),
                           smtp=smtp_body(dovecot, user, tls={"rejectUnauthorized": False}))
    await api.post("/v1/account", relaxed)
    await api.wait_state("relaxed", "connected")
    body = await api.wait_for("/v1/account/relaxed", lambda b: "smtpStatus" in b)
    assert body["smtpStatus"]["status"] == "ok"


async def test_xoauth2_with_an_imap_access_token(api: Api, dovecot: DovecotServer,
                                                 mail_user: MailUserFactory) -> None:
    user = mail_user(password="access-token-for-xoauth2")
    imap = imap_body(dovecot, user, auth={"user": user.username, "accessToken": "access-token-for-xoauth2"})
    await api.post("/v1/account", {"account": "oauth", "email": user.email, "imap": imap})
    body = await api.wait_state("oauth", "connected")
    assert "access-token-for-xoauth2" not in str(body)


async def test_disable_closes_the_connection_and_enable_reconnects_within_a_second(
        api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    await api.post("/v1/account", account_body(dovecot, user))
    await api.wait_state("user123", "connected")
    assert api.runtime.engine is not None and api.runtime.engine.running == 1
    started = time.monotonic()
    await api.put("/v1/account/user123", {"disabled": True})
    assert (await api.get("/v1/account/user123")).json()["state"] == "disconnected"
    while api.runtime.engine.running:
        assert time.monotonic() - started < 1, "disable did not close the connection within a second"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    assert (await api.get("/v1/account/user123")).json()["state"] == "disconnected"
    started = time.monotonic()
    await api.put("/v1/account/user123", {"disabled": False})
    await api.wait_state("user123", "connected", timeout=1)
    assert time.monotonic() - started < 1


async def test_reconnect_opens_a_fresh_connection(api: Api, dovecot: DovecotServer,
                                                  mail_user: MailUserFactory) -> None:
    user = mail_user()
    await api.post("/v1/account", account_body(dovecot, user))
    first = await api.wait_state("user123", "connected")
    await asyncio.sleep(0.01)
    await api.client.put("/v1/account/user123/reconnect", headers=api.auth())
    await api.wait_for("/v1/account/user123",
                       lambda b: b["state"] == "connected" and b["syncTime"] > first["syncTime"], timeout=1)


async def test_delete_closes_at_once_and_leaves_the_mailbox_alone(api: Api, dovecot: DovecotServer,
                                                                  mail_user: MailUserFactory) -> None:
    user = mail_user()
    dovecot.deliver(user.username, b"Subject: keep me\r\n\r\nstill here\r\n")
    await api.post("/v1/account", account_body(dovecot, user))
    await api.wait_state("user123", "connected")
    started = time.monotonic()
    assert (await api.delete("/v1/account/user123")).json() == {"account": "user123", "deleted": True}
    assert api.runtime.engine is not None
    while api.runtime.engine.running:
        assert time.monotonic() - started < 1
        await asyncio.sleep(0.01)
    assert (await api.get("/v1/account/user123")).status_code == 404
    messages = fetch_messages(dovecot, user.username, user.password)
    assert len(messages) == 1 and b"still here" in messages[0]


async def test_send_only_account_checks_smtp(api: Api, dovecot: DovecotServer, mail_user: MailUserFactory) -> None:
    user = mail_user()
    await api.post("/v1/account", {"account": "sender", "email": user.email, "imap": {"disabled": True},
                                   "smtp": smtp_body(dovecot, user)})
    body = await api.wait_state("sender", "connected")
    assert body["smtpStatus"]["status"] == "ok"


async def test_engine_restart_reconnects_every_enabled_account(api_factory: ApiFactory, dovecot: DovecotServer,
                                                               mail_user: MailUserFactory) -> None:
    first = await api_factory()
    user = mail_user()
    await first.post("/v1/account", account_body(dovecot, user))
    await first.post("/v1/account", account_body(dovecot, user, account="off", disabled=True))
    await first.wait_state("user123", "connected")
    await first.runtime.stop_engine()
    second = await api_factory()
    await second.wait_state("user123", "connected")
    assert (await second.get("/v1/account/off")).json()["state"] == "disconnected"
    assert second.runtime.engine is not None and second.runtime.engine.running == 1
