"""`mailyard mailserver config`: write the Dovecot and Postfix configurations for this store.

Layout of the output directory DIR, every runtime path under it:

- `dovecot.conf`, Dovecot's entry point (`dovecot -c DIR/dovecot.conf`), and `dovecot/` for the rest: its SQL
  files (0600), `run/` (sockets), `state/` and `dovecot.log`;
- `postfix/`: `conf/` (main.cf, master.cf, the SQL lookup tables, 0600; `postfix -c DIR/postfix/conf`),
  `queue/`, `data/` and `postfix.log`.
"""

from __future__ import annotations

import grp
import os
import pwd
import time
from dataclasses import dataclass
from pathlib import Path

from mailyard.config import Settings
from mailyard.mailserver.dovecot_config import DovecotLayout, DovecotOptions, prepare_mail_root, write_dovecot_config
from mailyard.mailserver.dovecot_sql import sql_connection
from mailyard.mailserver.ports import MailPorts
from mailyard.mailserver.postfix_config import (
    QUERIES,
    PostfixLayout,
    PostfixOptions,
    render_main_cf,
    render_master_cf,
    render_table,
    table_driver,
)

# Queue subdirectories and their owners, as Debian's /etc/postfix/postfix-files declares them.
_PRIVATE_QUEUES = ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private",
                   "saved", "trace")


@dataclass(frozen=True)
class MailServerLayout:
    dovecot: DovecotLayout
    postfix: PostfixLayout


def _owned_dir(path: Path, owner: str, group: str, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid)
    path.chmod(mode)


def prepare_postfix_dirs(layout: PostfixLayout) -> None:
    """The instance's directories with the owners and modes Postfix checks at start (no `postfix
    set-permissions`, which would also touch the system's own Postfix files)."""
    _owned_dir(layout.root, "root", "root", 0o755)
    _owned_dir(layout.config_dir, "root", "root", 0o755)
    _owned_dir(layout.queue_dir, "root", "root", 0o755)
    for name in _PRIVATE_QUEUES:
        _owned_dir(layout.queue_dir / name, "postfix", "root", 0o700)
    _owned_dir(layout.queue_dir / "maildrop", "postfix", "postdrop", 0o730)
    _owned_dir(layout.queue_dir / "public", "postfix", "postdrop", 0o710)
    _owned_dir(layout.queue_dir / "pid", "root", "root", 0o755)
    _owned_dir(layout.data_dir, "postfix", "root", 0o700)


def age_config_files(layout: PostfixLayout) -> None:
    """Postfix distrusts a table modified within the last second (it may be half written) and polls it
    until it is older, which would slow every start by ~1.5 s."""
    past = time.time() - 60
    for path in layout.config_dir.iterdir():
        os.utime(path, (past, past))


def postfix_tables(database_url: str) -> dict[str, str]:
    """The lookup tables' files by name; raises ValueError for a store Postfix cannot be pointed at."""
    return {name: render_table(database_url, query) for name, query in QUERIES.items()}


def write_postfix_config(directory: Path, database_url: str, options: PostfixOptions) -> PostfixLayout:
    """main.cf, master.cf and the lookup tables, plus the queue tree with the owners Postfix demands."""
    tables = postfix_tables(database_url)
    layout = PostfixLayout(directory.resolve())
    prepare_postfix_dirs(layout)
    for name, text in tables.items():
        path = layout.table(name)
        path.write_text(text)
        path.chmod(0o600)  # may hold the database password; proxymap reads it as root
    (layout.config_dir / "master.cf").write_text(render_master_cf(options))
    (layout.config_dir / "main.cf").write_text(render_main_cf(layout, options, table_driver(database_url)))
    age_config_files(layout)
    return layout


def render_mail_servers(settings: Settings, directory: Path, ports: MailPorts,
                        instance_name: str = "mailyard") -> MailServerLayout:
    directory = directory.resolve()
    connection = sql_connection(settings.effective_database_url)
    postfix_tables(settings.effective_database_url)  # refuses a store URL Postfix cannot use before writing
    directory.mkdir(parents=True, exist_ok=True)
    # Where earlier versions wrote the entry point: a stale copy there would be started by mistake.
    (directory / "dovecot" / "dovecot.conf").unlink(missing_ok=True)
    dovecot = write_dovecot_config(directory / "dovecot", connection, DovecotOptions(
        hostname=settings.mail_hostname, mail_root=settings.effective_mail_root, listen=settings.mail_listen,
        mail_user=settings.mail_user, tls_cert=settings.mail_tls_cert, tls_key=settings.mail_tls_key,
        instance_name=instance_name, ports=ports, auth_failure_delay=settings.mail_auth_failure_delay,
    ), entry=directory / "dovecot.conf")
    prepare_mail_root(settings.effective_mail_root, settings.mail_user)
    postfix = write_postfix_config(directory / "postfix", settings.effective_database_url, PostfixOptions(
        hostname=settings.mail_hostname, listen=settings.mail_listen, lmtp_port=ports.lmtp,
        sasl_socket=dovecot.base_dir / "auth-postfix", milter_port=settings.milter_port,
        policy_port=settings.policy_port, hook_port=settings.hook_port,
        outbound_relay=settings.mail_outbound_relay, tls_cert=settings.mail_tls_cert, tls_key=settings.mail_tls_key,
        ports=ports,
    ))
    return MailServerLayout(dovecot, postfix)
