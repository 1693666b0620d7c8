"""Render the configuration files of a private Dovecot instance (main config and SQL user lookups).

The main file is written from scratch rather than including /etc/dovecot so that nothing on the host
(system listeners on 143/993, system passdbs, /var/lib/dovecot state) leaks into the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailyard.mailserver.dovecot_config import MAILBOX_NAMESPACE, sql_users
from mailyard.mailserver.dovecot_config import DovecotLayout as HostedDovecotLayout

# The Debian "mail" account owns every mailbox; Dovecot refuses uids below first_valid_uid (500).
MAIL_UID = 8
MAIL_GID = 8


@dataclass(frozen=True)
class DovecotPorts:
    """Loopback TCP ports of one Dovecot instance."""

    imap: int
    imaps: int
    pop3: int
    pop3s: int
    lmtp: int
    submission: int
    managesieve: int


@dataclass(frozen=True)
class DovecotLayout(HostedDovecotLayout):
    """Where a test Dovecot instance keeps its files, all below one directory: Mailyard's own layout,
    plus the fixture's user database and mail root."""

    @property
    def database(self) -> Path:
        return self.root / "users.sqlite"

    @property
    def mail_root(self) -> Path:
        return self.root / "mail"


@dataclass(frozen=True)
class RelaySettings:
    """Where the submission service forwards authenticated mail."""

    host: str
    port: int
    user: str | None = None
    password: str | None = None


# Dovecot SQL-escapes %u itself before substituting it, so quoting it here is safe.
_QUERIES = """\
password_query = SELECT username AS user, password FROM users WHERE username = '%u' AND active = 1
user_query = SELECT home, quota_rule FROM users WHERE username = '%u' AND active = 1
iterate_query = SELECT username AS user FROM users WHERE active = 1
"""


def render_sql_config(layout: DovecotLayout) -> str:
    """The passdb/userdb SQL file."""
    return f"driver = sqlite\nconnect = {layout.database}\ndefault_pass_scheme = PLAIN\n{_QUERIES}"


def _relay_lines(relay: RelaySettings) -> str:
    lines = [
        f"submission_relay_host = {relay.host}",
        f"submission_relay_port = {relay.port}",
        "submission_relay_ssl = no",
        # Untrusted: Dovecot must not expect XCLIENT from a plain test sink.
        "submission_relay_trusted = no",
    ]
    if relay.user is not None:
        lines.append(f"submission_relay_user = {relay.user}")
        lines.append(f"submission_relay_password = {relay.password or ''}")
    return "\n".join(lines)


def render_config(
    layout: DovecotLayout,
    ports: DovecotPorts,
    *,
    instance_name: str,
    cert_path: Path,
    key_path: Path,
    relay: RelaySettings,
    hostname: str,
    postmaster: str,
    imap_capability: str | None = None,
    extra: str = "",
) -> str:
    """The complete dovecot.conf of a loopback-only instance; `imap_capability` replaces the list of IMAP
    extensions announced after login (to test clients against a server without CONDSTORE, NOTIFY …)."""
    capability = f"\n  imap_capability = {imap_capability}" if imap_capability else ""
    return f"""\
# Generated for one pytest session; see tests/servers/dovecot.py.
instance_name = {instance_name}
base_dir = {layout.base_dir}
state_dir = {layout.state_dir}
log_path = {layout.log}
info_log_path = {layout.log}
debug_log_path = {layout.log}
auth_verbose = yes
listen = 127.0.0.1
protocols = imap pop3 lmtp submission sieve
hostname = {hostname}
postmaster_address = {postmaster}
shutdown_clients = yes

ssl = yes
ssl_cert = <{cert_path}
ssl_key = <{key_path}
ssl_min_protocol = TLSv1.2
# Plain-port logins are part of what the app must handle, so they are allowed without STARTTLS.
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 xoauth2 oauthbearer
# No caching: set_password() and remove_user() must take effect on the very next login.
auth_cache_size = 0
# Failures are still answered ~0.5 s late: the auth process flushes them on a 500 ms timer.
auth_failure_delay = 0

{sql_users(layout.sql_config, MAIL_UID, MAIL_GID)}mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins quota

{MAILBOX_NAMESPACE}
plugin {{
  quota = count:User quota
  # The count backend only works with virtual sizes.
  quota_vsizes = yes
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}

protocol imap {{
  mail_plugins = $mail_plugins imap_quota{capability}
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
# Refuse over-quota recipients at RCPT so Postfix and deliver() see a permanent 552 at once.
lmtp_rcpt_check_quota = yes

{_relay_lines(relay)}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {ports.imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ports.imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {ports.pop3}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {ports.pop3s}
    ssl = yes
  }}
}}
service submission-login {{
  inet_listener submission {{
    address = 127.0.0.1
    port = {ports.submission}
  }}
}}
service managesieve-login {{
  inet_listener sieve {{
    address = 127.0.0.1
    port = {ports.managesieve}
  }}
}}
# Without its socket the auth process silently disables the per-IP "auth penalty", which would
# otherwise delay the next login from 127.0.0.1 by 2-15 s after any failed one (that is, the next test).
# Dovecot does not create a unix listener whose mode is 0.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {ports.lmtp}
  }}
}}
{extra}"""
