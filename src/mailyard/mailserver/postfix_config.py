"""Render a Postfix instance that receives and sends hosted mail, reading Mailyard's store.

Lookup tables are SQL queries (sqlite or pgsql, like the store): active domains, mailboxes, aliases,
the bounce_mail refusals and the webhook copies of `webhook_then_store` domains. Mail for hosted
mailboxes goes to Dovecot over LMTP. Submission (STARTTLS, SASL through Dovecot, so every login rule
applies) passes Mailyard's milter (DKIM signing, From ownership) and policy service (outbound limits).
Every smtpd service (SMTP, submission, the internal listener) refuses at RCPT a bounce_mail mailbox and
the hooks domain, which only Postfix itself may address (recipient_bcc_maps). Every path is under one
directory; chroot is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mailyard.mailserver.hook_addresses import HOOK_DOMAIN
from mailyard.mailserver.pg_target import pg_target, postfix_hosts
from mailyard.mailserver.ports import MailPorts
from mailyard.store.urls import backend_of, sqlite_path

INTERNAL_DAEMON = "mailyard-internal"  # the milter's {daemon_name} for mail from the internal listener
HOOK_REFUSAL = "REJECT 5.1.1 This address only takes mail from Mailyard itself"

# Services as in Debian's master.cf, without chroot and without pipe transports for absent software.
POSTFIX_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       n       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# Postfix SQL-escapes %s/%d itself before substituting them.
QUERIES = {
    "domains": "SELECT name FROM hosted_domains WHERE name = '%s' AND status = 'active'",
    "mailboxes": "SELECT 'OK' FROM hosted_mailboxes WHERE address = '%s'",
    "aliases": "SELECT destinations_text FROM hosted_aliases WHERE address = '%s'",
    "bounces": "SELECT bounce_reply FROM hosted_mailboxes WHERE address = '%s' AND bounce_reply IS NOT NULL",
    # The copy address carries the domain's token (hook_addresses.py), which the receiver verifies.
    "hooks": f"SELECT 'domain-' || id || '-' || hook_token || '@{HOOK_DOMAIN}' FROM hosted_domains "  # noqa: S608
             "WHERE name = '%d' AND forward_mode = 'webhook_then_store' AND hook_token IS NOT NULL",
}


@dataclass(frozen=True)
class PostfixOptions:
    hostname: str
    listen: str
    lmtp_port: int
    sasl_socket: Path  # Dovecot's auth socket for Postfix
    milter_port: int
    policy_port: int
    hook_port: int
    outbound_relay: str | None = None  # "host:port"; None: deliver to the recipients' MX hosts
    tls_cert: Path | None = None
    tls_key: Path | None = None
    ports: MailPorts = field(default_factory=MailPorts)


@dataclass(frozen=True)
class PostfixLayout:
    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / "conf"

    @property
    def queue_dir(self) -> Path:
        return self.root / "queue"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postfix.log"

    def table(self, name: str) -> Path:
        return self.config_dir / f"{name}.cf"


def _pg_lines(database_url: str) -> str:
    target = pg_target(database_url)
    for name in ("user", "password", "database"):
        value = getattr(target, name)
        if value != value.strip():
            # Postfix trims the values of its configuration files.
            raise ValueError(f"the database URL's {name} has surrounding whitespace, which Postfix cannot read")
    return (f"hosts = {postfix_hosts(target)}\nuser = {target.user}\npassword = {target.password}\n"
            f"dbname = {target.database}\n")


def table_driver(database_url: str) -> str:
    return "sqlite" if backend_of(database_url) == "sqlite" else "pgsql"


def render_table(database_url: str, query: str) -> str:
    if backend_of(database_url) == "sqlite":
        connect = f"dbpath = {sqlite_path(database_url)}\n"
    else:
        connect = _pg_lines(database_url)
    return f"# Generated by `mailyard mailserver config`.\n{connect}query = {query}\n"


def _listen(options: PostfixOptions, port: int) -> str:
    return f"{options.listen}:{port}" if options.listen not in {"*", "0.0.0.0"} else str(port)


def render_master_cf(options: PostfixOptions) -> str:
    ports = options.ports
    lines = [f"{_listen(options, ports.smtp)} inet n - n - - smtpd"] if ports.smtp > 0 else []
    if ports.submission > 0:
        tls_only = "encrypt" if options.tls_cert else "none"
        lines.append(
            f"{_listen(options, ports.submission)} inet n - n - - smtpd\n"
            "  -o syslog_name=postfix/submission\n"
            f"  -o smtpd_tls_security_level={tls_only}\n"
            "  -o smtpd_sasl_auth_enable=yes\n"
            "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
            "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
            "  -o smtpd_recipient_restrictions=$mailyard_recipient_checks\n"
            "  -o smtpd_milters=$mailyard_submission_milters\n"
            "  -o smtpd_end_of_data_restrictions=$mailyard_submission_policy"
        )
    if ports.internal > 0:
        # Dovecot's own outgoing mail (Sieve vacation replies, redirects): loopback only, never listed on
        # `listen`. The milter signs it, knowing the listener by its daemon name. With Mailyard down it goes
        # out unsigned (accept) rather than wait: forwarding must not stall inbound delivery.
        lines.append(
            f"127.0.0.1:{ports.internal} inet n - n - - smtpd\n"
            "  -o syslog_name=postfix/internal\n"
            "  -o milter_default_action=accept\n"
            "  -o smtpd_sasl_auth_enable=no\n"
            "  -o smtpd_client_restrictions=permit_mynetworks,reject\n"
            "  -o smtpd_relay_restrictions=permit_mynetworks,reject\n"
            "  -o smtpd_recipient_restrictions=$mailyard_recipient_checks\n"
            "  -o smtpd_milters=$mailyard_submission_milters\n"
            f"  -o milter_macro_daemon_name={INTERNAL_DAEMON}"
        )
    return "# Generated by `mailyard mailserver config`.\n" + "\n".join(lines) + "\n" + POSTFIX_SERVICES


def render_main_cf(layout: PostfixLayout, options: PostfixOptions, driver: str) -> str:
    def table(name: str) -> str:
        # Through proxymap, which runs as root: smtpd and cleanup run as the postfix user, and SQLite in
        # WAL mode needs write access to the store's -shm file even to read.
        return f"proxy:{driver}:{layout.table(name)}"

    settings: dict[str, str] = {
        "compatibility_level": "3.6",
        "queue_directory": str(layout.queue_dir),
        "data_directory": str(layout.data_dir),
        # postlogd writes here: a managed instance has no syslog to rely on.
        "maillog_file": str(layout.log),
        "maillog_file_prefixes": str(layout.root),
        "inet_interfaces": "all" if options.listen in {"*", "0.0.0.0"} else options.listen,
        "inet_protocols": "ipv4",
        "myhostname": options.hostname,
        "myorigin": "$myhostname",
        "mydestination": "",
        # Local processes (Dovecot, Mailyard's own notices) may relay; everyone else must authenticate.
        "mynetworks": "127.0.0.0/8",
        "alias_maps": "",
        "alias_database": "",
        "local_recipient_maps": "",
        "biff": "no",
        "append_dot_mydomain": "no",
        "smtpd_banner": "$myhostname ESMTP",
        "smtpd_peername_lookup": "no",
        "virtual_mailbox_domains": table("domains"),
        "virtual_mailbox_maps": table("mailboxes"),
        "virtual_alias_maps": table("aliases"),
        "virtual_transport": f"lmtp:inet:127.0.0.1:{options.lmtp_port}",
        "recipient_bcc_maps": table("hooks"),
        "transport_maps": f"inline:{{ {HOOK_DOMAIN}=lmtp:inet:127.0.0.1:{options.hook_port} }}",
        "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
        # bounce_mail: refused at RCPT time with the mailbox's bounce_msg; the hooks domain is Postfix's own
        # (recipient_bcc_maps adds the copies after smtpd), so no client may address it. Every smtpd service
        # applies these; mail that reaches a bounce_mail mailbox through an alias meets its Sieve `reject`.
        "mailyard_recipient_checks": f"check_recipient_access {table('bounces')}, "
                                     f"check_recipient_access inline:{{ {{ {HOOK_DOMAIN} = {HOOK_REFUSAL} }} }}",
        "smtpd_recipient_restrictions": "$mailyard_recipient_checks",
        "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": str(options.sasl_socket),
        "smtpd_sasl_security_options": "noanonymous",
        "proxy_read_maps": " ".join(f"proxy:{driver}:{layout.table(name)}" for name in QUERIES),
        # 8bit-to-quoted-printable conversion after signing would break DKIM signatures.
        "disable_mime_output_conversion": "yes",
        "milter_protocol": "6",
        # If the milter cannot be reached, submissions wait (4xx) rather than leave unsigned or unchecked.
        "milter_default_action": "tempfail",
        "mailyard_submission_milters": f"inet:127.0.0.1:{options.milter_port}",
        "mailyard_submission_policy": f"check_policy_service inet:127.0.0.1:{options.policy_port}",
    }
    if options.outbound_relay:
        host, _, port = options.outbound_relay.rpartition(":")
        settings["relayhost"] = f"[{host}]:{port}"
    if options.tls_cert and options.tls_key:
        settings.update({
            "smtpd_tls_cert_file": str(options.tls_cert), "smtpd_tls_key_file": str(options.tls_key),
            "smtpd_tls_security_level": "may", "smtp_tls_security_level": "may",
        })
    body = "\n".join(f"{key} = {value}" for key, value in settings.items())
    return f"# Generated by `mailyard mailserver config`; start with: postfix -c {layout.config_dir} start\n{body}\n"
