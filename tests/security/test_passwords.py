"""Mailbox password hashes are Dovecot `{ARGON2ID}` hashes that Dovecot itself accepts."""

from __future__ import annotations

import os
import subprocess

import pytest

from mailyard.security.passwords import (
    MEMORY_COST_KIB,
    PARALLELISM,
    TIME_COST,
    hash_password,
    needs_rehash,
    verify_password,
)

DOVEADM = "/usr/bin/doveadm"


def test_hash_has_dovecot_argon2id_form_with_current_parameters() -> None:
    stored = hash_password("Correct-horse9")
    assert stored.startswith("{ARGON2ID}$argon2id$v=19$")
    assert f"$m={MEMORY_COST_KIB},t={TIME_COST},p={PARALLELISM}$" in stored
    assert "Correct-horse9" not in stored


def test_same_password_hashes_differently_each_time() -> None:
    assert hash_password("Correct-horse9") != hash_password("Correct-horse9")


def test_verify_accepts_the_password_and_rejects_others() -> None:
    stored = hash_password("Correct-horse9")
    assert verify_password(stored, "Correct-horse9") is True
    assert verify_password(stored, "correct-horse9") is False
    assert verify_password(stored, "") is False


def test_non_ascii_password_round_trips() -> None:
    stored = hash_password("pässwört-9 ✓")
    assert verify_password(stored, "pässwört-9 ✓")


@pytest.mark.parametrize("stored", [
    "", "{ARGON2ID}", "{ARGON2ID}$argon2id$", "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$bad",
    "{ARGON2ID}$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
    "{PLAIN}Correct-horse9", "{SHA512-CRYPT}$6$salt$hash", "Correct-horse9", "$argon2id$v=19$m=19456,t=2,p=1$x$y",
])
def test_malformed_or_other_scheme_verifies_false(stored: str) -> None:
    assert verify_password(stored, "Correct-horse9") is False
    assert needs_rehash(stored) is True


def test_bad_argument_types_verify_false_instead_of_raising() -> None:
    stored = hash_password("Correct-horse9")
    assert verify_password(None, "Correct-horse9") is False  # type: ignore[arg-type]
    assert verify_password(stored, None) is False  # type: ignore[arg-type]
    assert verify_password(stored, "\ud800") is False  # a lone surrogate cannot be encoded


def test_scheme_prefix_is_case_insensitive_like_dovecot() -> None:
    stored = hash_password("Correct-horse9").replace("{ARGON2ID}", "{argon2id}")
    assert verify_password(stored, "Correct-horse9")


def test_rehash_is_needed_only_for_other_parameters() -> None:
    assert needs_rehash(hash_password("Correct-horse9")) is False
    # What `doveadm pw -s ARGON2ID` emits with Dovecot's defaults: valid, but costlier than ours.
    dovecot_default = ("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$AZCMRBdklf6KzEew15SEIA"
                       "$3KyQoD5dQnN+GAKNNjDUuNcwrJfM4KFhHzhGjIOozfg")
    assert needs_rehash(dovecot_default) is True
    assert verify_password(dovecot_default, "test") is True


def doveadm_verifies(stored: str, password: str) -> bool:
    if not os.path.exists(DOVEADM):
        pytest.fail(f"{DOVEADM} is missing: install dovecot-core (apt-get install dovecot-core) to run this test")
    result = subprocess.run([DOVEADM, "pw", "-t", stored, "-p", password], capture_output=True, text=True,
                            timeout=30, check=False)
    if result.returncode == 0:
        assert "(verified)" in result.stdout
        return True
    assert "mismatch" in (result.stdout + result.stderr).lower(), result
    return False


def test_dovecot_accepts_our_hash_and_rejects_a_wrong_password() -> None:
    stored = hash_password("Correct-horse9")
    assert doveadm_verifies(stored, "Correct-horse9")
    assert not doveadm_verifies(stored, "Correct-horse8")


def test_dovecot_accepts_our_hash_of_a_non_ascii_password() -> None:
    assert doveadm_verifies(hash_password("pässwört-9"), "pässwört-9")
