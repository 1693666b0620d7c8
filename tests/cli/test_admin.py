"""`mailyard admin set-password | totp enable | totp disable`, as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.cli.test_tokens_and_store import _env, mailyard


@pytest.fixture
def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    return _env(tmp_path, store_url)


def _set_password(env: dict[str, str], password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mailyard", "admin", "set-password", "--stdin"], env=env,
                          input=password + "\n", capture_output=True, text=True, timeout=60)


def test_set_password_from_stdin_never_echoes_it(env: dict[str, str]) -> None:
    result = _set_password(env, "a long admin password")
    assert result.returncode == 0, result.stderr
    assert "is set" in result.stdout
    assert "a long admin password" not in result.stdout + result.stderr


def test_a_short_password_is_refused_with_the_rule(env: dict[str, str]) -> None:
    result = _set_password(env, "short")
    assert result.returncode == 2
    assert "at least 10 characters" in result.stderr


def test_totp_needs_a_password_first_then_prints_an_otpauth_uri(env: dict[str, str]) -> None:
    refused = mailyard(env, "admin", "totp", "enable", ok=False)
    assert refused.returncode == 2 and "set-password" in refused.stderr
    assert _set_password(env, "a long admin password").returncode == 0
    uri = mailyard(env, "admin", "totp", "enable").stdout.strip().splitlines()[-1]
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert len(parse_qs(parts.query)["secret"][0]) == 32
    assert "no longer" in mailyard(env, "admin", "totp", "disable").stdout
