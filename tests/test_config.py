"""Settings come from MAILYARD_* variables; printing them masks every secret."""

from pathlib import Path

import pytest

from mailyard.config import Settings


def test_environment_changes_listen_address_and_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAILYARD_HOST", "127.0.0.2")
    monkeypatch.setenv("MAILYARD_PORT", "3456")
    monkeypatch.setenv("MAILYARD_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.2", 3456, tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve()}/mailyard.db"


def test_masked_settings_hide_secret_and_database_password() -> None:
    settings = Settings(secret="very-secret-value", database_url="postgresql://mail:dbpass@127.0.0.1/mailyard")
    printed = str(settings.masked())
    assert "very-secret-value" not in printed
    assert "dbpass" not in printed


def test_bad_port_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILYARD_PORT", "70000")
    with pytest.raises(ValueError, match="port"):
        Settings()
