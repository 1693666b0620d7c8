"""The Runtime: everything one Mailyard process holds open (store, secret box, services, engine)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailyard.accounts.auth_form import FormLinks
from mailyard.accounts.service import AccountService
from mailyard.aio import PeriodicJob
from mailyard.config import Settings
from mailyard.engine.backoff import Backoff
from mailyard.engine.connector import NetworkConnector
from mailyard.engine.folder_store import FolderStore
from mailyard.engine.net import NetOptions, make_resolver
from mailyard.engine.session import SessionDeps
from mailyard.engine.state_writer import StateWriter
from mailyard.engine.supervisor import Supervisor
from mailyard.engine.worker import WorkerDeps
from mailyard.events.changes import ChangeFeed
from mailyard.events.delivery import DeliveryOptions, WebhookDispatcher
from mailyard.events.settings import SettingsService
from mailyard.hosting.aliases import AliasService
from mailyard.hosting.auth_check import AuthChecker
from mailyard.hosting.domains import DomainService
from mailyard.hosting.expiry_watch import ExpiryWatch
from mailyard.hosting.mail_storage import remove_homes
from mailyard.hosting.mailboxes import MailboxService
from mailyard.hosting.password_change import PasswordChanger
from mailyard.hosting.password_policy import PasswordPolicy
from mailyard.hosting.password_recovery import PasswordRecovery
from mailyard.hosting.routes import DomainRoutes
from mailyard.hosting.sending_policy import prune_counts
from mailyard.mail.notice import send_notice
from mailyard.mailserver.managed import ManagedMailServer
from mailyard.mailserver.services import MailServices
from mailyard.mailserver.sessions import SessionKicker
from mailyard.observability.metrics import Metrics
from mailyard.security.secret_source import SecretSource, load_secret
from mailyard.security.secretbox import SecretBox
from mailyard.security.store_secret import SecretMismatch, verify_secret
from mailyard.security.tokens import TokenService
from mailyard.store.db import Database
from mailyard.store.migrate import migrate
from mailyard.web.admin_auth import AdminAuth
from mailyard.web.sessions import WebSessions


@dataclass
class Runtime:
    settings: Settings
    db: Database
    box: SecretBox
    secret_source: SecretSource
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        self.tokens = TokenService(self.db)
        self.accounts = AccountService(self.db, self.box, listener=self)
        self.settings_store = SettingsService(self.db, self.box, default_service_url=self.settings.base_url)
        self.changes = ChangeFeed()
        s = self.settings
        self.webhooks = WebhookDispatcher(self.db, self.settings_store, DeliveryOptions(
            timeout=s.webhook_timeout, retry_base=s.webhook_retry_base, retry_cap=s.webhook_retry_cap,
            retry_window_hours=s.webhook_retry_hours, retention_days=s.event_retention_days,
        ))
        self.net = NetOptions(
            connect_timeout=self.settings.connect_timeout,
            dns_resolver=self.settings.dns_resolver,
            ca_file=str(self.settings.tls_ca_file) if self.settings.tls_ca_file else None,
        )
        self.engine: Supervisor | None = None
        self.form_links = FormLinks(self.db, self.box.subkey("form-links"), s.base_url)
        self.admin_auth = AdminAuth(self.db, self.box)
        self.web_sessions = WebSessions(self.db)
        self.domains = DomainService(self.db, self.box, mail_host=s.mail_hostname,
                                     resolver=lambda: make_resolver(s.dns_resolver), listener=self)
        policy = PasswordPolicy(
            min_length=s.password_min_length, require_upper=s.password_require_upper,
            require_lower=s.password_require_lower, require_symbol=s.password_require_symbol,
            history_size=s.password_history,
        )
        self.mailboxes = MailboxService(self.db, self.box, self.domains, policy, listener=self)
        self.auth_checker = AuthChecker(self.db, self.box)
        self.password_changer = PasswordChanger(self.db, self.auth_checker, policy)
        self.password_recovery = PasswordRecovery(self.db, policy, self._send_notice)
        self.aliases = AliasService(self.db, self.domains)
        self.routes = DomainRoutes(self.db, self.box, self.domains, on_event=self.events_written)
        self.webhooks.routes = self.routes.route
        self.mail_services: MailServices | None = None
        self.mailserver: ManagedMailServer | None = None  # set by `mailyard serve --mailserver`
        self.sessions = SessionKicker(self._dovecot_config)
        self.expiry_watch = ExpiryWatch(self.db, self)
        self._hosting_jobs = [
            PeriodicJob("domain-recheck", s.domain_check_interval, self.domains.recheck_pending),
            PeriodicJob("password-expiry", 60.0, self.expiry_watch.run_once),
            PeriodicJob("outbound-counts", 3600.0, lambda: prune_counts(self.db)),
        ]
        self._background: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, settings: Settings) -> Runtime:
        """Migrate the store and prove the secret opens it; raises SecretMismatch with a clear message."""
        db = Database(settings.effective_database_url)
        try:
            await migrate(db)
            source = load_secret(settings)
            box = SecretBox(source.value)
            where = "MAILYARD_SECRET" if source.origin == "env" else str(source.path)
            try:
                await verify_secret(db, box, where)
            except SecretMismatch:
                if source.generated and source.path is not None:
                    source.path.unlink()  # a fresh secret that cannot open the data must not linger
                raise
        except BaseException:
            await db.dispose()
            raise
        return cls(settings, db, box, source)

    async def _send_notice(self, recipient: str, subject: str, text: str) -> None:
        await send_notice(self.settings.mail_relay, f"postmaster@{self.settings.mail_hostname}", recipient, subject,
                          text)

    def _dovecot_config(self) -> Path | None:
        return self.mailserver.dovecot_config if self.mailserver is not None else self.settings.mail_dovecot_config

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def mailboxes_removed(self, addresses: list[str]) -> None:
        async def work() -> None:
            await self.sessions.kick(addresses)
            await asyncio.to_thread(remove_homes, self.settings.effective_mail_root, addresses)

        self._in_background(work())

    def logins_revoked(self, addresses: list[str]) -> None:
        self._in_background(self.sessions.kick(addresses))

    def account_changed(self, account_id: str) -> None:
        if self.engine is not None:
            self.engine.account_changed(account_id)

    def events_written(self) -> None:
        self.webhooks.wake()

    def sync_requested(self, account_id: str) -> None:
        if self.engine is not None:
            self.engine.request_sync(account_id)

    def _publish_states(self, changes: list[dict[str, Any]]) -> None:
        for change in changes:
            self.changes.publish(change)

    async def start_engine(self) -> None:
        s = self.settings
        connector = NetworkConnector(self.net, parallel=s.parallel_connects)
        backoff = Backoff(base=s.reconnect_base, cap=s.reconnect_cap)
        states = StateWriter(self.db, on_states=self._publish_states, on_events=self.events_written)
        self.folder_store = FolderStore(self.db, self)
        deps = WorkerDeps(
            connector=connector, states=states, backoff=backoff,
            session=SessionDeps(self.folder_store, connector, backoff,
                                resync_interval=s.resync_interval, keepalive=s.keepalive),
        )
        self.engine = Supervisor(deps, self.accounts.load_config, self.accounts.enabled_configs)
        await self.engine.start()

    async def stop_engine(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None
            await self.folder_store.close()

    async def start_services(self) -> None:
        """What `mailyard serve` runs beside the API: webhook delivery, the DNS re-check of pending
        domains, the engine unless disabled, and Dovecot when asked to manage it."""
        if self.mailserver is not None or self.settings.mail_services:
            self.mail_services = MailServices(self.settings, self.db, self.box, self.routes.receive)
            await self.mail_services.start()
        if self.mailserver is not None:
            await self.mailserver.start()
        self.webhooks.start()
        for job in self._hosting_jobs:
            job.start()
        if self.settings.engine:
            await self.start_engine()

    async def stop_services(self) -> None:
        await self.stop_engine()
        for job in self._hosting_jobs:
            await job.stop()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.webhooks.stop()
        if self.mailserver is not None:
            await self.mailserver.stop()
        if self.mail_services is not None:
            await self.mail_services.stop()
            self.mail_services = None

    async def close(self) -> None:
        await self.stop_services()
        await self.db.dispose()
