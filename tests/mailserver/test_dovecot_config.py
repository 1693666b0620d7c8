"""The rendered Dovecot configuration's brute-force brakes: on by default, off only when asked for."""

from __future__ import annotations

from pathlib import Path

from mailyard.mailserver.dovecot_config import DovecotLayout, DovecotOptions, render_dovecot_conf


def _render(tmp_path: Path, **options: object) -> str:
    return render_dovecot_conf(DovecotLayout(tmp_path),
                               DovecotOptions(hostname="mail.example.test", mail_root=tmp_path / "mail",
                                              mail_user="root", **options),  # type: ignore[arg-type]
                               "sqlite")


def test_failed_logins_are_delayed_and_penalised_by_default(tmp_path: Path) -> None:
    conf = _render(tmp_path)
    assert "auth_failure_delay = 2 secs" in conf
    assert "anvil-auth-penalty" not in conf  # Dovecot's own per-IP penalty stays on


def test_a_zero_delay_also_turns_off_the_per_ip_penalty(tmp_path: Path) -> None:
    conf = _render(tmp_path, auth_failure_delay=0)
    assert "auth_failure_delay = 0 secs" in conf
    assert "unix_listener anvil-auth-penalty {\n    mode = 0\n  }" in conf
