"""Ending the open IMAP/POP3 sessions of mailboxes whose access was taken away (`doveadm kick`).

Dovecot checks the login rules only at login; a session opened before a mailbox was disabled, its
password reset or its password expired would otherwise live on. Mailyard can only reach the Dovecot
whose configuration it knows: the one it manages, or the one `MAILYARD_MAIL_DOVECOT_CONFIG` names.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
DOVEADM = "/usr/bin/doveadm"


class SessionKicker:
    def __init__(self, config: Callable[[], Path | None]) -> None:
        self.config = config

    async def kick(self, addresses: list[str]) -> None:
        config = self.config()
        if config is None or not addresses:
            return
        for address in addresses:
            try:
                process = await asyncio.create_subprocess_exec(
                    DOVEADM, "-c", str(config), "kick", address,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                )
                async with asyncio.timeout(10):
                    _, stderr = await process.communicate()
            except (OSError, TimeoutError) as exc:
                log.warning("could not end the sessions of a mailbox: %s", type(exc).__name__)
                continue
            # Exit code 68 (EX_NOUSER) means nobody was logged in: nothing to end.
            if process.returncode not in (0, 68):
                log.warning("doveadm kick failed (exit %s): %s", process.returncode,
                            stderr.decode(errors="replace")[:200])
