"""The one settings object: every knob comes from a `MAILYARD_*` environment variable."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Effective configuration of one Mailyard process."""

    model_config = SettingsConfigDict(env_prefix="MAILYARD_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    port: int = Field(3000, ge=1, le=65535, description="Port the HTTP API listens on.")
    data_dir: Path = Field(Path("var"), description="Where the embedded store and the generated secret live.")
    database_url: str | None = Field(
        None, description="sqlite:///path or postgresql://user:pass@host/db; default: SQLite in data_dir."
    )
    secret: SecretStr | None = Field(
        None, description="Key material for stored secrets; default: generated into data_dir/secret."
    )
    public_url: str | None = Field(None, description="Base URL clients reach Mailyard at (links, docs URL).")
    log_level: str = Field("info", description="debug, info, warning or error.")
    dns_resolver: str | None = Field(None, description="host:port of the DNS resolver to use, e.g. 127.0.0.1:5353.")
    # A submit with 25 MB of attachments is ~34 MB of base64 JSON: the default leaves room for it.
    max_body_bytes: int = Field(40 * 1024 * 1024, ge=1024, le=1024**3,
                                description="Largest request body accepted (larger: 413).")

    engine: bool = Field(True, description="Run the connection engine in this process (false: API only).")
    tls_ca_file: Path | None = Field(None, description="Extra CA certificates trusted for mail-server TLS.")
    connect_timeout: float = Field(15.0, gt=0, le=300, description="Seconds to connect and get a greeting.")
    reconnect_base: float = Field(2.0, gt=0, le=3600, description="First reconnect delay in seconds.")
    reconnect_cap: float = Field(300.0, gt=0, le=86400, description="Longest reconnect delay in seconds.")
    keepalive: float = Field(300.0, gt=0, le=1740, description="Seconds between NOOPs on an idle connection.")
    parallel_connects: int = Field(100, ge=1, le=10000, description="Connection handshakes in flight at once.")
    resync_interval: float = Field(900.0, ge=10, le=86400 * 7,
                                   description="Seconds between full resyncs (accounts may set imap.resyncDelay).")
    webhook_timeout: float = Field(10.0, gt=0, le=300, description="Seconds a webhook receiver has to answer.")
    webhook_retry_base: float = Field(1.0, gt=0, le=3600, description="First webhook retry delay in seconds.")
    webhook_retry_cap: float = Field(3600.0, gt=0, le=86400, description="Longest webhook retry delay in seconds.")
    webhook_retry_hours: float = Field(48.0, ge=24, le=24 * 30,
                                       description="Hours a failing webhook is retried before it is marked failed.")
    event_retention_days: float = Field(7.0, gt=0, le=365, description="Days delivered events are kept.")

    mail_hostname: str = Field("mail.example.com", description="Host name of the hosted mail server (the MX).")
    mail_root: Path | None = Field(None, description="Where hosted mailboxes are stored; default data_dir/mail.")
    mail_listen: str = Field("127.0.0.1", description="Address the managed Dovecot listens on.")
    mail_tls_cert: Path | None = Field(None, description="PEM certificate of the mail server (enables TLS).")
    mail_tls_key: Path | None = Field(None, description="PEM private key of the mail server.")
    mail_user: str = Field("mail", description="System user owning hosted mail (Dovecot's mail_uid/mail_gid).")
    mail_auth_failure_delay: int = Field(2, ge=0, le=60,
                                         description="Seconds Dovecot waits before answering a failed login.")
    mail_dovecot_config: Path | None = Field(
        None, description="dovecot.conf of an externally run Dovecot, so Mailyard can end sessions (doveadm kick).")
    mail_relay: str = Field("127.0.0.1:25", description="host:port Mailyard hands its own notices to (Postfix).")
    mail_outbound_relay: str | None = Field(
        None, description="host:port Postfix relays outgoing mail through; default: the recipients' MX hosts.")
    mail_services: bool = Field(False, description="Run the milter, policy and webhook-copy services for a "
                                                   "Postfix you run yourself (serve --mailserver always runs them).")
    milter_port: int = Field(8891, ge=0, le=65535, description="Loopback port of the DKIM/From milter.")
    policy_port: int = Field(10040, ge=0, le=65535, description="Loopback port of the Postfix policy service.")
    hook_port: int = Field(10025, ge=0, le=65535, description="Loopback LMTP port receiving webhook copies.")
    outbound_default_limit: int = Field(1000, ge=1, le=1_000_000,
                                        description="Messages a mailbox may send per day when outbound_limit is 0.")
    domain_check_interval: float = Field(600.0, ge=1, le=86400,
                                         description="Seconds between DNS re-checks of pending domains.")
    password_min_length: int = Field(8, ge=8, le=128, description="Shortest hosted-mailbox password allowed.")
    password_require_upper: bool = Field(False, description="Hosted passwords need an upper-case letter.")
    password_require_lower: bool = Field(False, description="Hosted passwords need a lower-case letter.")
    password_require_symbol: bool = Field(False, description="Hosted passwords need a symbol.")
    password_history: int = Field(5, ge=1, le=50,
                                  description="Previous passwords that block_old_password refuses to reuse.")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return value

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mailyard.db').resolve()}"

    @property
    def effective_mail_root(self) -> Path:
        return (self.mail_root or self.data_dir / "mail").resolve()

    @property
    def secret_file(self) -> Path:
        return self.data_dir / "secret"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::"} else self.host
        return f"http://{host}:{self.port}"

    def masked(self) -> dict[str, Any]:
        """The effective settings as printable values, with every secret masked."""
        from mailyard.store.urls import mask_password

        return {
            "host": self.host,
            "port": self.port,
            "data_dir": str(self.data_dir.resolve()),
            "database_url": mask_password(self.effective_database_url),
            "secret": "********" if self.secret else f"(file {self.secret_file.resolve()})",
            "public_url": self.base_url,
            "log_level": self.log_level,
            "dns_resolver": self.dns_resolver or "(system)",
            "max_body_bytes": self.max_body_bytes,
            "engine": self.engine,
            "tls_ca_file": str(self.tls_ca_file) if self.tls_ca_file else "(system trust store only)",
            "connect_timeout": self.connect_timeout,
            "reconnect_base": self.reconnect_base,
            "reconnect_cap": self.reconnect_cap,
            "keepalive": self.keepalive,
            "parallel_connects": self.parallel_connects,
            "resync_interval": self.resync_interval,
            "webhook_timeout": self.webhook_timeout,
            "webhook_retry_base": self.webhook_retry_base,
            "webhook_retry_cap": self.webhook_retry_cap,
            "webhook_retry_hours": self.webhook_retry_hours,
            "event_retention_days": self.event_retention_days,
            "mail_hostname": self.mail_hostname,
            "mail_root": str(self.effective_mail_root),
            "mail_listen": self.mail_listen,
            "mail_tls_cert": str(self.mail_tls_cert) if self.mail_tls_cert else "(none: TLS off)",
            "mail_tls_key": "(set)" if self.mail_tls_key else "(none)",
            "mail_user": self.mail_user,
            "mail_auth_failure_delay": self.mail_auth_failure_delay,
            "mail_dovecot_config": str(self.mail_dovecot_config) if self.mail_dovecot_config else "(managed only)",
            "mail_relay": self.mail_relay,
            "mail_outbound_relay": self.mail_outbound_relay or "(MX delivery)",
            "mail_services": self.mail_services,
            "milter_port": self.milter_port,
            "policy_port": self.policy_port,
            "hook_port": self.hook_port,
            "outbound_default_limit": self.outbound_default_limit,
            "domain_check_interval": self.domain_check_interval,
            "password_min_length": self.password_min_length,
            "password_require_upper": self.password_require_upper,
            "password_require_lower": self.password_require_lower,
            "password_require_symbol": self.password_require_symbol,
            "password_history": self.password_history,
        }
