"""Render main.cf, master.cf and the SQLite recipient map of a private Postfix instance.

Every path points below the instance directory, chroot is off (a chroot would need copies of /etc files
inside the queue directory), and only one smtpd listens, on 127.0.0.1 at a free port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mailyard.mailserver.postfix_config import POSTFIX_SERVICES
from mailyard.mailserver.postfix_config import PostfixLayout as HostedPostfixLayout


@dataclass(frozen=True)
class PostfixLayout(HostedPostfixLayout):
    """Mailyard's own Postfix layout, plus the fixture's recipient map."""

    @property
    def recipient_map(self) -> Path:
        return self.config_dir / "virtual-mailboxes.sqlite.cf"


def render_master_cf(smtp_port: int) -> str:
    return f"127.0.0.1:{smtp_port} inet n - n - - smtpd\n{POSTFIX_SERVICES}"


# Postfix SQL-escapes %s itself before substituting it.
_RECIPIENT_QUERY = "SELECT 'OK' FROM users WHERE username = '%s' AND active = 1"


def render_recipient_map(database: Path) -> str:
    """A sqlite map answering for addresses that exist as users in Dovecot's user table."""
    return f"dbpath = {database}\nquery = {_RECIPIENT_QUERY}\n"


def render_main_cf(
    layout: PostfixLayout,
    *,
    hostname: str,
    virtual_domains: tuple[str, ...],
    lmtp_port: int,
    relay_host: str,
    relay_port: int,
    recipient_database: Path | None,
    cert_path: Path | None,
    key_path: Path | None,
    overrides: Mapping[str, str],
) -> str:
    settings: dict[str, str] = {
        "compatibility_level": "3.6",
        "queue_directory": str(layout.queue_dir),
        "data_directory": str(layout.data_dir),
        # postlogd writes here; without a syslog daemon this is the only place Postfix can log to.
        "maillog_file": str(layout.log),
        "maillog_file_prefixes": str(layout.root),
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "myhostname": hostname,
        "mydomain": hostname.partition(".")[2] or hostname,
        "myorigin": "$myhostname",
        "mydestination": "",
        "mynetworks": "127.0.0.0/8",
        # The defaults name /etc/aliases and NIS, which this instance must not read.
        "alias_maps": "",
        "alias_database": "",
        "local_recipient_maps": "",
        "biff": "no",
        "append_dot_mydomain": "no",
        "smtpd_banner": "$myhostname ESMTP Mailyard test Postfix",
        "smtpd_peername_lookup": "no",
        "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
        "virtual_mailbox_domains": " ".join(virtual_domains),
        "virtual_transport": f"lmtp:inet:127.0.0.1:{lmtp_port}",
        # Brackets: deliver straight to that address, no MX lookup (there is no test DNS for Postfix).
        "relayhost": f"[{relay_host}]:{relay_port}",
        "smtp_dns_support_level": "disabled",
        # Deferred mail is retried within seconds, so "temporary failure then success" tests stay fast.
        "queue_run_delay": "1s",
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "2s",
    }
    if recipient_database is not None:
        settings["virtual_mailbox_maps"] = f"sqlite:{layout.recipient_map}"
    else:
        settings["smtpd_reject_unlisted_recipient"] = "no"
    if cert_path is not None and key_path is not None:
        settings["smtpd_tls_cert_file"] = str(cert_path)
        settings["smtpd_tls_key_file"] = str(key_path)
        settings["smtpd_tls_security_level"] = "may"
    settings.update(overrides)
    body = "\n".join(f"{key} = {value}" for key, value in settings.items())
    return f"# Generated for one pytest session; see tests/servers/postfix.py.\n{body}\n"
