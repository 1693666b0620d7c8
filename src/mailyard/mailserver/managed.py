"""Dovecot as a child process of `mailyard serve --mailserver`: rendered, started, watched, stopped.

The master runs in the foreground (`dovecot -F`) in its own process group, so stopping Mailyard stops
every Dovecot process with it. Mail keeps being served by the same files if an operator runs that
configuration under their own supervisor instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Any

from mailyard.config import Settings
from mailyard.mailserver.dovecot_config import (
    DovecotLayout,
    DovecotOptions,
    DovecotPorts,
    prepare_mail_root,
    write_dovecot_config,
)
from mailyard.mailserver.dovecot_sql import sql_connection

log = logging.getLogger(__name__)
DOVECOT_BINARY = "/usr/sbin/dovecot"


class MailServerError(RuntimeError):
    pass


def dovecot_options(settings: Settings, ports: DovecotPorts, instance_name: str = "mailyard") -> DovecotOptions:
    relay_host, _, relay_port = settings.mail_relay.rpartition(":")
    return DovecotOptions(
        hostname=settings.mail_hostname, mail_root=settings.effective_mail_root, listen=settings.mail_listen,
        mail_user=settings.mail_user, tls_cert=settings.mail_tls_cert, tls_key=settings.mail_tls_key,
        relay_host=relay_host or "127.0.0.1", relay_port=int(relay_port or 25), instance_name=instance_name,
        ports=ports,
    )


def render_for(settings: Settings, directory: Path, ports: DovecotPorts,
               instance_name: str = "mailyard") -> DovecotLayout:
    """Write the Dovecot configuration for this store into `directory` and prepare the mail root."""
    options = dovecot_options(settings, ports, instance_name)
    layout = write_dovecot_config(directory, sql_connection(settings.effective_database_url), options)
    prepare_mail_root(options.mail_root, options.mail_user)
    return layout


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class ManagedDovecot:
    def __init__(self, layout: DovecotLayout, listen: str, ports: DovecotPorts) -> None:
        self.layout = layout
        self.listen = "127.0.0.1" if listen in {"*", "0.0.0.0"} else ("::1" if listen == "::" else listen)
        self.ports = ports
        self._process: asyncio.subprocess.Process | None = None

    def _open_log(self) -> Any:
        if not os.path.exists(DOVECOT_BINARY):
            raise MailServerError("Dovecot is not installed (Debian: apt-get install dovecot-imapd dovecot-pop3d "
                                  "dovecot-lmtpd dovecot-submissiond dovecot-sieve dovecot-managesieved "
                                  "dovecot-sqlite dovecot-pgsql)")
        return open(self.layout.root / "dovecot.stdout", "ab")

    async def start(self, wait: float = 20.0) -> None:
        stdout = self._open_log()
        try:
            self._process = await asyncio.create_subprocess_exec(
                DOVECOT_BINARY, "-F", "-c", str(self.layout.config), stdout=stdout, stderr=stdout,
                start_new_session=True,
            )
        finally:
            stdout.close()
        wanted = [port for port in (self.ports.imap, self.ports.pop3, self.ports.lmtp) if port > 0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while loop.time() < deadline:
            if self._process.returncode is not None:
                break
            if all(_port_open(self.listen, port) for port in wanted):
                log.info("Dovecot serving hosted mailboxes (config %s)", self.layout.config)
                return
            await asyncio.sleep(0.1)
        await self.stop()
        raise MailServerError(f"Dovecot did not start; see {self.layout.log}:\n{_tail(self.layout.log)}\n"
                              f"{_tail(self.layout.root / 'dovecot.stdout')}")

    async def stop(self, grace: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            async with asyncio.timeout(grace):
                await process.wait()
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        except ProcessLookupError:
            pass


def managed_dovecot(settings: Settings, directory: Path, ports: DovecotPorts,
                    instance_name: str = "mailyard") -> ManagedDovecot:
    """Render the configuration for this store into `directory` and return the (not yet started) child."""
    layout = render_for(settings, directory, ports, instance_name)
    return ManagedDovecot(layout, settings.mail_listen, ports)
