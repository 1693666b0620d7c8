"""Mailbox password hashes in Dovecot's `{ARGON2ID}` scheme, so Dovecot's passdb can verify them directly.

The stored form is `{ARGON2ID}` followed by the standard PHC string, e.g.
`{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, which is exactly what `doveadm pw -s ARGON2ID` emits.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

SCHEME = "{ARGON2ID}"

# Dovecot verifies the hash on every IMAP/POP3/SMTP login, so its cost is paid per connection, not once per session.
# Dovecot's own default (m=64 MiB, t=3) took ~120 ms per verification here, and a busy server (or a password
# guessing run) multiplies that. m=19 MiB, t=2, p=1 is OWASP's baseline for Argon2id; measured with
# `doveadm pw -t` on a 2-core host it costs ~11 ms beyond the tool's own ~30 ms start-up (42 ms end to end,
# median of 15 runs). p=1 because Dovecot (libsodium) computes the lanes one after another anyway.
TIME_COST = 2
MEMORY_COST_KIB = 19456
PARALLELISM = 1

_hasher = PasswordHasher(
    time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM, hash_len=32, salt_len=16,
    type=Type.ID,
)


def _phc(stored: object) -> str | None:
    """The PHC part of an `{ARGON2ID}` hash, or None for any other scheme or malformed value."""
    if not isinstance(stored, str) or not stored[: len(SCHEME)].upper() == SCHEME:
        return None
    phc = stored[len(SCHEME):]
    return phc if phc.startswith("$argon2id$") else None


def hash_password(password: str) -> str:
    """A fresh `{ARGON2ID}` hash of `password` with a random salt."""
    if not isinstance(password, str):
        raise TypeError("password must be a string")
    return SCHEME + _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches `stored`. False (never an exception) for a wrong password, another scheme or a
    malformed hash; the final comparison inside libargon2 is constant-time."""
    phc = _phc(stored)
    if phc is None or not isinstance(password, str):
        return False
    try:
        return _hasher.verify(phc, password)
    except (VerificationError, InvalidHashError, ValueError, TypeError):
        # ValueError also covers passwords with lone surrogates, which cannot be encoded as UTF-8.
        return False


def needs_rehash(stored: str) -> bool:
    """Whether `stored` should be replaced by `hash_password` at the next successful login: another scheme, a
    malformed value, or Argon2id parameters other than the current ones."""
    phc = _phc(stored)
    if phc is None:
        return True
    try:
        return _hasher.check_needs_rehash(phc)
    except (InvalidHashError, ValueError):
        return True
