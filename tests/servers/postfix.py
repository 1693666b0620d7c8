"""A private Postfix 3.7 instance for tests: smtpd on a free loopback port, hosted domains delivered to
Dovecot over LMTP, everything else relayed to a configurable host (the SMTP sink by default).

How the extra instance runs without touching the system: the ``master`` daemon is executed directly,
in the foreground, as ``master -c <dir>/conf -d``, after Python has created the queue and data
directories with the owners Postfix expects. Nothing is written outside the instance directory: no
/etc/postfix/main.cf and no ``alternate_config_directories`` entry. Postfix only demands that entry
when ``-c``/``MAIL_CONFIG`` names a non-default directory *and* the effective uid is not 0
(mail_conf_suck() in src/global/mail_conf.c); these fixtures run as root, as Dovecot needs anyway.
The wrappers are avoided on purpose: ``postfix set-permissions`` re-applies owners and modes to every
file listed in /etc/postfix/postfix-files (binaries, man pages, /etc/postfix), and ``postfix start``
runs post-install, postsuper and file checks that cost seconds. ``master`` and its children read only
the instance's main.cf/master.cf plus the read-only /etc/postfix/dynamicmaps.cf, and ``postqueue -c``
talks to the instance through its own queue directory.

On SIGTERM the master signals its whole process group and exits; ``stop()`` then waits until no
process of the group is left (killing stragglers) and reaps them (see process.py).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from mailyard.mailserver.render import age_config_files, prepare_postfix_dirs

from .ports import LOOPBACK, free_port
from .postfix_config import PostfixLayout, render_main_cf, render_master_cf, render_recipient_map
from .process import (
    GroupProcess,
    ManagedServer,
    ServerStartError,
    check_socket_dir,
    require_file,
    run,
    start_with_port_retries,
    tail,
)
from .tls import ThrowawayCA

MASTER_BINARY = "/usr/lib/postfix/sbin/master"
POSTQUEUE_BINARY = "/usr/sbin/postqueue"
POSTCONF_BINARY = "/usr/sbin/postconf"
SQLITE_MAP_MODULE = "/usr/lib/postfix/postfix-sqlite.so"

# Where queued messages wait; "defer" and "bounce" only hold delivery logs.
_MESSAGE_QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")


def require_postfix() -> None:
    """Fail the test with an installation hint when Postfix or its SQLite map module is absent."""
    require_file(MASTER_BINARY, "postfix", "the Postfix master daemon")
    require_file(POSTQUEUE_BINARY, "postfix", "postqueue")
    require_file(SQLITE_MAP_MODULE, "postfix-sqlite", "Postfix's sqlite map type")


class PostfixServer(ManagedServer):
    """One Postfix instance; use ``start()``/``stop()`` or a ``with`` block."""

    host = LOOPBACK

    def __init__(
        self,
        directory: Path,
        *,
        lmtp_port: int,
        relay_host: str = LOOPBACK,
        relay_port: int = 25,
        virtual_mailbox_domains: tuple[str, ...] = ("example.test",),
        recipient_database: Path | None = None,
        tls: ThrowawayCA | None = None,
        hostname: str = "mx.example.test",
        settings: Mapping[str, str] | None = None,
    ) -> None:
        """``recipient_database`` is Dovecot's user table: when given, smtpd rejects unknown users of the
        hosted domains with 550 at RCPT time, like a production MX; otherwise it accepts any local part.
        ``settings`` overrides or adds main.cf parameters."""
        self.layout = PostfixLayout(directory)
        # Sockets live at queue/private/<service> and queue/public/<service>.
        check_socket_dir(self.layout.queue_dir, len("private/proxywrite"))
        self.lmtp_port = lmtp_port
        self.relay_host = relay_host
        self.relay_port = relay_port
        self.virtual_mailbox_domains = virtual_mailbox_domains
        self.recipient_database = recipient_database
        self.tls = tls
        self.hostname = hostname
        self.settings = dict(settings or {})
        self.port = free_port()
        self._process: GroupProcess | None = None

    @property
    def log_path(self) -> Path:
        return self.layout.log

    @property
    def config_dir(self) -> Path:
        return self.layout.config_dir

    # -- lifecycle -------------------------------------------------------------------------------

    def _prepare(self) -> None:
        layout = self.layout
        prepare_postfix_dirs(layout)
        (layout.config_dir / "master.cf").write_text(render_master_cf(self.port))
        if self.recipient_database is not None:
            layout.recipient_map.write_text(render_recipient_map(self.recipient_database))
        (layout.config_dir / "main.cf").write_text(
            render_main_cf(
                layout,
                hostname=self.hostname,
                virtual_domains=self.virtual_mailbox_domains,
                lmtp_port=self.lmtp_port,
                relay_host=self.relay_host,
                relay_port=self.relay_port,
                recipient_database=self.recipient_database,
                cert_path=self.tls.cert_path if self.tls else None,
                key_path=self.tls.key_path if self.tls else None,
                overrides=self.settings,
            )
        )
        age_config_files(layout)

    @property
    def _stdout_path(self) -> Path:
        return self.layout.root / "master.stdout"

    def start(self, timeout: float = 15.0) -> None:
        require_postfix()
        start_with_port_retries(lambda: self._start_once(timeout), self._repick_port, lambda: [self.port])

    def _repick_port(self) -> None:
        self.port = free_port()

    def _start_once(self, timeout: float) -> None:
        self._prepare()
        # -d leaves stdio on our file instead of /dev/null, for the rare message not sent to postlogd.
        self._process = GroupProcess(
            [MASTER_BINARY, "-c", str(self.layout.config_dir), "-d"], self._stdout_path, env=self._env()
        )
        self._process.start()
        try:
            self._process.wait_for_ports([self.port], timeout)
        except ServerStartError as exc:
            self.stop()
            # The master dies silently on fatal start-up errors (postlogd is not up yet, there is no
            # syslog), so let postconf, which prints to stderr, judge the configuration instead.
            check = subprocess.run(
                [POSTCONF_BINARY, "-c", str(self.layout.config_dir), "-n"],
                capture_output=True,
                text=True,
                env=self._env(),
                check=False,
            )
            raise ServerStartError(
                f"Postfix (config {self.layout.config_dir}) did not start: {exc}\n"
                f"--- postconf -n diagnostics ---\n{check.stderr or '(none)'}\n"
                f"--- {self.layout.log} ---\n{tail(self.layout.log)}"
            ) from exc

    def _env(self) -> dict[str, str]:
        # Postfix tools locate the instance through MAIL_CONFIG; a minimal environment avoids
        # inheriting anything (TZ, locale) that would make logs differ between machines.
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "MAIL_CONFIG": str(self.layout.config_dir)}


    # -- queue -----------------------------------------------------------------------------------

    def _postqueue(self, *args: str) -> str:
        return run([POSTQUEUE_BINARY, "-c", str(self.layout.config_dir), *args], env=self._env())

    def flush(self) -> None:
        """Ask the queue manager to retry every deferred message now, ignoring back-off times."""
        self._postqueue("-f")

    def queue_listing(self) -> str:
        """``postqueue -p`` output: queue ids, senders, recipients and deferral reasons."""
        return self._postqueue("-p")

    def queued_ids(self) -> list[str]:
        """Ids of messages still queued (not yet delivered, bounced or expired)."""
        ids: list[str] = []
        for name in _MESSAGE_QUEUES:
            ids.extend(path.name for path in (self.layout.queue_dir / name).rglob("*") if path.is_file())
        return ids

    def wait_until_queue_empty(self, timeout: float = 10.0) -> None:
        """Block until every accepted message has left the queue (delivered, relayed or bounced)."""
        deadline = time.monotonic() + timeout
        while self.queued_ids():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Postfix queue not empty after {timeout}s:\n{self.queue_listing()}\n"
                    f"--- {self.layout.log} ---\n{tail(self.layout.log)}"
                )
            time.sleep(0.05)
