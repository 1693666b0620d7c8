"""The `mailyard` command as an operator runs it: token, migrate, config, secret rotate."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _env(tmp_path: Path, store_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILYARD_")}
    env.update(MAILYARD_DATA_DIR=str(tmp_path / "data"), MAILYARD_DATABASE_URL=store_url)
    env.update(extra)
    return env


def mailyard(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "mailyard", *args], env=env, capture_output=True, text=True,
                            timeout=60)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    return _env(tmp_path, store_url)


def test_token_create_prints_the_token_alone_on_the_last_line(env: dict[str, str]) -> None:
    out = mailyard(env, "token", "create", "--scope", "read", "--tenant", "user_1", "--role", "EmailAccount-Read",
                   "--description", "help desk").stdout
    token = out.strip().splitlines()[-1]
    assert len(token) == 64 and all(c in "0123456789abcdef" for c in token)
    listed = mailyard(env, "token", "list").stdout
    assert "tenant=user_1" in listed and "EmailAccount-Read" in listed and "'help desk'" in listed
    assert token not in listed


def test_token_revoke_removes_it_from_the_list(env: dict[str, str]) -> None:
    mailyard(env, "token", "create")
    token_id = mailyard(env, "token", "list").stdout.split()[0]
    assert "revoked" in mailyard(env, "token", "revoke", token_id).stdout
    assert token_id not in mailyard(env, "token", "list").stdout
    assert "revoked=" in mailyard(env, "token", "list", "--all").stdout
    again = mailyard(env, "token", "revoke", token_id, ok=False)
    assert again.returncode == 1 and "no live token" in again.stderr


def test_unknown_scope_is_refused(env: dict[str, str]) -> None:
    result = mailyard(env, "token", "create", "--scope", "root", ok=False)
    assert result.returncode == 2 and "root" in result.stderr


def test_migrate_reports_the_revision(env: dict[str, str]) -> None:
    assert "store is at revision" in mailyard(env, "migrate").stdout


def test_config_masks_the_secret(env: dict[str, str]) -> None:
    out = mailyard({**env, "MAILYARD_SECRET": "do-not-print-me-please"}, "config").stdout
    assert "do-not-print-me-please" not in out
    assert "secret = ********" in out


def test_generated_secret_file_is_private_and_rotation_replaces_it(env: dict[str, str], tmp_path: Path) -> None:
    mailyard(env, "token", "create")
    secret_file = tmp_path / "data" / "secret"
    old = secret_file.read_text().strip()
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    out = mailyard(env, "secret", "rotate", "--new-secret", "a-brand-new-secret-value").stdout
    assert "re-encrypted" in out
    assert secret_file.read_text().strip() == "a-brand-new-secret-value"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    mailyard(env, "token", "list")
    stale = mailyard({**env, "MAILYARD_SECRET": old}, "token", "list", ok=False)
    assert stale.returncode == 2 and "different secret" in stale.stderr


def test_short_new_secret_is_refused(env: dict[str, str]) -> None:
    result = mailyard(env, "secret", "rotate", "--new-secret", "short", ok=False)
    assert result.returncode == 2 and "16 characters" in result.stderr


def test_wrong_secret_at_start_is_a_clear_error_not_a_traceback(env: dict[str, str]) -> None:
    mailyard({**env, "MAILYARD_SECRET": "the-first-secret-value"}, "token", "create")
    result = mailyard({**env, "MAILYARD_SECRET": "another-secret-value"}, "token", "list", ok=False)
    assert result.returncode == 2
    assert "different secret" in result.stderr and "Traceback" not in result.stderr
