"""AES-256-GCM encryption of stored secrets, with a version prefix on every stored value.

A stored value reads `v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id names the key that
sealed it, so a value sealed under another secret fails with a clear error instead of garbage.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

VERSION = "v1"
_SALT = b"mailyard/secretbox/v1"


class SecretBoxError(Exception):
    """A stored value cannot be opened with the configured secret."""


@functools.lru_cache(maxsize=4)
def derive_key(secret: str) -> bytes:
    # scrypt, because operators choose the secret and a weak passphrase should still cost an attacker.
    # Cached: one process derives the same key again on every runtime it opens (CLI, tests, rotation).
    return Scrypt(salt=_SALT, length=32, n=2**14, r=8, p=1).derive(secret.encode())


class SecretBox:
    """Seals and opens stored secrets with one key derived from MAILYARD_SECRET."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the secret must not be empty")
        key = derive_key(secret)
        self._aead = AESGCM(key)
        self._key = key
        self.key_id = hashlib.sha256(b"key-id:" + key).hexdigest()[:8]

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), VERSION.encode())
        return f"{VERSION}:{self.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str) -> str:
        try:
            version, key_id, payload = stored.split(":", 2)
        except ValueError:
            raise SecretBoxError("stored value has no version prefix") from None
        if version != VERSION:
            raise SecretBoxError(f"stored value has unknown version {version!r}")
        if key_id != self.key_id:
            raise SecretBoxError("stored value was sealed with a different secret")
        raw = base64.urlsafe_b64decode(payload)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], VERSION.encode()).decode()
        except InvalidTag:
            raise SecretBoxError("stored value failed authentication") from None

    def subkey(self, purpose: str) -> bytes:
        """A key for another use of the same secret (signing links, CSRF tokens), independent of the
        encryption key: knowing one reveals nothing about the other."""
        return hmac.new(self._key, b"mailyard/subkey/" + purpose.encode(), hashlib.sha256).digest()

    def encrypt_optional(self, plaintext: str | None) -> str | None:
        return None if plaintext is None else self.encrypt(plaintext)

    def decrypt_optional(self, stored: str | None) -> str | None:
        return None if stored is None else self.decrypt(stored)
