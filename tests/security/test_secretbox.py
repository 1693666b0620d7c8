"""The secret box seals with AES-256-GCM under a version prefix and refuses what it cannot open."""

import pytest

from mailyard.security.secretbox import SecretBox, SecretBoxError


def test_round_trip_carries_version_prefix_and_hides_plaintext() -> None:
    box = SecretBox("one secret")
    sealed = box.encrypt("hunter2-password")
    assert sealed.startswith(f"v1:{box.key_id}:")
    assert "hunter2" not in sealed
    assert box.decrypt(sealed) == "hunter2-password"


def test_same_plaintext_seals_differently_each_time() -> None:
    box = SecretBox("one secret")
    assert box.encrypt("x") != box.encrypt("x")


def test_value_sealed_under_another_secret_is_refused() -> None:
    sealed = SecretBox("first secret").encrypt("password")
    with pytest.raises(SecretBoxError, match="different secret"):
        SecretBox("second secret").decrypt(sealed)


def test_tampered_value_is_refused() -> None:
    box = SecretBox("one secret")
    sealed = box.encrypt("password")
    prefix, payload = sealed.rsplit(":", 1)
    flipped = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    with pytest.raises(SecretBoxError):
        box.decrypt(f"{prefix}:{flipped}")


def test_unversioned_value_is_refused() -> None:
    with pytest.raises(SecretBoxError, match="version prefix"):
        SecretBox("s").decrypt("plaintext-password")


def test_empty_secret_is_rejected() -> None:
    with pytest.raises(ValueError):
        SecretBox("")
