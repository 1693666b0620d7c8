"""Dovecot and Postfix as child processes of `mailyard serve --mailserver`: started, stopped with it.

Each master runs in the foreground (`dovecot -F`, Postfix's `master -d`) as the leader of its own
process group, so stopping Mailyard stops every mail-server process with it. The same rendered files
serve under an operator's own supervisor instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mailyard.config import Settings
from mailyard.mailserver.dovecot_config import LMTP_LISTEN
from mailyard.mailserver.ports import MailPorts
from mailyard.mailserver.render import MailServerLayout, render_mail_servers

log = logging.getLogger(__name__)
DOVECOT_BINARY = "/usr/sbin/dovecot"
POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"
_INSTALL_HINT = ("apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-sieve dovecot-managesieved "
                 "dovecot-sqlite dovecot-pgsql postfix postfix-sqlite postfix-pgsql")


class MailServerError(RuntimeError):
    pass


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class ChildServer:
    """One mail-server master process in its own process group."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str] | None, log_dir: Path,
                 logs: Sequence[Path]) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_dir = log_dir
        self.logs = list(logs)
        self._process: asyncio.subprocess.Process | None = None

    def _open_stdout(self) -> Any:
        if not os.path.exists(self.argv[0]):
            raise MailServerError(f"{self.name} is not installed ({_INSTALL_HINT})")
        return open(self.log_dir / f"{self.name}.stdout", "ab")

    async def start(self, endpoints: Sequence[tuple[str, int]], wait: float = 20.0) -> None:
        """Start the master and wait until every (host, port) of `endpoints` accepts connections."""
        stdout = self._open_stdout()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv, stdout=stdout, stderr=stdout, start_new_session=True, env=self.env)
        finally:
            stdout.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while loop.time() < deadline and self._process.returncode is None:
            if all(_port_open(host, port) for host, port in endpoints):
                return
            await asyncio.sleep(0.1)
        await self.stop()
        details = "\n".join(f"--- {path} ---\n{_tail(path)}" for path in
                            [*self.logs, self.log_dir / f"{self.name}.stdout"])
        raise MailServerError(f"{self.name} did not start:\n{details}")

    async def stop(self, grace: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        # Only the master is asked to stop: it ends its own children in order. Signalling the whole group at
        # once races that (Dovecot's master then waits seconds on an auth worker it has lost track of).
        try:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(grace):
                await process.wait()
        except TimeoutError:
            pass
        except ProcessLookupError:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)  # whatever outlived the master, or the master itself
        except ProcessLookupError:
            pass
        await process.wait()


class ManagedMailServer:
    """Dovecot, then Postfix (which authenticates through Dovecot and delivers to it)."""

    def __init__(self, layout: MailServerLayout, listen: str, ports: MailPorts, stop_grace: float = 5.0) -> None:
        self.layout = layout
        # Seconds each master has to stop cleanly before its process group is killed. Dovecot's master
        # takes about a second to let its children go.
        self.stop_grace = stop_grace
        self.host = "127.0.0.1" if listen in {"*", "0.0.0.0"} else ("::1" if listen == "::" else listen)
        self.ports = ports
        dovecot, postfix = layout.dovecot, layout.postfix
        self.dovecot = ChildServer("dovecot", [DOVECOT_BINARY, "-F", "-c", str(dovecot.config)], None,
                                   dovecot.root, [dovecot.log])
        # MAIL_CONFIG lets Postfix's helper programs find this instance; a small environment keeps it clean.
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "MAIL_CONFIG": str(postfix.config_dir)}
        self.postfix = ChildServer("postfix", [POSTFIX_MASTER, "-c", str(postfix.config_dir), "-d"], env,
                                   postfix.root, [postfix.log])

    @property
    def dovecot_config(self) -> Path:
        return self.layout.dovecot.config

    async def start(self) -> None:
        ports = self.ports
        await self.dovecot.start([(self.host, p) for p in (ports.imap, ports.pop3) if p]
                                 + ([(LMTP_LISTEN, ports.lmtp)] if ports.lmtp else []))
        try:
            await self.postfix.start([(self.host, p) for p in (ports.smtp, ports.submission) if p])
        except BaseException:
            await self.dovecot.stop()
            raise
        log.info("serving hosted mail (Dovecot %s, Postfix %s)", self.layout.dovecot.config,
                 self.layout.postfix.config_dir)

    async def stop(self) -> None:
        await self.postfix.stop(self.stop_grace)
        await self.dovecot.stop(self.stop_grace)


def managed_mail_server(settings: Settings, directory: Path, ports: MailPorts,
                        instance_name: str = "mailyard", stop_grace: float = 5.0) -> ManagedMailServer:
    """Render the configuration for this store into `directory`; the servers start with the app."""
    return ManagedMailServer(render_mail_servers(settings, directory, ports, instance_name), settings.mail_listen,
                             ports, stop_grace)
