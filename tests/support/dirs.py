"""Temporary directories the mail servers can use: short paths (Dovecot's socket names must fit in a
sockaddr_un) that the mail user may traverse (pytest's own tmp dirs are 0700)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def server_dir(prefix: str) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
