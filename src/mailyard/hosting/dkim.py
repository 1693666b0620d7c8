"""DKIM signing keys for hosted domains: generating a key pair and the public value published in DNS."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_SELECTOR = "mailyard"
KEY_SIZE = 2048  # RFC 8301 requires ≥ 1024 and recommends 2048; 4096 overflows many DNS providers' TXT editors.


@dataclass(frozen=True)
class DkimKey:
    """One domain's DKIM key pair; `private_pem` is plaintext, so the caller encrypts it before storing it."""

    selector: str
    # Kept out of repr so a logged or printed key never reveals the private half.
    private_pem: str = field(repr=False)
    public_b64: str


def generate_dkim_key(selector: str = DEFAULT_SELECTOR) -> DkimKey:
    """A fresh 2048-bit RSA key: private half as unencrypted PKCS#8 PEM, public half as base64 DER SPKI."""
    # 65537 is the only exponent verifiers are universally known to accept.
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return DkimKey(selector=selector, private_pem=private_pem, public_b64=_public_b64(key.public_key()))


def dkim_txt_value(public_b64: str) -> str:
    """The TXT value published at `<selector>._domainkey.<domain>`."""
    return f"v=DKIM1; k=rsa; p={public_b64}"


def public_from_private(private_pem: str) -> str:
    """The base64 public value belonging to a stored private key; raises ValueError if it is not RSA PEM."""
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        # Only k=rsa is published, so any other key type could never verify.
        raise ValueError(f"DKIM key must be RSA, not {type(key).__name__}")
    return _public_b64(key.public_key())


def _public_b64(public_key: rsa.RSAPublicKey) -> str:
    # SubjectPublicKeyInfo rather than bare PKCS#1: it is what `openssl rsa -pubout` (RFC 6376 Appendix C)
    # and every common signer publish, and what verifiers parse.
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")
