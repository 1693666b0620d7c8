"""Hosting fixtures: an app that runs the hosted-mail Dovecot over its own store, and helpers that
create verified domains and mailboxes through the MSJ Hub API."""

from __future__ import annotations

import asyncio
import imaplib
import os
import poplib
import smtplib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mailyard.mailserver.ports import MailPorts
from tests.servers.dnsmasq import DnsServer
from tests.servers.dovecot import require_dovecot
from tests.servers.ports import free_ports
from tests.servers.postfix import require_postfix
from tests.servers.smtp_sink import SmtpSink
from tests.servers.tls import ThrowawayCA
from tests.support.app import Api, ApiFactory
from tests.support.dirs import server_dir

MAIL_HOST = "mx.mailyard.test"
LOOPBACK = "127.0.0.1"


def headers(api: Api, token: str | None = None) -> dict[str, str]:
    """MSJ Hub's own header form."""
    return {"x-api-key": token or api.admin_token}


async def tenant_token(api: Api, tenant: str, scopes: list[str] | None = None) -> str:
    _, token = await api.runtime.tokens.create(scopes or ["read", "write"], tenant=tenant)
    return token


async def publish_and_verify(api: Api, dns: DnsServer, domain: str, user_id: str) -> dict[str, Any]:
    """Publish every record the API asks for in dnsmasq, then verify: the domain becomes active."""
    info = (await api.client.get(f"/v2/domains/{domain}/info", params={"user_id": user_id},
                                 headers=headers(api))).json()
    with dns.batch():
        for record in info["dns_records"]:
            if record["type"] == "MX":
                dns.set_mx(record["name"], record["value"], record["priority"])
            else:
                dns.add_txt(record["name"], record["value"])
    response = await api.client.post(f"/v2/domains/{domain}/verify", json={"user_id": user_id}, headers=headers(api))
    assert response.status_code == 200, response.text
    return response.json()


async def active_domain(api: Api, dns: DnsServer, domain: str = "customer.test", user_id: str = "user_123") -> None:
    response = await api.client.post("/v2/domain", json={"domain": domain, "user_id": user_id}, headers=headers(api))
    assert response.status_code == 200, response.text
    verified = await publish_and_verify(api, dns, domain, user_id)
    assert verified["domain"]["status"] == "active", verified


async def create_mailbox(api: Api, local_part: str, domain: str = "customer.test", user_id: str = "user_123",
                         **fields: Any) -> tuple[dict[str, Any], str]:
    """A new mailbox; returns its account object and its (returned-once) password."""
    body = {"domain": domain, "local_part": local_part, "user_id": user_id, **fields}
    response = await api.client.post("/v2/email-accounts/create", json=body, headers=headers(api))
    assert response.status_code == 200, response.text
    created = response.json()
    return created["account"], created["password"]


async def create_alias(api: Api, name: str, destinations: list[str], domain: str = "customer.test",
                       user_id: str = "user_123") -> dict[str, Any]:
    response = await api.client.post(f"/v2/domains/{domain}/aliases", headers=headers(api),
                                     json={"user_id": user_id, "name": name, "destinations": destinations})
    assert response.status_code == 200, response.text
    alias: dict[str, Any] = response.json()["alias"]
    return alias


ROUTE_SECRET = "route-secret"


async def set_route(api: Api, url: str | None, secret: str | None = ROUTE_SECRET, domain: str = "customer.test",
                    user_id: str = "user_123") -> dict[str, Any]:
    """`webhook_then_store` to `url` (with `secret`), or back to `store` when `url` is None."""
    body: dict[str, Any] = {"user_id": user_id, "forward_mode": "store"}
    if url is not None:
        body.update(forward_mode="webhook_then_store", webhook_url=url, webhook_secret=secret)
    response = await api.client.put(f"/v2/domains/{domain}/route", headers=headers(api), json=body)
    assert response.status_code == 200, response.text
    route: dict[str, Any] = response.json()["domain"]["route"]
    return route


async def update_mailbox(api: Api, mailbox_id: int, user_id: str = "user_123", **fields: Any) -> dict[str, Any]:
    response = await api.client.put(f"/v2/email-accounts/{mailbox_id}", json={"user_id": user_id, **fields},
                                    headers=headers(api))
    assert response.status_code == 200, response.text
    return response.json()["account"]


