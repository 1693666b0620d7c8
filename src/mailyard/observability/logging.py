"""Logging set-up, with tokens removed from access-log lines (`?access_token=` is a valid way to send one)."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_QUERY = re.compile(r"(access_token=)[^&\s\"]+", re.IGNORECASE)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_QUERY.sub(r"\1[redacted]", record.msg)
        return True


def redact(text: str) -> str:
    return _TOKEN_IN_QUERY.sub(r"\1[redacted]", text)


def configure(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    redactor = RedactTokens()
    for name in ("uvicorn.access", "uvicorn.error", "mailyard"):
        logging.getLogger(name).addFilter(redactor)
