"""A private Dovecot 2.3 instance on loopback ports for tests: IMAP, POP3, LMTP, submission, ManageSieve.

Everything lives below one directory (config, base_dir, state_dir, log, SQLite users, maildirs), so the
system's /etc/dovecot and /var/lib/dovecot are never read or written. The master runs in the foreground
(``dovecot -F``) as the leader of its own process group, which ``stop()`` terminates as a whole.

Users live in a SQLite table read by Dovecot's ``sql`` passdb and userdb. Passwords are stored as
``{PLAIN}...`` so PLAIN, LOGIN and CRAM-MD5 all work.

XOAUTH2 and OAUTHBEARER: in Dovecot 2.3 these mechanisms only parse the SASL message and then verify the
bearer token against the passdbs exactly like a plain password (``auth_request_verify_plain``); a real
deployment adds an ``oauth2`` passdb that introspects the token, but with only the SQL passdb the token
must equal the stored password. So, to test an XOAUTH2 client, create a user whose password *is* the
access token (``add_user(name, token)`` or ``set_password(name, token)``) and authenticate with
``user=<name>^Aauth=Bearer <token>^A^A``. A wrong token fails like a wrong password.
"""

from __future__ import annotations

import os
import secrets
import shutil
import smtplib
from dataclasses import astuple
from pathlib import Path

from .dovecot_config import (
    MAIL_GID,
    MAIL_UID,
    DovecotLayout,
    DovecotPorts,
    RelaySettings,
    render_config,
    render_sql_config,
)
from .dovecot_users import UserStore
from .ports import LOOPBACK, free_ports
from .process import (
    GroupProcess,
    ManagedServer,
    ServerStartError,
    check_socket_dir,
    require_file,
    start_with_port_retries,
    tail,
)
from .tls import ThrowawayCA

DOVECOT_BINARY = "/usr/sbin/dovecot"
# What each Debian package contributes; a missing one would otherwise surface as an obscure config error.
_REQUIRED_FILES: tuple[tuple[str, str, str], ...] = (
    (DOVECOT_BINARY, "dovecot-core", "the Dovecot master"),
    ("/usr/lib/dovecot/imap", "dovecot-imapd", "the Dovecot IMAP server"),
    ("/usr/lib/dovecot/pop3", "dovecot-pop3d", "the Dovecot POP3 server"),
    ("/usr/lib/dovecot/lmtp", "dovecot-lmtpd", "the Dovecot LMTP server"),
    ("/usr/lib/dovecot/submission", "dovecot-submissiond", "the Dovecot submission server"),
    ("/usr/lib/dovecot/managesieve", "dovecot-managesieved", "the Dovecot ManageSieve server"),
    ("/usr/lib/dovecot/modules/lib90_sieve_plugin.so", "dovecot-sieve", "the Pigeonhole Sieve plugin"),
    ("/usr/lib/dovecot/modules/auth/libdriver_sqlite.so", "dovecot-sqlite", "Dovecot's SQLite driver"),
)


def require_dovecot() -> None:
    """Fail the test with an installation hint when any needed Dovecot package is absent."""
    for path, package, what in _REQUIRED_FILES:
        require_file(path, package, what)