@dataclass
class HostedMail:
    """A Mailyard app whose managed Dovecot serves its hosted mailboxes on loopback `ports`."""

    api: Api
    ports: MailPorts
    dns: DnsServer
    mail_root: Path
    tls: ThrowawayCA
    sink: SmtpSink

    def imap_login(self, address: str, password: str) -> None:
        """Raises imaplib.IMAP4.error when refused."""
        with imaplib.IMAP4(LOOPBACK, self.ports.imap, timeout=10) as imap:
            imap.login(address, password)
            imap.logout()

    def pop3_login(self, address: str, password: str) -> None:
        """Raises poplib.error_proto when refused."""
        pop = poplib.POP3(LOOPBACK, self.ports.pop3, timeout=10)
        try:
            pop.user(address)
            pop.pass_(password)
        finally:
            pop.quit() if pop.sock else None

    async def submission_login(self, address: str, password: str) -> None:
        """Raises smtplib.SMTPAuthenticationError when refused."""
        await asyncio.to_thread(self._submission_login, address, password)

    def _submission_login(self, address: str, password: str) -> None:
        with self.submission() as smtp:
            smtp.login(address, password)

    def submission(self) -> smtplib.SMTP:
        """A connection to Postfix's submission port, after STARTTLS (AUTH is only offered then)."""
        smtp = smtplib.SMTP(LOOPBACK, self.ports.submission, timeout=15)
        smtp.ehlo()
        smtp.starttls(context=self.tls.client_context())
        smtp.ehlo()
        return smtp

    async def submit(self, address: str, password: str, message: bytes, recipients: list[str],
                     sender: str | None = None) -> None:
        """Send as an authenticated mailbox; raises smtplib errors on refusal. In a thread: Postfix consults
        the milter and policy service of the app under test, which runs on this event loop."""
        await asyncio.to_thread(self._submit, address, password, message, recipients, sender)

    def _submit(self, address: str, password: str, message: bytes, recipients: list[str],
                sender: str | None) -> None:
        with self.submission() as smtp:
            smtp.login(address, password)
            smtp.sendmail(sender or address, recipients, message)

    def send_inbound(self, recipients: list[str], message: bytes, sender: str = "someone@outside.test") -> None:
        """Mail from the outside world to Postfix's SMTP port; raises smtplib errors on refusal."""
        with smtplib.SMTP(LOOPBACK, self.ports.smtp, timeout=15) as smtp:
            smtp.sendmail(sender, recipients, message)

    def folder_messages(self, address: str, password: str, folder: str = "INBOX") -> list[bytes]:
        """Every message in a folder, oldest first."""
        with imaplib.IMAP4(LOOPBACK, self.ports.imap, timeout=10) as imap:
            imap.login(address, password)
            status, _ = imap.select(f'"{folder}"', readonly=True)
            assert status == "OK", folder
            _, data = imap.uid("SEARCH", "ALL")
            found = []
            for uid in data[0].split():
                _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                found.append(parts[0][1])
            return found

    async def wait_for_message(self, address: str, password: str, marker: str, folder: str = "INBOX",
                               timeout: float = 15.0) -> bytes:
        """The first message of `folder` containing `marker`, waiting for it to arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for message in await asyncio.to_thread(self.folder_messages, address, password, folder):
                if marker.encode() in message:
                    return message
            if loop.time() > deadline:
                raise AssertionError(f"no message with {marker!r} in {address}'s {folder}")
            await asyncio.sleep(0.1)

    def flush_queue(self) -> None:
        """Ask the managed Postfix to retry every deferred message now (`postqueue -f`)."""
        mailserver = self.api.runtime.mailserver
        assert mailserver is not None
        conf = mailserver.layout.postfix.config_dir
        subprocess.run(["/usr/sbin/postqueue", "-c", str(conf), "-f"], check=True, timeout=30,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "MAIL_CONFIG": str(conf)})

    async def send_internal(self, recipients: list[str], message: bytes, sender: str = "") -> None:
        """Mail from a local client to Postfix's loopback-only internal listener (where Dovecot sends). In a
        thread: that listener consults the milter of the app under test, which runs on this event loop."""
        await asyncio.to_thread(self._send_internal, recipients, message, sender)

    def _send_internal(self, recipients: list[str], message: bytes, sender: str) -> None:
        with smtplib.SMTP(LOOPBACK, self.ports.internal, timeout=15) as smtp:
            smtp.sendmail(sender, recipients, message)

    def deliver(self, recipient: str, message: bytes) -> None:
        """LMTP delivery; raises smtplib.SMTPRecipientsRefused when Dovecot refuses the recipient."""
        with smtplib.LMTP(LOOPBACK, self.ports.lmtp, timeout=10) as lmtp:
            lmtp.sendmail("sender@example.test", [recipient], message)


@pytest.fixture
def mail_root() -> Iterator[Path]:
    with server_dir("my-mail-") as root:
        yield root / "mail"


@pytest.fixture
async def hosted(api_factory: ApiFactory, dns_records: DnsServer, test_ca: ThrowawayCA, mail_root: Path,
                 smtp_sink: SmtpSink) -> HostedMail:
    require_dovecot()
    require_postfix()
    imap, pop3, lmtp, sieve, smtp, submission, internal, milter, policy, hook = free_ports(10)
    ports = MailPorts(imap=imap, imaps=0, pop3=pop3, pop3s=0, lmtp=lmtp, sieve=sieve, smtp=smtp,
                      submission=submission, internal=internal)
    api = await api_factory(mailserver=ports, mail_hostname=MAIL_HOST, mail_root=mail_root,
                            mail_tls_cert=test_ca.cert_path, mail_tls_key=test_ca.key_path,
                            mail_relay=f"{LOOPBACK}:{smtp}", mail_outbound_relay=f"{LOOPBACK}:{smtp_sink.port}",
                            milter_port=milter, policy_port=policy, hook_port=hook,
                            # Refused logins answer at once: the tests refuse many, 2 s each would add up.
                            mail_auth_failure_delay=0)
    assert os.path.isdir(mail_root)
    return HostedMail(api, ports, dns_records, mail_root, test_ca, smtp_sink)


def message(subject: str, sender: str = "someone@outside.test", to: str = "x@customer.test", body: str = "Hello",
            headers: str = "") -> bytes:
    """A small RFC 5322 message; `subject` doubles as the marker tests look for."""
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@outside.test>\r\n"
            f"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n{headers}\r\n{body}\r\n").encode()
