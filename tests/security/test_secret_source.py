"""The secret comes from MAILYARD_SECRET, else a 0600 file generated once in the data directory."""

import stat
from pathlib import Path

from pydantic import SecretStr

from mailyard.config import Settings
from mailyard.security.secret_source import load_secret


def test_missing_secret_is_generated_into_a_private_file_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = load_secret(settings)
    assert first.generated and first.origin == "file"
    assert stat.S_IMODE(settings.secret_file.stat().st_mode) == 0o600
    again = load_secret(settings)
    assert not again.generated
    assert again.value == first.value


def test_environment_secret_wins_and_writes_no_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret=SecretStr("from-the-environment"))
    source = load_secret(settings)
    assert source.origin == "env" and source.value == "from-the-environment"
    assert not settings.secret_file.exists()