class DovecotServer(ManagedServer):
    """One Dovecot instance; use ``start()``/``stop()`` or a ``with`` block."""

    host = LOOPBACK
    # A clean shutdown takes ~1.1 s (the master sleeps so its log process can drain); stopped right after
    # start it may wait 6 s for anvil, so after 2 s the throwaway instance is killed.
    stop_grace = 2.0

    def __init__(
        self,
        directory: Path,
        tls: ThrowawayCA,
        *,
        relay_host: str = LOOPBACK,
        relay_port: int = 25,
        relay_user: str | None = None,
        relay_password: str | None = None,
        hostname: str = "mail.example.test",
        postmaster: str = "postmaster@example.test",
        imap_capability: str | None = None,
        extra_config: str = "",
    ) -> None:
        self.layout = DovecotLayout(directory)
        check_socket_dir(self.layout.base_dir, len("login/imap-urlauth-login") + 8)
        self.tls = tls
        self.relay = RelaySettings(relay_host, relay_port, relay_user, relay_password)
        self.hostname = hostname
        self.postmaster = postmaster
        self.imap_capability = imap_capability
        self.extra_config = extra_config  # appended to dovecot.conf (benchmarks tune services with it)
        self.ports = DovecotPorts(*free_ports(7))
        self.instance_name = f"mailyard-test-{secrets.token_hex(4)}"
        self.users = UserStore(self.layout.database)
        self._process: GroupProcess | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def log_path(self) -> Path:
        return self.layout.log

    @property
    def mail_root(self) -> Path:
        return self.layout.mail_root

    def _prepare(self) -> None:
        layout = self.layout
        for path in (layout.root, layout.base_dir, layout.state_dir, layout.mail_root):
            path.mkdir(parents=True, exist_ok=True)
        # mkdtemp-style 0700 directories would stop the mail user from reaching its maildirs.
        layout.root.chmod(0o755)
        os.chown(layout.mail_root, MAIL_UID, MAIL_GID)
        layout.mail_root.chmod(0o755)
        layout.sql_config.write_text(render_sql_config(layout))
        layout.config.write_text(
            render_config(
                layout,
                self.ports,
                instance_name=self.instance_name,
                cert_path=self.tls.cert_path,
                key_path=self.tls.key_path,
                relay=self.relay,
                hostname=self.hostname,
                postmaster=self.postmaster,
                imap_capability=self.imap_capability,
                extra=self.extra_config,
            )
        )
        self.users.create()

    @property
    def _stdout_path(self) -> Path:
        return self.layout.root / "dovecot.stdout"

    def start(self, timeout: float = 15.0) -> None:
        require_dovecot()
        start_with_port_retries(lambda: self._start_once(timeout), self._repick_ports, lambda: astuple(self.ports))

    def _repick_ports(self) -> None:
        self.ports = DovecotPorts(*free_ports(7))

    def _start_once(self, timeout: float) -> None:
        self._prepare()
        self._process = GroupProcess([DOVECOT_BINARY, "-F", "-c", str(self.layout.config)], self._stdout_path)
        self._process.start()
        try:
            self._process.wait_for_ports(astuple(self.ports), timeout)
        except ServerStartError as exc:
            self.stop()
            raise ServerStartError(
                f"Dovecot did not start: {exc}\n--- {self.layout.log} ---\n{tail(self.layout.log)}\n"
                f"--- {self._stdout_path} ---\n{tail(self._stdout_path)}"
            ) from exc


    # -- users -----------------------------------------------------------------------------------

    def home(self, username: str) -> Path:
        """The user's home: ``<dir>/mail/<domain>/<local part>``, holding ``Maildir`` and ``sieve``."""
        local, _, domain = username.lower().partition("@")
        return self.layout.mail_root / domain / local

    def maildir(self, username: str) -> Path:
        return self.home(username) / "Maildir"

    def _make_owned_dir(self, path: Path) -> None:
        for part in reversed([path, *path.parents]):
            if part == self.layout.mail_root or self.layout.mail_root not in part.parents:
                continue
            part.mkdir(exist_ok=True)
            os.chown(part, MAIL_UID, MAIL_GID)

    def add_user(self, username: str, password: str, quota_bytes: int | None = None) -> None:
        """Create a mailbox user; ``quota_bytes`` limits the storage (count quota), ``None`` = unlimited."""
        username = username.lower()
        home = self.home(username)
        self._make_owned_dir(home)
        self.users.add(username, password, home, quota_bytes)

    def add_users(self, users: list[tuple[str, str]]) -> None:
        """Many users in one transaction (benchmarks create thousands)."""
        rows = []
        for username, password in users:
            username = username.lower()
            home = self.home(username)
            self._make_owned_dir(home)
            rows.append((username, password, home))
        self.users.add_many(rows)

    def set_password(self, username: str, password: str) -> None:
        self.users.set_password(username.lower(), password)

    def set_quota(self, username: str, quota_bytes: int | None) -> None:
        self.users.set_quota(username.lower(), quota_bytes)

    def remove_user(self, username: str, *, delete_mail: bool = True) -> None:
        """Forget the user (logins and deliveries fail from now on) and by default delete its mail."""
        username = username.lower()
        self.users.remove(username)
        if delete_mail:
            shutil.rmtree(self.home(username), ignore_errors=True)

    def install_sieve(self, username: str, script: str, name: str = "tests") -> None:
        """Make ``script`` the user's active Sieve script, as ManageSieve's SETACTIVE would."""
        home = self.home(username)
        script_dir = home / "sieve"
        self._make_owned_dir(script_dir)
        target = script_dir / f"{name}.sieve"
        target.write_text(script)
        os.chown(target, MAIL_UID, MAIL_GID)
        link = home / ".dovecot.sieve"
        link.unlink(missing_ok=True)
        link.symlink_to(target.relative_to(home))
        os.lchown(link, MAIL_UID, MAIL_GID)

    # -- delivery --------------------------------------------------------------------------------

    def deliver(self, recipient: str, raw_message: bytes, sender: str = "sender@example.test") -> None:
        """Deliver through LMTP; raises ``smtplib.SMTPRecipientsRefused`` or ``SMTPDataError`` on refusal."""
        with smtplib.LMTP(self.host, self.ports.lmtp, timeout=10) as lmtp:
            lmtp.sendmail(sender, [recipient], raw_message)
