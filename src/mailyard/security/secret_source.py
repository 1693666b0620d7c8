"""Where the secret comes from: MAILYARD_SECRET, else a generated file in the data directory."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from mailyard.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SecretSource:
    value: str
    origin: str  # "env" or "file"
    path: Path | None = None
    generated: bool = False


def _write_private(path: Path, value: str, *, exclusive: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")


def load_secret(settings: Settings) -> SecretSource:
    if settings.secret is not None:
        return SecretSource(settings.secret.get_secret_value(), "env")
    path = settings.secret_file
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("secret file %s is readable by others (mode %o); chmod 600 it", path, mode)
        value = path.read_text().strip()
        if not value:
            raise RuntimeError(f"secret file {path} is empty")
        return SecretSource(value, "file", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    _write_private(path, value, exclusive=True)
    return SecretSource(value, "file", path, generated=True)


def replace_secret_file(path: Path, value: str) -> Path:
    """Write the new secret beside the old one; the caller renames it into place once the store agrees."""
    pending = path.with_name(path.name + ".new")
    _write_private(pending, value, exclusive=False)
    return pending
