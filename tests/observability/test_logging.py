"""Tokens passed as ?access_token= never reach a log line."""

import logging

from mailyard.observability.logging import RedactTokens


def test_access_token_in_query_is_redacted() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", "/metrics?access_token=abc123&x=1", "1.1", 200), None)
    RedactTokens().filter(record)
    line = record.getMessage()
    assert "abc123" not in line
    assert "access_token=[redacted]&x=1" in line
