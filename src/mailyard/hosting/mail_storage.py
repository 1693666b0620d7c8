"""Removing a deleted mailbox's mail from the mail root, so a later mailbox of the same address starts empty."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def mailbox_home(mail_root: Path, address: str) -> Path:
    """Where Dovecot keeps the mailbox (`mail_home = <root>/%Ld/%Ln`)."""
    local, _, domain = address.lower().rpartition("@")
    return mail_root / domain / local


def remove_homes(mail_root: Path, addresses: list[str]) -> None:
    root = mail_root.resolve()
    for address in addresses:
        home = mailbox_home(root, address).resolve()
        # Names are validated on creation; this guards the rmtree all the same.
        if root not in home.parents or not home.is_dir():
            continue
        try:
            shutil.rmtree(home)
        except OSError as exc:
            log.warning("could not remove the mail of a deleted mailbox: %s", type(exc).__name__)
